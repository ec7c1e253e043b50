"""Shared pieces of the offline-router tests: schemas, request helpers, SSE reading with raw httpx."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, connect_sse

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TIME = {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}
PRODUCTS = {
    "type": "object",
    "properties": {"query": {"type": "string"}, "max_price": {"type": "number"}},
    "required": ["query", "max_price"],
}
TOOLS = {"get_weather": WEATHER, "get_time": TIME, "search_products": PRODUCTS}

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
MESSAGES = "/v1/messages"
BEARER = {"Authorization": "Bearer test-key"}
ANTHROPIC = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
KEY = {"key": "test-key"}


def gemini_path(model: str = "gemini-2.5-flash", stream: bool = False) -> str:
    method = "streamGenerateContent" if stream else "generateContent"
    return f"/v1beta/models/{model}:{method}"


def chat_tools(*names: str) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "parameters": TOOLS[n]}} for n in names]


def responses_tools(*names: str) -> list[dict[str, Any]]:
    return [{"type": "function", "name": n, "parameters": TOOLS[n], "strict": False} for n in names]


def messages_tools(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "input_schema": TOOLS[n]} for n in names]


def gemini_tools(*names: str) -> list[dict[str, Any]]:
    return [{"functionDeclarations": [{"name": n, "description": n, "parametersJsonSchema": TOOLS[n]} for n in names]}]


def encode(body: Any) -> bytes:
    """The exact bytes sent, so tests can compute the router's usage numbers (input = len // 4)."""
    return json.dumps(body).encode()


def post(
    client: httpx.Client,
    path: str,
    body: Any,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    content = body if isinstance(body, bytes) else encode(body)
    merged = {"content-type": "application/json", **(headers or {})}
    return client.post(path, content=content, headers=merged, params=params)


def events(
    client: httpx.Client,
    path: str,
    body: Any,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> list[ServerSentEvent]:
    """A whole SSE stream, read with httpx-sse; the status must be 200."""
    merged = {"content-type": "application/json", **(headers or {})}
    with connect_sse(client, "POST", path, content=encode(body), headers=merged, params=params) as source:
        assert source.response.status_code == 200, source.response.read()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return list(source.iter_sse())


def datas(stream: list[ServerSentEvent]) -> list[Any]:
    return [json.loads(e.data) for e in stream if e.data != "[DONE]"]

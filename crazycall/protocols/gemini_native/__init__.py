"""The Gemini native v1beta adapter (PROTOCOLS.md §4): ``GeminiAdapter``, name ``gemini``.

A thin facade over the package: ``request.py`` builds ``generateContent`` / ``streamGenerateContent?alt=sse``
requests, ``schema.py`` converts JSON Schema to the proto's OpenAPI subset, ``response.py`` reads bodies and
SSE chunks, ``errors.py`` reads error bodies. Sans-IO like every adapter: no httpx, no rich, no state between
calls. The API key travels as the ``?key=`` query parameter the router documents (§0); nothing here logs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import ProviderError
from crazycall.events import StreamEvent
from crazycall.protocols.base import SSE, Auth, HttpRequest, RequestOptions
from crazycall.protocols.gemini_native import errors, request, response

__all__ = ["GeminiAdapter"]


class GeminiAdapter:
    name: ClassVar[str] = request.PROTOCOL

    def build_request(self, conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
        return request.build_request(conv, tools, opts)

    def endpoint(self, model: str, stream: bool) -> str:
        return request.path(model, stream)

    def auth(self, api_key: str) -> Auth:
        return Auth(query={"key": api_key})

    def parse_response(self, body: Any) -> ModelResponse:
        return response.parse_response(body)

    def parse_stream(self, events: Iterable[SSE]) -> Iterator[StreamEvent]:
        return response.parse_stream(events)

    def parse_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return errors.parse_error(status, body, headers)

"""Faults of the offline router: configured per protocol (or "*") and per request (x-offline-fault)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from crazycall.offline.server import OfflineRouter

from .support import (
    ANTHROPIC,
    BEARER,
    CHAT,
    KEY,
    MESSAGES,
    RESPONSES,
    chat_tools,
    encode,
    gemini_path,
    gemini_tools,
    messages_tools,
    post,
    responses_tools,
)

PROTOCOLS = ["chat", "responses", "messages", "gemini"]
PROMPT = "What is the weather in Beijing?"
#: the event that ends a complete stream, absent from a cut one
TERMINAL = {"chat": "[DONE]", "responses": "response.completed", "messages": "message_stop", "gemini": "finishReason"}


def request(protocol: str, stream: bool) -> tuple[str, dict[str, str], dict[str, str], dict[str, Any]]:
    """Path, headers, query and body of a weather question with one tool, in each protocol."""
    flag = {"stream": True} if stream else {}
    user = [{"role": "user", "content": PROMPT}]
    if protocol == "chat":
        return CHAT, BEARER, {}, {"model": "gpt-4o", "messages": user, "tools": chat_tools("get_weather"), **flag}
    if protocol == "responses":
        return (
            RESPONSES,
            BEARER,
            {},
            {"model": "gpt-4.1", "input": user, "tools": responses_tools("get_weather"), **flag},
        )
    if protocol == "messages":
        body = {
            "model": "claude-x",
            "max_tokens": 100,
            "messages": user,
            "tools": messages_tools("get_weather"),
            **flag,
        }
        return MESSAGES, ANTHROPIC, {}, body
    query = {**KEY, "alt": "sse"} if stream else KEY
    body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}], "tools": gemini_tools("get_weather")}
    return gemini_path(stream=stream), {}, query, body


def send(client: httpx.Client, protocol: str, fault: str | None = None, stream: bool = False) -> httpx.Response:
    path, headers, query, body = request(protocol, stream)
    extra = {"x-offline-fault": fault} if fault else {}
    return post(client, path, body, {**headers, **extra}, query)


def raw_stream(client: httpx.Client, protocol: str, fault: str) -> tuple[str, Exception | None]:
    """The stream's text as received, and the transport error that ended it early, if any."""
    path, headers, query, body = request(protocol, True)
    received, failure = b"", None
    headers = {**headers, "x-offline-fault": fault}
    with client.stream("POST", path, content=encode(body), headers=headers, params=query) as response:
        assert response.status_code == 200
        try:
            for chunk in response.iter_bytes():
                received += chunk
        except httpx.RemoteProtocolError as err:
            failure = err
    return received.decode(), failure


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("fault", "status"), [("http500", 500), ("http401", 401), ("http429", 429)])
def test_http_faults_answer_in_the_protocols_error_shape(
    client: httpx.Client, protocol: str, fault: str, status: int
) -> None:
    response = send(client, protocol, fault)
    assert response.status_code == status
    body = response.json()
    if protocol == "messages":
        assert body["type"] == "error"
        assert body["error"]["type"] == {500: "api_error", 401: "authentication_error", 429: "rate_limit_error"}[status]
    elif protocol == "gemini":
        assert body["error"]["code"] == status
        assert body["error"]["status"] == {500: "INTERNAL", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED"}[status]
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    if status == 429:
        assert response.headers["retry-after"] == "0"
    if protocol == "gemini" and status == 429:
        assert body["error"]["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0s"}]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_text_fault_never_calls_tools(protocol: str, tls: Any) -> None:
    with OfflineRouter(faults={"*": "text"}) as router, httpx.Client(base_url=router.url, verify=tls) as client:
        reply = send(client, protocol).json()
    text = json.dumps(reply)
    assert 'Offline router: you said \\"What is the weather in Beijing?\\"' in text
    for marker in ('"tool_calls"', '"type": "function_call"', '"type": "tool_use"', '"functionCall"'):
        assert marker not in text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cut_stream_ends_mid_arguments(client: httpx.Client, protocol: str) -> None:
    received, failure = raw_stream(client, protocol, "cut")
    assert isinstance(failure, httpx.RemoteProtocolError)
    assert TERMINAL[protocol] not in received
    if protocol != "gemini":  # Gemini sends calls whole: its cut drops the call chunk entirely
        assert '{\\"ci' in received
        assert '\\"Beijing\\"}' not in received and "Beijing" not in received.split('{\\"ci')[1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cut_body_is_truncated(client: httpx.Client, protocol: str) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        send(client, protocol, "cut")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_garbage_stream_has_one_non_json_data_line(client: httpx.Client, protocol: str) -> None:
    path, headers, query, body = request(protocol, True)
    headers = {**headers, "x-offline-fault": "garbage", "content-type": "application/json"}
    with connect_sse(client, "POST", path, content=encode(body), headers=headers, params=query) as source:
        stream = list(source.iter_sse())
    bad = []
    for event in stream:
        try:
            json.loads(event.data)
        except ValueError:
            bad.append(event)
    assert [e.data for e in bad] == ["this is not JSON {"]
    assert stream[-1] is bad[0]
    if protocol in ("responses", "messages"):
        assert bad[0].event != "message"  # named like a real event, so a client cannot skip it as unknown


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_garbage_body_is_not_json(client: httpx.Client, protocol: str) -> None:
    response = send(client, protocol, "garbage")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_header_fault_applies_to_one_request(client: httpx.Client) -> None:
    assert send(client, "chat", "http500").status_code == 500
    assert send(client, "chat").status_code == 200


def test_configured_fault_applies_to_its_protocol_only(tls: Any) -> None:
    with (
        OfflineRouter(faults={"messages": "http429"}) as router,
        httpx.Client(base_url=router.url, verify=tls) as client,
    ):
        assert send(client, "messages").status_code == 429
        assert send(client, "chat").status_code == 200
        assert send(client, "messages", "text").status_code == 200  # the header wins


def test_unknown_fault_header_is_a_400(client: httpx.Client) -> None:
    response = send(client, "chat", "explode")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("unknown x-offline-fault mode 'explode'")


def test_unknown_faults_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown fault mode 'boom'"):
        OfflineRouter(faults={"chat": "boom"})
    with pytest.raises(ValueError, match="unknown protocol 'grpc'"):
        OfflineRouter(faults={"grpc": "cut"})

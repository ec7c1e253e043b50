"""The offline router's Anthropic Messages endpoint (PROTOCOLS.md §3), over HTTP with raw httpx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .support import ANTHROPIC, MESSAGES, datas, encode, events, messages_tools, post


def ask(prompt: str, *names: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }
    if names:
        body["tools"] = messages_tools(*names)
    return body


def call(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = post(client, MESSAGES, body, ANTHROPIC)
    assert response.status_code == 200, response.text
    assert response.headers["request-id"].startswith("req_")
    result: dict[str, Any] = response.json()
    return result


def error(
    client: httpx.Client, body: dict[str, Any], headers: dict[str, str] = ANTHROPIC, status: int = 400
) -> dict[str, Any]:
    response = post(client, MESSAGES, body, headers)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    assert result["type"] == "error" and result["request_id"] == response.headers["request-id"]
    return dict(result["error"])


def answer(body: dict[str, Any], reply: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """§3.3: the assistant turn echoed whole, then one user message starting with the tool_result blocks."""
    uses = [b for b in reply["content"] if b["type"] == "tool_use"]
    blocks = [{"type": "tool_result", "tool_use_id": u["id"], "content": r} for u, r in zip(uses, results, strict=True)]
    turn = [{"role": "assistant", "content": reply["content"]}, {"role": "user", "content": blocks}]
    return {**body, "messages": [*body["messages"], *turn]}


def test_tool_use_message_shape(client: httpx.Client) -> None:
    body = ask("What is the weather in Beijing?", "get_weather")
    reply = call(client, body)
    assert reply == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Beijing"}}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": len(encode(body)) // 4,
            "output_tokens": 10,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def test_follow_up_answers_in_text_quoting_results(client: httpx.Client) -> None:
    body = ask("weather and time in Lima", "get_weather", "get_time")
    first = call(client, body)
    assert [b["type"] for b in first["content"]] == ["text", "tool_use", "tool_use"]
    follow = answer(body, first, ["18 C", "noon"])
    follow["messages"][-1]["content"][1]["is_error"] = True
    follow["messages"][-1]["content"].append({"type": "text", "text": "Keep it short."})
    reply = call(client, follow)
    assert reply["content"] == [{"type": "text", "text": "get_weather returned 18 C. get_time failed with noon."}]
    assert reply["stop_reason"] == "end_turn"


def test_stream_event_order(client: httpx.Client) -> None:
    stream = events(client, MESSAGES, ask("What is the weather in Zürich?", "get_weather", stream=True), ANTHROPIC)
    payloads = datas(stream)
    assert [e.event for e in stream] == [p["type"] for p in payloads]
    names = [p["type"] for p in payloads]
    deltas = names.count("content_block_delta")
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = payloads[0]["message"]
    assert (start["id"], start["stop_reason"], start["content"], start["usage"]["output_tokens"]) == (
        "msg_1",
        None,
        [],
        1,
    )
    assert payloads[1]["content_block"] == {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    partials = [p["delta"]["partial_json"] for p in payloads if p["type"] == "content_block_delta"]
    assert partials[0] == "" and len(partials) >= 3
    assert all(p["delta"]["type"] == "input_json_delta" for p in payloads if p["type"] == "content_block_delta")
    assert json.loads("".join(partials)) == {"city": "Zürich"}
    assert any(p.endswith("\\u0") for p in partials)
    final = payloads[-2]
    assert final["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert final["usage"]["output_tokens"] == 10 and final["usage"]["input_tokens"] > 0


def test_stream_text_block(client: httpx.Client) -> None:
    payloads = datas(events(client, MESSAGES, ask("hello", stream=True), ANTHROPIC))
    assert payloads[1]["content_block"] == {"type": "text", "text": ""}
    texts = [p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta"]
    assert len(texts) >= 2 and "".join(texts) == 'Offline router: you said "hello"'
    assert payloads[-2]["delta"]["stop_reason"] == "end_turn"


def test_disable_parallel_and_any(client: httpx.Client) -> None:
    one = {"type": "auto", "disable_parallel_tool_use": True}
    reply = call(client, ask("weather and time", "get_weather", "get_time", tool_choice=one))
    assert [b["name"] for b in reply["content"] if b["type"] == "tool_use"] == ["get_weather"]
    forced = call(client, ask("hello", "get_time", "get_weather", tool_choice={"type": "any"}))
    assert [b["name"] for b in forced["content"]] == ["get_time"]
    assert forced["stop_reason"] == "tool_use"
    named = call(client, ask("hello", "get_time", "get_weather", tool_choice={"type": "tool", "name": "get_weather"}))
    assert named["content"][0]["input"] == {"city": "Paris"}


def test_missing_tool_result_is_rejected(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time")
    follow = answer(body, call(client, body), ["sunny", "noon"])
    del follow["messages"][-1]["content"][1]
    assert error(client, follow)["message"] == (
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_2. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    )


def test_tool_result_after_text_is_rejected(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    follow["messages"][-1]["content"].insert(0, {"type": "text", "text": "here you go"})
    assert error(client, follow)["message"] == (
        "messages.2: Did not find 1 `tool_result` block(s) at the beginning of this message. "
        "Messages following `tool_use` blocks must begin with `tool_result` blocks."
    )


def test_unexpected_tool_use_id_is_rejected(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    follow["messages"][-1]["content"].append({"type": "tool_result", "tool_use_id": "toolu_77", "content": "x"})
    err = error(client, follow)
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith(
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_77."
    )


def test_tool_use_input_must_be_an_object(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    follow["messages"][1]["content"][0]["input"] = '{"city": "Oslo"}'
    assert error(client, follow)["message"] == "messages.1.content.0.tool_use.input: Input should be a valid dictionary"


def test_result_in_a_later_message_is_not_immediately_after(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    results = follow["messages"].pop()
    follow["messages"] += [{"role": "user", "content": "wait"}, {"role": "assistant", "content": "ok"}, results]
    assert "ids were found without `tool_result` blocks immediately after: toolu_1" in error(client, follow)["message"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"max_output_tokens": 3}, "max_output_tokens: Extra inputs are not permitted"),
        (
            {"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]},
            "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'",
        ),
        ({"tools": [{"name": "x"}]}, "tools.0.custom.input_schema: Field required"),
        ({"tool_choice": "auto"}, "tool_choice: Input should be a valid dictionary or object to extract fields from"),
        (
            {
                "tool_choice": {"type": "any"},
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "max_tokens": 2048,
            },
            "Thinking may not be enabled when tool_choice forces tool use.",
        ),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role: Input should be 'user' or 'assistant'"),
    ],
)
def test_request_checks(client: httpx.Client, change: dict[str, Any], message: str) -> None:
    body = {**ask("hi", "get_weather"), **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert error(client, body)["message"] == message


@pytest.mark.parametrize(
    ("headers", "status", "kind", "message"),
    [
        ({"anthropic-version": "2023-06-01"}, 401, "authentication_error", "x-api-key header is required"),
        ({"x-api-key": "k"}, 400, "invalid_request_error", "anthropic-version: header is required"),
        (
            {"Authorization": "Basic k", "anthropic-version": "2023-06-01"},
            401,
            "authentication_error",
            "x-api-key header is required",
        ),
    ],
)
def test_auth(client: httpx.Client, headers: dict[str, str], status: int, kind: str, message: str) -> None:
    err = error(client, ask("hi"), headers, status)
    assert (err["type"], err["message"]) == (kind, message)

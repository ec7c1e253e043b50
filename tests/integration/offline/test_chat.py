"""The offline router's Chat Completions endpoint (PROTOCOLS.md §1), over HTTP with raw httpx."""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pytest

from crazycall.offline.server import OfflineRouter

from .support import BEARER, CHAT, chat_tools, datas, encode, events, post

WEATHER_Q = "What is the weather in Beijing?"


def ask(prompt: str, *names: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}], **extra}
    if names:
        body["tools"] = chat_tools(*names)
    return body


def call(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = post(client, CHAT, body, BEARER)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def error(client: httpx.Client, body: Any, status: int = 400) -> dict[str, Any]:
    response = post(client, CHAT, body, BEARER)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()["error"]
    return result


def answer(body: dict[str, Any], reply: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """The follow-up: the assistant message echoed, then one tool message per call."""
    message = reply["choices"][0]["message"]
    tools = [
        {"role": "tool", "tool_call_id": c["id"], "content": r}
        for c, r in zip(message["tool_calls"], results, strict=True)
    ]
    return {**body, "messages": [*body["messages"], message, *tools]}


def test_single_call_body_is_exactly_the_documented_shape(client: httpx.Client) -> None:
    body = ask(WEATHER_Q, "get_weather", "get_time")
    reply = call(client, body)
    prompt_tokens = len(encode(body)) // 4
    assert reply == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "annotations": [],
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Beijing"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 10,
            "total_tokens": prompt_tokens + 10,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def test_results_are_quoted_in_the_final_text(client: httpx.Client) -> None:
    body = ask(WEATHER_Q, "get_weather")
    follow = answer(body, call(client, body), ['{"city": "Beijing", "temp_c": 21}'])
    reply = call(client, follow)
    choice = reply["choices"][0]
    assert choice["message"]["content"] == 'get_weather returned {"city": "Beijing", "temp_c": 21}.'
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"


def test_no_tools_echoes_the_prompt(client: httpx.Client) -> None:
    reply = call(client, ask("hello there"))
    assert reply["choices"][0]["message"]["content"] == 'Offline router: you said "hello there"'
    assert reply["choices"][0]["finish_reason"] == "stop"


def test_parallel_calls_come_in_one_turn_with_a_preface(client: httpx.Client) -> None:
    reply = call(client, ask("Weather and time in Tokyo, Asia/Tokyo?", "get_weather", "get_time"))
    message = reply["choices"][0]["message"]
    assert message["content"] == "Calling get_weather and get_time."
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]] == [
        ("call_1", "get_weather", '{"city":"Tokyo"}'),
        ("call_2", "get_time", '{"tz":"Asia/Tokyo"}'),
    ]


def test_parallel_disabled_calls_one_tool_per_turn(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time", parallel_tool_calls=False)
    first = call(client, body)
    assert [c["function"]["name"] for c in first["choices"][0]["message"]["tool_calls"]] == ["get_weather"]
    body = answer(body, first, ["sunny"])
    second = call(client, body)
    assert [c["function"]["name"] for c in second["choices"][0]["message"]["tool_calls"]] == ["get_time"]
    third = call(client, answer(body, second, ["noon"]))
    assert third["choices"][0]["message"]["content"] == "get_weather returned sunny. get_time returned noon."


def test_then_chains_calls_in_prompt_order(client: httpx.Client) -> None:
    body = ask("Find the time, then the weather in Oslo", "get_weather", "get_time")
    first = call(client, body)
    assert [c["function"]["name"] for c in first["choices"][0]["message"]["tool_calls"]] == ["get_time"]
    second = call(client, answer(body, first, ["09:00"]))
    names = [c["function"]["name"] for c in second["choices"][0]["message"]["tool_calls"]]
    assert names == ["get_weather"]
    assert second["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city":"Oslo"}'


@pytest.mark.parametrize(
    ("choice", "expected", "finish"),
    [
        ("none", None, "stop"),
        ("required", ["get_time"], "stop"),
        ({"type": "function", "function": {"name": "get_weather"}}, ["get_weather"], "stop"),
        ("auto", None, "stop"),
    ],
)
def test_tool_choice(client: httpx.Client, choice: Any, expected: list[str] | None, finish: str) -> None:
    reply = call(client, ask("hello", "get_time", "get_weather", tool_choice=choice))
    message = reply["choices"][0]["message"]
    assert [c["function"]["name"] for c in message.get("tool_calls", [])] == (expected or [])
    # PROTOCOLS.md §1.6: a forced choice ends with "stop" even with tool_calls present.
    assert reply["choices"][0]["finish_reason"] == finish


def test_allowed_tools_restricts_the_offer(client: httpx.Client) -> None:
    allowed = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "get_time"}}]},
    }
    reply = call(client, ask("weather and time", "get_weather", "get_time", tool_choice=allowed))
    assert [c["function"]["name"] for c in reply["choices"][0]["message"]["tool_calls"]] == ["get_time"]


def test_stream_shape_and_argument_fragments(client: httpx.Client) -> None:
    stream = events(client, CHAT, ask("What is the weather in Zürich?", "get_weather", stream=True), BEARER)
    assert all(e.event == "message" for e in stream)  # data-only SSE, no event: lines
    assert stream[-1].data == "[DONE]"
    chunks = datas(stream)
    assert {c["id"] for c in chunks} == {"chatcmpl-1"}
    assert all(c["object"] == "chat.completion.chunk" and "usage" not in c for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": None, "refusal": None}
    head = deltas[1]["tool_calls"][0]
    assert head == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    fragments = [d["tool_calls"][0]["function"]["arguments"] for d in deltas[2:-1]]
    assert all(
        d["tool_calls"][0] == {"index": 0, "function": {"arguments": f}}
        for d, f in zip(deltas[2:-1], fragments, strict=True)
    )
    raw = "".join(fragments)
    assert raw == '{"city":"Z\\u00fcrich"}' and json.loads(raw) == {"city": "Zürich"}
    assert len(fragments) >= 3
    assert any(f.endswith("\\u0") for f in fragments)  # cut inside the \u escape
    assert fragments[0] == '{"ci'  # cut inside a JSON string
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * (len(chunks) - 1) + ["tool_calls"]
    assert deltas[-1] == {}


def test_stream_text_then_usage_chunk_only_with_include_usage(client: httpx.Client) -> None:
    body = ask("hello", stream=True, stream_options={"include_usage": True})
    chunks = datas(events(client, CHAT, body, BEARER))
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert len(pieces) >= 2 and "".join(pieces) == 'Offline router: you said "hello"'
    assert chunks[0]["choices"][0]["delta"]["content"] == ""
    assert all(c["usage"] is None for c in chunks[:-1])
    usage = chunks[-1]
    assert usage["choices"] == []
    prompt = len(encode(body)) // 4
    assert usage["usage"]["prompt_tokens"] == prompt
    assert usage["usage"]["total_tokens"] == prompt + usage["usage"]["completion_tokens"]


def test_follow_up_with_a_missing_tool_message_is_rejected(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time")
    follow = answer(body, call(client, body), ["sunny", "noon"])
    del follow["messages"][-1]
    follow["messages"].append({"role": "user", "content": "and now?"})
    err = error(client, follow)
    assert err["message"] == (
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        "'tool_call_id'. The following tool_call_ids did not have response messages: call_2"
    )
    assert err["param"] == "messages.[1].role" and err["type"] == "invalid_request_error"


def test_follow_up_answering_an_unknown_id_is_rejected(client: httpx.Client) -> None:
    body = ask(WEATHER_Q, "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    follow["messages"][-1]["tool_call_id"] = "call_99"
    err = error(client, follow)
    assert (
        err["message"]
        == "Invalid parameter: 'tool_call_id' of 'call_99' not found in 'tool_calls' of previous message."
    )


def test_tool_message_without_a_preceding_call_is_rejected(client: httpx.Client) -> None:
    body = ask(WEATHER_Q, "get_weather")
    body["messages"].append({"role": "tool", "tool_call_id": "call_1", "content": "x"})
    err = error(client, body)
    assert "must be a response to a preceeding message with 'tool_calls'" in err["message"]
    assert err["param"] == "messages.[1].role"


def test_echoed_arguments_must_be_a_string(client: httpx.Client) -> None:
    body = ask(WEATHER_Q, "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    follow["messages"][1]["tool_calls"][0]["function"]["arguments"] = {"city": "Beijing"}
    err = error(client, follow)
    assert err["message"] == (
        "Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a string, but got an object instead."
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"tools": [{"type": "function", "name": "get_weather", "parameters": {}}]},
            "Missing required parameter: 'tools[0].function'.",
        ),
        ({"tools": chat_tools("get_weather")}, None),
        ({"max_output_tokens": 5}, "Unrecognized request argument supplied: max_output_tokens"),
        (
            {"stream_options": {"include_usage": True}},
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        ),
        (
            {"model": "gpt-5.4", "max_tokens": 5},
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
        ),
        (
            {"messages": []},
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        ),
        (
            {"tool_choice": "auto"},
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        ),
    ],
)
def test_request_checks(client: httpx.Client, change: dict[str, Any], message: str | None) -> None:
    body = {**ask("hello"), **change}
    if message is None:
        assert post(client, CHAT, body, BEARER).status_code == 200
        return
    assert error(client, body)["message"] == message


def test_tool_name_and_strict_schema_checks(client: httpx.Client) -> None:
    bad_name = ask("hello", tools=[{"type": "function", "function": {"name": "get weather"}}])
    assert error(client, bad_name)["message"] == (
        "Invalid 'tools[0].function.name': string does not match pattern. "
        "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
    )
    strict: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = ask("hello", tools=[{"type": "function", "function": {"name": "w", "parameters": strict, "strict": True}}])
    err = error(client, body)
    assert err["message"] == (
        "Invalid schema for function 'w': In context=(), "
        "'additionalProperties' is required to be supplied and to be false."
    )
    assert err["code"] == "invalid_function_parameters"
    strict = {
        **strict,
        "additionalProperties": False,
        "properties": {"city": {"type": "string"}, "n": {"type": "integer"}},
    }
    body["tools"][0]["function"]["parameters"] = strict
    assert "Missing 'n'." in error(client, body)["message"]
    strict["required"] = ["city", "n"]
    assert post(client, CHAT, body, BEARER).status_code == 200


def test_auth_errors(client: httpx.Client, tls: ssl.SSLContext) -> None:
    missing = post(client, CHAT, ask("hi"))
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key.")
    with OfflineRouter(api_key="right") as strict, httpx.Client(base_url=strict.url, verify=tls) as other:
        wrong = post(other, CHAT, ask("hi"), {"Authorization": "Bearer wrong-secret"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "invalid_api_key"
        assert "wrong-secret" not in wrong.text
        assert post(other, CHAT, ask("hi"), {"Authorization": "Bearer right"}).status_code == 200


def test_malformed_json_is_a_400_in_openai_shape(client: httpx.Client) -> None:
    response = post(client, CHAT, b"{not json", BEARER)
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert response.json()["error"]["message"].startswith("We could not parse the JSON body of your request.")
    assert response.headers["x-request-id"].startswith("req_")

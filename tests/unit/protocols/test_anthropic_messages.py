"""Unit tests for the Anthropic Messages adapter (PROTOCOLS.md §3).

Requests are compared to the exact expected JSON; bodies and streams come from hand-written fixtures in
tests/fixtures/messages/; every stream test runs fed whole and in 1-byte chunks through real httpx-sse.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_OTHER,
    STOP_PAUSE,
    STOP_TOOL_USE,
    Conversation,
    Message,
    ModelResponse,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
    user_text,
)
from crazycall.errors import (
    AuthenticationError,
    CrazycallError,
    ProtocolViolation,
    ProviderError,
    RateLimitError,
    ServerError,
    TransportError,
)
from crazycall.events import (
    ReasoningDelta,
    ResponseCompleted,
    StreamEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from crazycall.protocols.anthropic_messages import MessagesAdapter, clean_id
from crazycall.protocols.assembler import replay
from crazycall.protocols.base import SSE, SSEvent
from crazycall.protocols.base import RequestOptions as Opts
from tests.helpers import FIXTURES, fixture_json, fixture_text, sse_events

ADAPTER = MessagesAdapter()
CHUNKINGS = pytest.mark.parametrize("chunk_size", [None, 1], ids=["whole", "1-byte"])
SSE_FIXTURES = sorted(p.name for p in (FIXTURES / "messages").glob("*.sse"))
JSON_BODIES = sorted(p.name for p in (FIXTURES / "messages").glob("*.json") if not p.name.startswith("error_"))

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TIME_SCHEMA = {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}
WEATHER = ToolSpec("get_weather", "Current weather for a city", WEATHER_SCHEMA)
TIME = ToolSpec("get_time", "Current time in a timezone", TIME_SCHEMA)
WIRE_TOOLS = [
    {"name": "get_weather", "description": "Current weather for a city", "input_schema": WEATHER_SCHEMA},
    {"name": "get_time", "description": "Current time in a timezone", "input_schema": TIME_SCHEMA},
]
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
THINK_BLOCK = {"type": "thinking", "thinking": "The user wants the weather; call the tool.", "signature": SIGNATURE}
REDACTED_BLOCK = {
    "type": "redacted_thinking",
    "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP",
}


def stream(name: str, chunk_size: int | None) -> list[StreamEvent]:
    return list(ADAPTER.parse_stream(sse_events(fixture_text(f"messages/{name}"), chunk_size)))


def stream_text(text: str, chunk_size: int | None = None) -> list[StreamEvent]:
    return list(ADAPTER.parse_stream(sse_events(text, chunk_size)))


def final(events: Sequence[StreamEvent]) -> ModelResponse:
    assert [type(e) for e in events].count(ResponseCompleted) == 1
    last = events[-1]
    assert isinstance(last, ResponseCompleted)
    return last.response


def body_of(conv: Conversation, tools: Sequence[ToolSpec] = (), **opts: Any) -> dict[str, Any]:
    request = ADAPTER.build_request(conv, tools, Opts(**{"model": "claude-x", **opts}))
    json.dumps(request.body, allow_nan=False)  # the body must be plain JSON
    return request.body


def call(call_id: str, name: str, arguments: dict[str, Any]) -> ToolCall:
    return ToolCall(call_id, name, arguments, json.dumps(arguments, separators=(",", ":")))


# ---------------------------------------------------------------- build_request: first turn


def test_first_turn_request_is_exact() -> None:
    conv = Conversation.start("Weather and time in Paris?", system="You are terse.")
    request = ADAPTER.build_request(conv, [WEATHER, TIME], Opts(model="claude-x"))
    assert request.path == "/v1/messages"
    assert request.method == "POST"
    assert request.stream is True
    assert request.query == {}
    assert request.headers == {"anthropic-version": "2023-06-01"}
    assert request.body == {
        "model": "claude-x",
        "max_tokens": 4096,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Weather and time in Paris?"}],
        "tools": WIRE_TOOLS,
        "tool_choice": {"type": "auto"},
        "stream": True,
    }


def test_non_streaming_request_with_max_tokens_and_temperature() -> None:
    conv = Conversation.start("Hi")
    request = ADAPTER.build_request(conv, [WEATHER], Opts(model="m", stream=False, max_tokens=1024, temperature=0.2))
    assert request.stream is False
    assert request.body == {
        "model": "m",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": WIRE_TOOLS[:1],
        "tool_choice": {"type": "auto"},
        "temperature": 0.2,
    }


def test_temperature_zero_is_sent() -> None:
    assert body_of(Conversation.start("Hi"), temperature=0.0)["temperature"] == 0.0


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", True, {"type": "auto"}),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", True, {"type": "any"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("get_time", True, {"type": "tool", "name": "get_time"}),
        ("get_time", False, {"type": "tool", "name": "get_time", "disable_parallel_tool_use": True}),
        ("none", True, {"type": "none"}),
        ("none", False, {"type": "none"}),  # §3.1: none does not take disable_parallel_tool_use
    ],
)
def test_tool_choice_forms(choice: str, parallel: bool, expected: dict[str, Any]) -> None:
    body = body_of(Conversation.start("Hi"), [WEATHER, TIME], tool_choice=choice, parallel_tool_calls=parallel)
    assert body["tool_choice"] == expected
    assert body["tools"] == WIRE_TOOLS


@pytest.mark.parametrize("choice", ["auto", "none", "required", "get_time"])
def test_no_tools_sends_neither_tools_nor_tool_choice(choice: str) -> None:
    body = body_of(Conversation.start("Hi"), [], tool_choice=choice, parallel_tool_calls=False)
    assert body == {
        "model": "claude-x",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
    }


def test_tool_without_description_or_schema_type() -> None:
    body = body_of(Conversation.start("Hi"), [ToolSpec("ping", "", {"properties": {}})])
    assert body["tools"] == [{"name": "ping", "input_schema": {"type": "object", "properties": {}}}]


def test_auth_headers() -> None:
    auth = ADAPTER.auth("sk-ant-secret")
    assert auth.headers == {"x-api-key": "sk-ant-secret", "anthropic-version": "2023-06-01"}
    assert auth.query == {}
    assert MessagesAdapter.name == "messages"


# ---------------------------------------------------------------- build_request: follow-up turns


def follow_up() -> Conversation:
    return Conversation(
        system="You are terse.",
        messages=(
            user_text("Weather and time in Paris?"),
            Message(
                "assistant",
                (
                    ReasoningPart(THINK_BLOCK["thinking"], {"messages": {"block": THINK_BLOCK}}),
                    ReasoningPart("", {"messages": {"block": REDACTED_BLOCK}}),
                    TextPart("Checking both."),
                    TextPart(""),
                    call("toolu_1", "get_weather", {"city": "Paris"}),
                    call("toolu_2", "get_time", {"tz": "Europe/Paris"}),
                ),
            ),
            Message(
                "tool",
                (
                    ToolResult("toolu_1", "get_weather", '{"temp_c":18,"sky":"cloudy"}'),
                    ToolResult("toolu_2", "get_time", "unknown timezone", is_error=True),
                ),
            ),
            user_text("Keep it short."),
        ),
    )


def test_follow_up_turn_is_exact() -> None:
    assert body_of(follow_up(), [WEATHER, TIME], stream=False) == {
        "model": "claude-x",
        "max_tokens": 4096,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Weather and time in Paris?"},
            {
                "role": "assistant",
                "content": [
                    THINK_BLOCK,
                    REDACTED_BLOCK,
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {"tz": "Europe/Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"temp_c":18,"sky":"cloudy"}'},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "unknown timezone", "is_error": True},
                    {"type": "text", "text": "Keep it short."},
                ],
            },
        ],
        "tools": WIRE_TOOLS,
        "tool_choice": {"type": "auto"},
    }


def test_quirk_tool_result_blocks_first_with_a_following_user_text() -> None:
    # a text part placed before the results (even inside the tool message) still goes after them (§3.3)
    conv = Conversation(
        messages=(
            user_text("Go"),
            Message("assistant", (call("toolu_a", "get_time", {}), call("toolu_b", "get_time", {}))),
            Message("tool", (TextPart("note first"), ToolResult("toolu_a", "get_time", "12:00"))),
            Message("tool", (ToolResult("toolu_b", "get_time", "13:00"),)),
            user_text("Now answer."),
        )
    )
    messages = body_of(conv, [TIME])["messages"]
    assert len(messages) == 3
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "12:00"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "13:00"},
            {"type": "text", "text": "note first"},
            {"type": "text", "text": "Now answer."},
        ],
    }


def test_empty_tool_result_content_is_left_out() -> None:
    conv = Conversation(
        messages=(
            user_text("Go"),
            Message("assistant", (call("toolu_a", "get_time", {}),)),
            Message("tool", (ToolResult("toolu_a", "get_time", ""),)),
        )
    )
    assert body_of(conv, [TIME])["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_a"}],
    }


def test_quirk_id_cleanup_is_consistent_on_both_sides() -> None:
    conv = Conversation(
        messages=(
            user_text("Go"),
            Message("assistant", (call("call:abc/1", "get_time", {}), call("call/abc:1", "get_time", {}))),
            Message(
                "tool",
                (ToolResult("call:abc/1", "get_time", "12:00"), ToolResult("call/abc:1", "get_time", "13:00")),
            ),
        )
    )
    messages = body_of(conv, [TIME])["messages"]
    use_ids = [b["id"] for b in messages[1]["content"]]
    result_ids = [b["tool_use_id"] for b in messages[2]["content"]]
    assert use_ids == result_ids == ["call_abc_1_eaafca11", "call_abc_1_cda131dc"]
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]+", i) for i in use_ids)
    assert clean_id("toolu_01-A") == "toolu_01-A"  # valid ids are untouched
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", clean_id(""))


def test_other_protocols_provider_data_is_ignored() -> None:
    conv = Conversation(
        messages=(
            user_text("Go"),
            Message(
                "assistant",
                (
                    ReasoningPart(
                        "summary from responses", {"responses": {"item": {"type": "reasoning", "id": "rs_1"}}}
                    ),
                    ReasoningPart("gemini thought", {"gemini": {"thought_signature": "CiQB"}}),
                    TextPart("Checking.", {"responses": {"item": {"type": "message", "id": "msg_9"}}}),
                    ToolCall("fc_1", "get_time", {"tz": "UTC"}, '{"tz":"UTC"}', {"gemini": {"thought_signature": "x"}}),
                ),
            ),
        )
    )
    assert body_of(conv, [TIME])["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "fc_1", "name": "get_time", "input": {"tz": "UTC"}},
        ],
    }


def test_bad_arguments_are_echoed_as_an_object() -> None:
    bad = ToolCall("toolu_x", "get_weather", {}, '{"city": "Par', arguments_error="arguments are not valid JSON")
    conv = Conversation(messages=(user_text("Go"), Message("assistant", (bad,))))
    block = body_of(conv, [WEATHER])["messages"][1]["content"][0]
    assert block == {"type": "tool_use", "id": "toolu_x", "name": "get_weather", "input": {}}


def test_empty_assistant_text_is_not_sent_and_neighbours_merge() -> None:
    conv = Conversation(
        messages=(user_text("One"), Message("assistant", (TextPart(""),)), user_text("Two")),
    )
    assert body_of(conv)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "One"}, {"type": "text", "text": "Two"}]},
    ]


def test_quirk_thinking_block_and_signature_echoed_unchanged() -> None:
    body = fixture_json("messages/thinking.json")
    for response in (
        ADAPTER.parse_response(body),
        final(stream("thinking.sse", None)),
        final(stream("thinking.sse", 1)),
    ):
        conv = Conversation.start("Weather in Paris?").append(response.message)
        echoed = body_of(conv, [WEATHER])["messages"][1]
        assert echoed == {"role": "assistant", "content": body["content"]}


# ---------------------------------------------------------------- parse_response


def test_parse_text_only() -> None:
    response = ADAPTER.parse_response(fixture_json("messages/text_only.json"))
    assert response == ModelResponse(
        message=Message("assistant", (TextPart("Paris is sunny, 21 °C."),)),
        stop_reason=STOP_END_TURN,
        usage=Usage(12, 9),
        model="MODEL_ID",
        response_id="msg_text",
        raw_stop_reason="end_turn",
    )


def test_parse_one_call_and_cache_usage() -> None:
    response = ADAPTER.parse_response(fixture_json("messages/one_call.json"))
    assert response.message.parts == (
        TextPart("Let me check."),
        ToolCall("toolu_01A", "get_weather", {"city": "Paris", "units": "metric"}, '{"city":"Paris","units":"metric"}'),
    )
    assert response.stop_reason == STOP_TOOL_USE
    assert response.usage == Usage(40 + 100 + 300, 20, 300)  # §3.2: input is the sum of the three input fields


def test_parse_parallel_calls_and_replay() -> None:
    response = ADAPTER.parse_response(fixture_json("messages/parallel_calls.json"))
    weather = ToolCall("toolu_1", "get_weather", {"city": "Paris"}, '{"city":"Paris"}')
    time = ToolCall("toolu_2", "get_time", {"tz": "Europe/Paris"}, '{"tz":"Europe/Paris"}')
    assert response.message.parts == (TextPart("Checking both."), weather, time)
    assert (response.stop_reason, response.raw_stop_reason, response.usage) == (
        STOP_TOOL_USE,
        "tool_use",
        Usage(90, 60),
    )
    assert list(replay(response)) == [
        TextDelta("Checking both."),
        ToolCallStarted(0, "toolu_1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":"Paris"}'),
        ToolCallStarted(1, "toolu_2", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz":"Europe/Paris"}'),
        ResponseCompleted(response),
    ]


def test_parse_no_argument_tools() -> None:
    response = ADAPTER.parse_response(fixture_json("messages/no_args.json"))
    assert response.message.parts == (
        ToolCall("toolu_empty", "get_time", {}, "{}"),
        ToolCall("toolu_missing", "get_time", {}, "{}"),
        ToolCall("toolu_null", "get_time", {}, "{}"),
    )


def test_parse_arguments_that_are_not_an_object() -> None:
    parts = ADAPTER.parse_response(fixture_json("messages/bad_arguments.json")).message.parts
    assert [(p.raw_arguments, p.arguments) for p in parts if isinstance(p, ToolCall)] == [
        ('{"city": "Par', {}),
        ('["Paris"]', {}),
    ]
    errors = [p.arguments_error or "" for p in parts if isinstance(p, ToolCall)]
    assert errors[0].startswith("arguments are not valid JSON")
    assert errors[1].startswith("arguments must be a JSON object, got list")


def test_parse_thinking_blocks() -> None:
    response = ADAPTER.parse_response(fixture_json("messages/thinking.json"))
    assert response.message.parts[:3] == (
        ReasoningPart(THINK_BLOCK["thinking"], {"messages": {"block": THINK_BLOCK}}),
        ReasoningPart("", {"messages": {"block": REDACTED_BLOCK}}),
        TextPart("Looking it up."),
    )
    assert next(iter(replay(response))) == ReasoningDelta(THINK_BLOCK["thinking"])


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [
        ("end_turn", STOP_END_TURN),
        ("stop_sequence", STOP_END_TURN),
        ("max_tokens", STOP_MAX_TOKENS),
        ("model_context_window_exceeded", STOP_MAX_TOKENS),
        ("tool_use", STOP_TOOL_USE),  # no tool_use block here: the word alone is mapped
        ("refusal", STOP_CONTENT_FILTER),
        ("pause_turn", STOP_PAUSE),
        ("something_new", STOP_OTHER),
        (None, STOP_OTHER),
    ],
)
def test_stop_reasons(raw: str | None, neutral: str) -> None:
    body = {**fixture_json("messages/text_only.json"), "stop_reason": raw}
    response = ADAPTER.parse_response(body)
    assert (response.stop_reason, response.raw_stop_reason) == (neutral, raw)


def test_tool_calls_force_tool_use_whatever_the_stop_reason() -> None:
    body = {**fixture_json("messages/one_call.json"), "stop_reason": "max_tokens"}
    response = ADAPTER.parse_response(body)
    assert (response.stop_reason, response.raw_stop_reason) == (STOP_TOOL_USE, "max_tokens")


def test_missing_usage_counts_are_zero() -> None:
    body = {**fixture_json("messages/text_only.json"), "usage": {"output_tokens": 3}}
    assert ADAPTER.parse_response(body).usage == Usage(0, 3)
    body.pop("usage")
    assert ADAPTER.parse_response(body).usage == Usage(0, 0)


def test_unknown_content_blocks_are_skipped() -> None:
    body = fixture_json("messages/text_only.json")
    body["content"].insert(0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}})
    assert ADAPTER.parse_response(body).message.parts == (TextPart("Paris is sunny, 21 °C."),)


def test_error_inside_a_200_body() -> None:
    with pytest.raises(ServerError) as info:
        ADAPTER.parse_response(fixture_json("messages/error_overloaded.json"))
    assert (info.value.status, info.value.error_type) == (529, "overloaded_error")
    assert info.value.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "response body"),
        ({"id": "msg_1", "type": "message"}, "content"),
        ({"content": "hello"}, "content"),
        ({"content": ["hello"]}, "content[0]"),
        ({"content": [{"type": "text", "text": None}]}, "content[0].text"),
        ({"content": [{"type": "tool_use", "name": "get_time", "input": {}}]}, "content[0].id"),
        ({"content": [{"type": "tool_use", "id": "toolu_1", "name": 7}]}, "content[0].name"),
        ({"content": [{"type": "thinking", "signature": "x"}]}, "content[0].thinking"),
    ],
)
def test_malformed_bodies_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(ProtocolViolation, match=re.escape(field)):
        ADAPTER.parse_response(body)


# ---------------------------------------------------------------- parse_stream


@CHUNKINGS
def test_stream_text_only(chunk_size: int | None) -> None:
    events = stream("text_only.sse", chunk_size)
    assert events[:-1] == [TextDelta("Paris is sunny, "), TextDelta("21 °C ☀.")]
    assert final(events) == ModelResponse(
        message=Message("assistant", (TextPart("Paris is sunny, 21 °C ☀."),)),
        stop_reason=STOP_END_TURN,
        usage=Usage(12, 9),
        model="MODEL_ID",
        response_id="msg_text",
        raw_stop_reason="end_turn",
    )


@CHUNKINGS
def test_stream_one_call(chunk_size: int | None) -> None:
    events = stream("one_call.sse", chunk_size)
    assert events[:-1] == [
        ToolCallStarted(0, "toolu_01A", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city": "Pa'),
        ToolCallArgumentsDelta(0, 'ris", "units"'),
        ToolCallArgumentsDelta(0, ': "metric"}'),
    ]
    response = final(events)
    raw = '{"city": "Paris", "units": "metric"}'
    assert response.message.parts == (ToolCall("toolu_01A", "get_weather", {"city": "Paris", "units": "metric"}, raw),)
    assert (response.stop_reason, response.usage) == (STOP_TOOL_USE, Usage(440, 20, 300))


@CHUNKINGS
def test_stream_parallel_calls(chunk_size: int | None) -> None:
    events = stream("parallel_calls.sse", chunk_size)
    assert events[:-1] == [
        TextDelta("Checking both."),
        ToolCallStarted(0, "toolu_1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city": "Paris"}'),
        ToolCallStarted(1, "toolu_2", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz": '),
        ToolCallArgumentsDelta(1, '"Europe/Paris"}'),
    ]
    assert final(events).message.parts == (
        TextPart("Checking both."),
        ToolCall("toolu_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}'),
        ToolCall("toolu_2", "get_time", {"tz": "Europe/Paris"}, '{"tz": "Europe/Paris"}'),
    )
    assert final(events).usage == Usage(90, 60)


@CHUNKINGS
def test_quirk_empty_partial_json_means_empty_object(chunk_size: int | None) -> None:
    events = stream("no_args.sse", chunk_size)
    assert events[:-1] == [
        ToolCallStarted(0, "toolu_empty", "get_time"),
        ToolCallStarted(1, "toolu_nodelta", "get_time"),
        ToolCallStarted(2, "toolu_noinput", "get_time"),
    ]
    # the same raw arguments as the non-streamed body gives for input {}
    assert final(events).message.parts == (
        ToolCall("toolu_empty", "get_time", {}, "{}"),
        ToolCall("toolu_nodelta", "get_time", {}, "{}"),
        ToolCall("toolu_noinput", "get_time", {}, "{}"),
    )


@CHUNKINGS
def test_stream_arguments_that_are_not_json(chunk_size: int | None) -> None:
    response = final(stream("bad_arguments.sse", chunk_size))
    (part,) = response.message.parts
    assert isinstance(part, ToolCall)
    assert (part.raw_arguments, part.arguments) == ('{"city": "Par', {})
    assert (part.arguments_error or "").startswith("arguments are not valid JSON")
    assert (response.stop_reason, response.raw_stop_reason) == (STOP_TOOL_USE, "max_tokens")


@CHUNKINGS
def test_stream_thinking_with_signature_kept_for_echo(chunk_size: int | None) -> None:
    events = stream("thinking.sse", chunk_size)
    assert events[:-1] == [
        ReasoningDelta("The user wants the weather;"),
        ReasoningDelta(" call the tool."),
        TextDelta("Looking it up."),
        ToolCallStarted(0, "toolu_T1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city": "Paris"}'),
    ]
    assert final(events).message.parts[:2] == (
        ReasoningPart(THINK_BLOCK["thinking"], {"messages": {"block": THINK_BLOCK}}),
        ReasoningPart("", {"messages": {"block": REDACTED_BLOCK}}),
    )


@CHUNKINGS
def test_quirk_usage_is_cumulative_and_overwritten(chunk_size: int | None) -> None:
    # message_start says 25 + 100 cached in, 1 out; message_delta repeats the input counts and says 7, then 15
    # out: adding would give 250 in and 23 out
    assert final(stream("usage_cumulative.sse", chunk_size)).usage == Usage(125, 15, 100)


@CHUNKINGS
def test_quirk_ping_between_deltas(chunk_size: int | None) -> None:
    events = stream("ping_between_deltas.sse", chunk_size)
    assert events[:-1] == [
        ToolCallStarted(0, "toolu_P", "get_weather"),
        ToolCallArgumentsDelta(0, '{"ci'),
        ToolCallArgumentsDelta(0, 'ty": "Paris"}'),
    ]
    assert final(events).message.parts == (ToolCall("toolu_P", "get_weather", {"city": "Paris"}, '{"city": "Paris"}'),)


def test_ping_with_non_json_data_is_ignored() -> None:
    # proxies sometimes send their own keep-alive pings; a ping is never parsed
    events = sse_events(fixture_text("messages/ping_between_deltas.sse"))
    events_with_odd_ping: list[SSE] = [events[0], SSEvent("keep-alive", "ping"), *events[1:]]
    assert list(ADAPTER.parse_stream(events_with_odd_ping)) == list(ADAPTER.parse_stream(events))


@CHUNKINGS
def test_stream_fragments_split_inside_escapes_and_surrogate_pairs(chunk_size: int | None) -> None:
    events = stream("split_escapes.sse", chunk_size)
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("Hi "), TextDelta("😀 café")]
    response = final(events)
    text, tool = response.message.parts
    assert text == TextPart("Hi 😀 café")
    assert isinstance(tool, ToolCall)
    assert tool.arguments == {"note": "café 😀 ok", "emoji": "😀"}
    assert tool.raw_arguments == '{"note": "caf\\u00e9 \\ud83d\\ude00 ok", "emoji": "😀"}'
    assert tool.arguments_error is None


@CHUNKINGS
def test_missing_message_stop_after_stop_reason_is_accepted(chunk_size: int | None) -> None:
    response = final(stream("no_message_stop.sse", chunk_size))
    assert (response.message.text, response.stop_reason, response.usage) == ("All done.", STOP_END_TURN, Usage(12, 4))


@CHUNKINGS
def test_truncated_stream_is_a_transport_error(chunk_size: int | None) -> None:
    with pytest.raises(TransportError, match="stream ended before message_stop"):
        stream("truncated.sse", chunk_size)


def test_empty_stream_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="stream ended before message_stop"):
        list(ADAPTER.parse_stream([]))


@CHUNKINGS
def test_garbage_data_is_a_protocol_violation(chunk_size: int | None) -> None:
    with pytest.raises(ProtocolViolation, match="not JSON: '<html><body>502 Bad Gateway"):
        stream("garbage.sse", chunk_size)


@CHUNKINGS
def test_stream_error_event_overloaded(chunk_size: int | None) -> None:
    seen: list[StreamEvent] = []
    with pytest.raises(ServerError) as info:
        seen.extend(ADAPTER.parse_stream(sse_events(fixture_text("messages/error_overloaded.sse"), chunk_size)))
    err = info.value
    assert (err.status, err.error_type, err.provider_message) == (529, "overloaded_error", "Overloaded")
    assert (err.protocol, err.endpoint) == ("messages", "/v1/messages")


@pytest.mark.parametrize(
    ("error_type", "status", "cls"),
    [
        ("rate_limit_error", 429, RateLimitError),
        ("api_error", 500, ServerError),
        ("authentication_error", 401, AuthenticationError),
        ("invalid_request_error", 400, ProviderError),
        ("brand_new_error", None, ProviderError),
    ],
)
def test_stream_error_event_types(error_type: str, status: int | None, cls: type[ProviderError]) -> None:
    data = {"type": "error", "error": {"type": error_type, "message": "boom"}, "request_id": "req_s1"}
    with pytest.raises(cls) as info:
        list(ADAPTER.parse_stream([SSEvent(json.dumps(data), "error")]))
    assert type(info.value) is cls
    assert (info.value.status, info.value.error_type, info.value.request_id) == (status, error_type, "req_s1")


def test_events_after_message_stop_are_not_read() -> None:
    text = fixture_text("messages/text_only.sse") + "event: content_block_delta\ndata: garbage\n\n"
    assert final(stream_text(text)).message.text == "Paris is sunny, 21 °C ☀."


def test_crlf_line_endings_give_the_same_result() -> None:
    text = fixture_text("messages/parallel_calls.sse")
    assert stream_text(text.replace("\n", "\r\n"), 1) == stream_text(text)


@pytest.mark.parametrize(
    "data",
    [
        '["not", "an", "object"]',
        '{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"x"}}',
        '{"type":"content_block_delta","index":"0","delta":{"type":"text_delta","text":"x"}}',
        '{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","name":"get_time"}}',
        '{"type":"message_start","message":null}',
    ],
)
def test_malformed_stream_events(data: str) -> None:
    with pytest.raises(ProtocolViolation, match=r"^messages: "):
        list(ADAPTER.parse_stream([SSEvent(data, "x")]))


@pytest.mark.parametrize("name", SSE_FIXTURES)
def test_every_stream_fixture_is_the_same_whole_and_in_1_byte_chunks(name: str) -> None:
    def outcome(chunk_size: int | None) -> Any:
        try:
            return stream(name, chunk_size)
        except CrazycallError as exc:
            return (type(exc), str(exc))

    assert outcome(None) == outcome(1)


# ---------------------------------------------------------------- parse_error


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", ProviderError),
        (401, "authentication_error", AuthenticationError),
        (403, "permission_error", AuthenticationError),
        (404, "not_found_error", ProviderError),
        (413, "request_too_large", ProviderError),
        (429, "rate_limit_error", RateLimitError),
        (500, "api_error", ServerError),
        (529, "overloaded_error", ServerError),
    ],
)
def test_error_table(status: int, error_type: str, cls: type[ProviderError]) -> None:
    body = {"type": "error", "error": {"type": error_type, "message": f"{error_type} happened"}, "request_id": "req_b"}
    err = ADAPTER.parse_error(status, json.dumps(body).encode(), {"request-id": "req_h"})
    assert type(err) is cls
    assert (err.status, err.error_type, err.provider_message) == (status, error_type, f"{error_type} happened")
    assert err.request_id == "req_h"  # the header wins over the body's copy
    assert str(err) == f"messages /v1/messages: HTTP {status} {error_type}: {error_type} happened (request id req_h)"


def test_rate_limit_with_retry_after() -> None:
    body = fixture_text("messages/error_rate_limit.json").encode()
    err = ADAPTER.parse_error(429, body, {"Retry-After": "7", "x-should-retry": "true"})
    assert isinstance(err, RateLimitError)
    assert (err.retry_after, err.retryable, err.request_id) == (7.0, True, "req_rate1")


def test_overloaded_529_with_retry_after_ms() -> None:
    body = fixture_text("messages/error_overloaded.json").encode()
    err = ADAPTER.parse_error(529, body, {"retry-after-ms": "1500", "request-id": "req_hdr"})
    assert isinstance(err, ServerError)
    assert (err.status, err.error_type, err.retry_after, err.request_id) == (529, "overloaded_error", 1.5, "req_hdr")


def test_invalid_request_message_is_kept() -> None:
    err = ADAPTER.parse_error(400, fixture_text("messages/error_invalid_request.json").encode(), {})
    assert err.provider_message.startswith("messages.1: `tool_use` ids were found without `tool_result` blocks")
    assert (err.error_type, err.request_id, err.retry_after) == ("invalid_request_error", "req_bad1", None)


def test_html_error_body_is_truncated_text() -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 1000 + "</body></html>"
    err = ADAPTER.parse_error(502, html.encode(), {})
    assert isinstance(err, ServerError)
    assert err.error_type is None
    assert err.provider_message.startswith("<html><head><title>502 Bad Gateway</title>")
    assert len(err.provider_message) == 300


def test_empty_and_odd_error_bodies() -> None:
    assert ADAPTER.parse_error(503, b"", {}).provider_message == "(empty error body)"
    assert ADAPTER.parse_error(400, b'{"message": "plain message"}', {}).provider_message == "plain message"
    openai_shaped = b'{"error": {"message": "model not found", "type": "invalid_request_error", "code": null}}'
    err = ADAPTER.parse_error(404, openai_shaped, {})
    assert (err.provider_message, err.error_type) == ("model not found", "invalid_request_error")


def test_error_message_does_not_leak_the_key() -> None:
    body = b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'
    err = ADAPTER.parse_error(401, body, {})
    assert "\n" not in str(err)
    assert str(err) == "messages /v1/messages: HTTP 401 authentication_error: invalid x-api-key"


# ---------------------------------------------------------------- hypothesis: what parses goes back out valid
# (that anything at all parses or raises a CrazycallError: tests/unit/protocols/test_adapter_contract.py)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(doc: Any, path: tuple[Any, ...], replacement: Any, delete: bool) -> Any:
    if not path:
        return replacement
    doc = copy.deepcopy(doc)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return doc


@st.composite
def mutated_fixture(draw: st.DrawFn, docs: Sequence[Any]) -> Any:
    doc = draw(st.sampled_from(docs))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        doc = _mutate(doc, path, draw(JSON_VALUES), delete=bool(path) and draw(st.booleans()))
    return doc


BODIES = [fixture_json(f"messages/{name}") for name in JSON_BODIES]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=mutated_fixture(BODIES))
def test_hypothesis_parsed_bodies_build_a_valid_follow_up(value: Any) -> None:
    # whatever parses must go back out as a JSON body with Anthropic-valid ids
    try:
        response = ADAPTER.parse_response(value)
    except CrazycallError:
        return
    body = body_of(Conversation.start("Go").append(response.message), [WEATHER])
    for message in body["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_use":
                assert re.fullmatch(r"[a-zA-Z0-9_-]+", block["id"])
                assert isinstance(block["input"], dict)

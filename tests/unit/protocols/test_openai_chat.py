"""The Chat Completions adapter against hand-written PROTOCOLS.md §1 shapes (tests/fixtures/chat)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_OTHER,
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
from crazycall.protocols import get_adapter
from crazycall.protocols.assembler import replay
from crazycall.protocols.base import RequestOptions, SSEvent
from crazycall.protocols.openai_chat import ChatAdapter
from tests.helpers import FIXTURES, fixture_json, fixture_text, sse_events

A = ChatAdapter()
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec("get_time", "", {"type": "object", "properties": {"tz": {"type": "string"}}})
TOOLS_JSON = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    },
    {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}},
    },
]
CONV = Conversation.start("Weather and time in Paris?", system="You are terse.")
FIRST_MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather and time in Paris?"},
]
CALL_ID = re.compile(r"^call_[0-9a-f]{24}$")
ECHO_MARK = {"chat": {"echo": "reasoning_content"}}


def body(name: str) -> Any:
    return fixture_json(f"chat/{name}")


@pytest.fixture(params=[None, 1], ids=["whole", "1-byte"])
def chunking(request: pytest.FixtureRequest) -> int | None:
    value: int | None = request.param
    return value


def stream(name: str, chunk_size: int | None) -> list[StreamEvent]:
    return list(A.parse_stream(sse_events(fixture_text(f"chat/{name}"), chunk_size)))


def final(events: list[StreamEvent]) -> ModelResponse:
    assert sum(isinstance(e, ResponseCompleted) for e in events) == 1
    last = events[-1]
    assert isinstance(last, ResponseCompleted)
    return last.response


def call(call_id: str, name: str, raw: str, provider_data: Any = None, error: str | None = None) -> ToolCall:
    arguments = json.loads(raw) if raw and error is None else {}
    return ToolCall(call_id, name, arguments, raw, provider_data or {}, error)


def response(*parts: Any, stop: str, raw: str | None, usage: Usage, rid: str, model: str = "gpt-test") -> ModelResponse:
    return ModelResponse(Message("assistant", tuple(parts)), stop, usage, model, rid, raw)


# ---------------------------------------------------------------------- build_request


def test_first_turn_full_request_shape() -> None:
    opts = RequestOptions(model="gpt-test", stream=True, parallel_tool_calls=False, max_tokens=256, temperature=0.0)
    req = A.build_request(CONV, [WEATHER, TIME], opts)
    assert req.path == "/v1/chat/completions"
    assert req.method == "POST"
    assert req.stream is True
    assert req.query == {}
    assert req.body == {
        "model": "gpt-test",
        "messages": FIRST_MESSAGES,
        "tools": TOOLS_JSON,
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "max_completion_tokens": 256,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    json.dumps(req.body)  # the transport serialises it as is


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
    ],
)
def test_tool_choice_forms(choice: str, wire: Any) -> None:
    req = A.build_request(CONV, [WEATHER, TIME], RequestOptions(model="m", stream=False, tool_choice=choice))
    assert req.body == {"model": "m", "messages": FIRST_MESSAGES, "tools": TOOLS_JSON, "tool_choice": wire}


def test_non_streaming_defaults_leave_everything_optional_out() -> None:
    req = A.build_request(CONV, [WEATHER], RequestOptions(model="m", stream=False))
    assert req.stream is False
    assert set(req.body) == {"model", "messages", "tools", "tool_choice"}  # no stream, limits, parallel


def test_no_tools_sends_no_tool_fields_even_when_asked_for_them() -> None:
    opts = RequestOptions(model="m", stream=False, tool_choice="required", parallel_tool_calls=False)
    req = A.build_request(Conversation.start("hi"), [], opts)
    assert req.body == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_strict_and_max_tokens_are_never_sent() -> None:
    req = A.build_request(CONV, [WEATHER], RequestOptions(model="m", max_tokens=10))
    assert "strict" not in req.body["tools"][0]["function"]
    assert "max_tokens" not in req.body
    assert req.body["max_completion_tokens"] == 10


def test_read_only_schema_mappings_become_plain_json() -> None:
    from types import MappingProxyType

    spec = ToolSpec("t", "d", MappingProxyType({"type": "object", "required": ("a",)}))
    req = A.build_request(Conversation.start("hi"), [spec], RequestOptions(model="m", stream=False))
    assert req.body["tools"][0]["function"]["parameters"] == {"type": "object", "required": ["a"]}
    json.dumps(req.body)


FOLLOW_UP = Conversation(
    system="You are terse.",
    messages=(
        user_text("Weather and time in Paris?"),
        Message(
            "assistant",
            (
                ReasoningPart("thinking about it", {"chat": {"ignored": True}}),
                TextPart("Checking both."),
                # raw arguments with spaces: proves they are echoed, not re-encoded
                ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}'),
                ToolCall("call_2", "get_time", {"tz": "Europe/Paris"}, '{"tz":"Europe/Paris"}'),
            ),
        ),
        Message(
            "tool",
            (
                ToolResult("call_1", "get_weather", '{"temp_c":18,"sky":"cloudy"}'),
                ToolResult("call_2", "get_time", "unknown timezone", is_error=True),
            ),
        ),
        user_text("And tomorrow?"),
    ),
)
FOLLOW_UP_MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather and time in Paris?"},
    {
        "role": "assistant",
        "content": "Checking both.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz":"Europe/Paris"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c":18,"sky":"cloudy"}'},
    {"role": "tool", "tool_call_id": "call_2", "content": "ERROR: unknown timezone"},
    {"role": "user", "content": "And tomorrow?"},
]


def test_follow_up_turn_echoes_calls_and_answers_each_in_order() -> None:
    req = A.build_request(FOLLOW_UP, [WEATHER, TIME], RequestOptions(model="m", stream=False))
    assert req.body["messages"] == FOLLOW_UP_MESSAGES


def test_assistant_without_text_sends_null_content_and_bad_raw_arguments_verbatim() -> None:
    bad = ToolCall("call_x", "get_weather", {}, '{"city": "Par', arguments_error="not JSON")
    empty = ToolCall("call_y", "get_time", {}, "")
    conv = Conversation(messages=(user_text("hi"), Message("assistant", (bad, empty))))
    msgs = A.build_request(conv, [WEATHER], RequestOptions(model="m", stream=False)).body["messages"]
    assert msgs[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_x", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Par'}},
            {"id": "call_y", "type": "function", "function": {"name": "get_time", "arguments": ""}},
        ],
    }


def test_hand_built_call_without_raw_arguments_is_encoded() -> None:
    conv = Conversation(messages=(Message("assistant", (ToolCall("c", "t", {"a": "é"}, ""),)),))
    msgs = A.build_request(conv, [], RequestOptions(model="m", stream=False)).body["messages"]
    assert msgs[0]["tool_calls"][0]["function"]["arguments"] == '{"a":"é"}'


def test_empty_assistant_message_is_left_out() -> None:
    conv = Conversation(
        messages=(user_text("a"), Message("assistant", (ReasoningPart("only thoughts"),)), user_text("b"))
    )
    msgs = A.build_request(conv, [], RequestOptions(model="m", stream=False)).body["messages"]
    assert msgs == [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]


def test_provider_data_of_other_protocols_is_ignored() -> None:
    foreign = Conversation(
        system="You are terse.",
        messages=(
            user_text("Weather and time in Paris?"),
            Message(
                "assistant",
                (
                    ReasoningPart("", {"responses": {"type": "reasoning", "id": "rs_1", "encrypted_content": "x"}}),
                    TextPart("Checking both.", {"responses": {"type": "message", "id": "msg_1"}}),
                    ToolCall(
                        "call_1",
                        "get_weather",
                        {"city": "Paris"},
                        '{"city": "Paris"}',
                        {"gemini": {"thoughtSignature": "sig"}, "responses": {"id": "fc_1"}},
                    ),
                    ToolCall(
                        "call_2",
                        "get_time",
                        {"tz": "Europe/Paris"},
                        '{"tz":"Europe/Paris"}',
                        {"messages": {"extra_content": "not ours"}},
                    ),
                ),
            ),
            FOLLOW_UP.messages[2],
            FOLLOW_UP.messages[3],
        ),
    )
    req = A.build_request(foreign, [WEATHER, TIME], RequestOptions(model="m", stream=False))
    assert req.body["messages"] == FOLLOW_UP_MESSAGES


def test_own_extra_content_is_echoed_on_the_tool_call() -> None:
    signature = {"google": {"thought_signature": "EjQKMgEMOdbH+sig/=="}}
    tc = ToolCall("fc-1", "get_weather", {}, "{}", {"chat": {"extra_content": signature}, "gemini": {"x": 1}})
    conv = Conversation(messages=(user_text("hi"), Message("assistant", (tc,))))
    msgs = A.build_request(conv, [WEATHER], RequestOptions(model="m", stream=False)).body["messages"]
    assert msgs[1]["tool_calls"] == [
        {
            "id": "fc-1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
            "extra_content": signature,
        }
    ]


def test_auth_is_a_bearer_header() -> None:
    auth = A.auth("sk-test-123")
    assert auth.headers == {"Authorization": "Bearer sk-test-123"}
    assert auth.query == {}


def test_router_resolves_chat_to_this_adapter() -> None:
    adapter = get_adapter("chat")
    assert isinstance(adapter, ChatAdapter)
    assert adapter.name == "chat"


# ---------------------------------------------------------------------- parse_response

WEATHER_CALL = call("call_1", "get_weather", '{"city":"Paris"}')
TIME_CALL = call("call_2", "get_time", '{"tz":"Europe/Paris"}')


def test_response_text_only() -> None:
    assert A.parse_response(body("text_only.json")) == response(
        TextPart("Paris is sunny today."), stop=STOP_END_TURN, raw="stop", usage=Usage(12, 6), rid="chatcmpl-text"
    )


def test_response_one_call() -> None:
    assert A.parse_response(body("one_call.json")) == response(
        WEATHER_CALL, stop=STOP_TOOL_USE, raw="tool_calls", usage=Usage(80, 20), rid="chatcmpl-one"
    )


def test_response_two_parallel_calls() -> None:
    assert A.parse_response(body("parallel_calls.json")) == response(
        WEATHER_CALL, TIME_CALL, stop=STOP_TOOL_USE, raw="tool_calls", usage=Usage(80, 40), rid="chatcmpl-1"
    )


def test_quirk_text_and_tool_calls_together() -> None:
    got = A.parse_response(body("text_and_calls.json"))
    assert got.message.parts == (TextPart("Checking both."), WEATHER_CALL, TIME_CALL)
    assert got.stop_reason == STOP_TOOL_USE


def test_response_no_argument_calls() -> None:
    got = A.parse_response(body("no_args.json"))
    assert got.message.parts == (
        ToolCall("call_a", "get_time", {}, ""),
        ToolCall("call_b", "get_time", {}, "{}"),
        ToolCall("call_c", "get_time", {}, ""),
    )


def test_response_bad_arguments_are_kept_not_raised() -> None:
    first, second = A.parse_response(body("bad_args.json")).message.tool_calls
    assert (first.raw_arguments, first.arguments) == ('{"city": "Par', {})
    assert first.arguments_error is not None and "not valid JSON" in first.arguments_error
    assert (second.raw_arguments, second.arguments) == ('["Paris"]', {})
    assert second.arguments_error is not None and "must be a JSON object" in second.arguments_error


def test_quirk_forced_tool_choice_stop_is_still_tool_use() -> None:
    got = A.parse_response(body("forced_stop.json"))
    assert got.stop_reason == STOP_TOOL_USE
    assert got.raw_stop_reason == "stop"
    assert got.message.tool_calls == (call("call_f", "get_weather", '{"city":"Oslo"}'),)


@pytest.mark.parametrize(
    ("name", "stop", "raw", "text"),
    [
        ("length.json", STOP_MAX_TOKENS, "length", "The weather in Par"),
        ("content_filter.json", STOP_CONTENT_FILTER, "content_filter", ""),
        ("refusal.json", STOP_END_TURN, "stop", "I can't help with that."),
    ],
)
def test_response_stop_reasons(name: str, stop: str, raw: str, text: str) -> None:
    got = A.parse_response(body(name))
    assert (got.stop_reason, got.raw_stop_reason, got.message.text) == (stop, raw, text)


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("function_call", STOP_OTHER), ("tool_calls", STOP_OTHER), ("error", STOP_OTHER), (None, STOP_OTHER)],
)
def test_finish_reason_without_calls_never_claims_tool_use(finish: Any, stop: str) -> None:
    data = body("text_only.json")
    data["choices"][0]["finish_reason"] = finish
    got = A.parse_response(data)
    assert (got.stop_reason, got.raw_stop_reason) == (stop, finish)


def test_function_call_finish_with_calls_is_tool_use() -> None:
    data = body("one_call.json")
    data["choices"][0]["finish_reason"] = "function_call"
    assert A.parse_response(data).stop_reason == STOP_TOOL_USE


def test_response_reads_only_choice_index_0() -> None:
    got = A.parse_response(body("multi_choice.json"))
    assert got.message.parts == (TextPart("First answer."),)
    assert got.stop_reason == STOP_END_TURN


def test_response_reasoning_content_is_a_reasoning_part() -> None:
    got = A.parse_response(body("reasoning_content.json"))
    assert got.message.parts == (ReasoningPart("The user wants Paris weather.", ECHO_MARK), TextPart("Sunny."))
    assert got.usage == Usage(10, 30, reasoning_tokens=25)


def test_response_missing_usage_is_zero() -> None:
    data = body("text_only.json")
    del data["usage"]
    assert A.parse_response(data).usage == Usage(0, 0)


def test_response_content_as_text_parts_list() -> None:
    data = body("text_only.json")
    data["choices"][0]["message"]["content"] = [
        {"type": "text", "text": "a"},
        {"type": "image"},
        {"type": "text", "text": "b"},
    ]
    assert A.parse_response(data).message.parts == (TextPart("ab"),)


def test_response_extra_content_round_trips_into_the_next_request() -> None:
    got = A.parse_response(body("gemini_extra_content.json"))
    signature = {"google": {"thought_signature": "EjQKMgEMOdbH+sig/=="}}
    assert got.message.tool_calls == (
        call("function-call-1", "get_weather", '{"city":"Paris"}', {"chat": {"extra_content": signature}}),
    )
    conv = Conversation.start("hi").append(got.message)
    wire = A.build_request(conv, [WEATHER], RequestOptions(model="m")).body["messages"][1]["tool_calls"][0]
    assert wire["extra_content"] == signature


def test_response_missing_call_id_gets_a_unique_one() -> None:
    data = body("one_call.json")
    del data["choices"][0]["message"]["tool_calls"][0]["id"]
    (tc,) = A.parse_response(data).message.tool_calls
    assert CALL_ID.match(tc.id)


def test_response_replays_as_stream_events() -> None:
    got = A.parse_response(body("text_and_calls.json"))
    assert list(replay(got)) == [
        TextDelta("Checking both."),
        ToolCallStarted(0, "call_1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":"Paris"}'),
        ToolCallStarted(1, "call_2", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz":"Europe/Paris"}'),
        ResponseCompleted(got),
    ]


def test_error_inside_a_200_body_is_a_provider_error() -> None:
    with pytest.raises(ServerError) as info:
        A.parse_response(body("error_in_200.json"))
    err = info.value
    assert (err.status, err.error_type, err.protocol, err.endpoint) == (
        500,
        "server_error",
        "chat",
        "/v1/chat/completions",
    )
    assert err.provider_message == "The server had an error while processing your request."


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([1, 2], "response body"),
        ({"choices": {}}, "choices"),
        ({"id": "x"}, "choices"),
        ({"choices": []}, "choices[0]"),
        ({"choices": ["x"]}, "choices[0]"),
        ({"choices": [{"index": 0}]}, "choices[0].message"),
        ({"choices": [{"message": {"content": 5}}]}, "content"),
        ({"choices": [{"message": {"tool_calls": {}}}]}, "tool_calls"),
        ({"choices": [{"message": {"tool_calls": [{"id": "c"}]}}]}, "tool_calls[0].function"),
        ({"choices": [{"message": {"tool_calls": [{"function": {"name": 1}}]}}]}, "function.name"),
        ({"choices": [{"message": {"tool_calls": [{"function": {"name": "n", "arguments": 3}}]}}]}, "arguments"),
    ],
)
def test_misshapen_bodies_are_protocol_violations_naming_the_field(value: Any, field: str) -> None:
    with pytest.raises(ProtocolViolation, match=re.escape(field)):
        A.parse_response(value)


def test_absurdly_nested_arguments_do_not_escape_as_recursion_error() -> None:
    data = body("one_call.json")
    data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "[" * 100_000
    call = A.parse_response(data).message.tool_calls[0]
    assert call.arguments == {}
    assert call.arguments_error is not None and "not valid JSON" in call.arguments_error


# ---------------------------------------------------------------------- parse_stream


def test_stream_text_only(chunking: int | None) -> None:
    events = stream("text_only.sse", chunking)
    assert events[:-1] == [TextDelta("Paris is "), TextDelta("sunny today.")]
    assert final(events) == response(
        TextPart("Paris is sunny today."), stop=STOP_END_TURN, raw="stop", usage=Usage(12, 6), rid="chatcmpl-text"
    )


def test_stream_one_call_with_comment_null_content_and_obfuscation(chunking: int | None) -> None:
    events = stream("one_call.sse", chunking)
    assert events[:-1] == [
        ToolCallStarted(0, "call_1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"ci'),
        ToolCallArgumentsDelta(0, 'ty":"Pa'),
        ToolCallArgumentsDelta(0, 'ris"}'),
    ]
    assert final(events) == response(
        WEATHER_CALL, stop=STOP_TOOL_USE, raw="tool_calls", usage=Usage(80, 20), rid="chatcmpl-one"
    )


def test_stream_parallel_calls_and_quirk_id_only_on_first_fragment(chunking: int | None) -> None:
    events = stream("parallel_calls.sse", chunking)
    assert events[:-1] == [
        TextDelta("Checking both."),
        ToolCallStarted(0, "call_1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":'),
        ToolCallArgumentsDelta(0, '"Paris"}'),
        ToolCallStarted(1, "call_2", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz":"Europe/Paris"}'),
    ]
    # also the text AND tool_calls quirk: both survive, in wire order
    assert final(events) == response(
        TextPart("Checking both."),
        WEATHER_CALL,
        TIME_CALL,
        stop=STOP_TOOL_USE,
        raw="tool_calls",
        usage=Usage(80, 40),
        rid="chatcmpl-1",
    )


def test_stream_crlf_line_endings_give_the_same_result() -> None:
    text = fixture_text("chat/parallel_calls.sse")
    lf = list(A.parse_stream(sse_events(text, 1)))
    crlf = list(A.parse_stream(sse_events(text.replace("\n", "\r\n"), 1)))
    assert crlf == lf


def test_stream_no_argument_calls(chunking: int | None) -> None:
    got = final(stream("no_args.sse", chunking))
    assert got.message.parts == (
        ToolCall("call_a", "get_time", {}, ""),
        ToolCall("call_b", "get_time", {}, "{}"),
        ToolCall("call_c", "get_time", {}, ""),
    )
    assert got.usage == Usage(30, 15)


def test_stream_bad_arguments_are_kept_not_raised(chunking: int | None) -> None:
    first, second = final(stream("bad_args.sse", chunking)).message.tool_calls
    assert (first.id, first.raw_arguments, first.arguments) == ("call_x", '{"city": "Par', {})
    assert first.arguments_error is not None
    assert (second.id, second.raw_arguments, second.arguments) == ("call_y", '["Paris"]', {})
    assert second.arguments_error is not None


def test_quirk_stream_forced_tool_choice_stop_is_still_tool_use(chunking: int | None) -> None:
    got = final(stream("forced_stop.sse", chunking))
    assert (got.stop_reason, got.raw_stop_reason) == (STOP_TOOL_USE, "stop")
    assert got.message.tool_calls == (call("call_f", "get_weather", '{"city":"Oslo"}'),)
    assert got.usage == Usage(50, 10)


def test_quirk_arguments_split_mid_string_mid_escape_and_between_surrogates(chunking: int | None) -> None:
    events = stream("split_escape.sse", chunking)
    assert events[:2] == [TextDelta("Zürich mood: "), TextDelta("\U0001f600!")]
    assert [e.delta for e in events if isinstance(e, ToolCallArgumentsDelta)] == [
        '{"city":"Z\\u0',
        '0fcrich","mo',
        'od":"',  # the high surrogate is held back until its other half arrives
        '\U0001f600"}',
    ]
    got = final(events)
    assert got.message.text == "Zürich mood: \U0001f600!"
    (tc,) = got.message.tool_calls
    assert tc.raw_arguments == '{"city":"Z\\u00fcrich","mood":"\U0001f600"}'
    assert tc.arguments == {"city": "Zürich", "mood": "\U0001f600"}
    assert tc.arguments_error is None


def test_stream_reasoning_content_becomes_reasoning_deltas(chunking: int | None) -> None:
    events = stream("reasoning_content.sse", chunking)
    assert events[:-1] == [ReasoningDelta("The user wants "), ReasoningDelta("Paris weather."), TextDelta("Sunny.")]
    got = final(events)
    assert got.message.parts == (ReasoningPart("The user wants Paris weather.", ECHO_MARK), TextPart("Sunny."))
    assert got.usage == Usage(10, 30, reasoning_tokens=25)
    assert got.model == "deepseek-reasoner"


def test_quirk_reasoning_content_comes_back_on_the_tool_call_turn(chunking: int | None) -> None:
    events = stream("deepseek_thinking_tool.sse", chunking)
    assert events[:-1] == [
        ReasoningDelta("Need the "),
        ReasoningDelta("weather tool."),
        ToolCallStarted(0, "call_00_ds", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":"Paris"}'),
    ]
    got = final(events)
    assert got.message.parts == (
        ReasoningPart("Need the weather tool.", ECHO_MARK),
        call("call_00_ds", "get_weather", '{"city":"Paris"}'),
    )
    conv = Conversation.start("Weather?").append(
        got.message, Message("tool", (ToolResult("call_00_ds", "get_weather", "sunny"),))
    )
    msgs = A.build_request(conv, [WEATHER], RequestOptions(model="deepseek-v4-pro")).body["messages"]
    assert msgs[1] == {
        "role": "assistant",
        "content": None,
        "reasoning_content": "Need the weather tool.",
        "tool_calls": [
            {
                "id": "call_00_ds",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }


def test_reasoning_is_not_echoed_without_tool_calls_or_without_the_marker() -> None:
    text_turn = A.parse_response(body("reasoning_content.json")).message  # marked, but no tool calls
    openrouter = A.parse_response(body("openrouter_reasoning.json")).message  # "reasoning": shown, not marked
    assert openrouter.parts[0] == ReasoningPart("Look it up.")
    conv = Conversation.start("a").append(text_turn, user_text("b"), openrouter)
    msgs = A.build_request(conv, [WEATHER], RequestOptions(model="m")).body["messages"]
    assert msgs[1] == {"role": "assistant", "content": "Sunny."}
    assert set(msgs[3]) == {"role", "content", "tool_calls"}


def test_stream_reads_only_choice_index_0(chunking: int | None) -> None:
    events = stream("multi_choice.sse", chunking)
    assert events[:-1] == [TextDelta("First answer.")]
    got = final(events)
    assert got.message.parts == (TextPart("First answer."),)
    assert (got.stop_reason, got.raw_stop_reason, got.usage) == (STOP_END_TURN, "stop", Usage(10, 9))


def test_quirk_stream_without_index_and_with_extra_content(chunking: int | None) -> None:
    events = stream("gemini_no_index.sse", chunking)
    assert events[:-1] == [
        ToolCallStarted(0, "function-call-1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":"Paris"}'),
        ToolCallStarted(1, "function-call-2", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz":'),
        ToolCallArgumentsDelta(1, '"Europe/Paris"}'),
    ]
    signature = {"google": {"thought_signature": "EjQKMgEMOdbH+sig/=="}}
    assert final(events) == response(
        call("function-call-1", "get_weather", '{"city":"Paris"}', {"chat": {"extra_content": signature}}),
        call("function-call-2", "get_time", '{"tz":"Europe/Paris"}'),
        stop=STOP_TOOL_USE,
        raw="stop",
        usage=Usage(20, 16),
        rid="gem-1",
        model="gemini-3-flash",
    )


def test_quirk_stream_new_id_at_a_reused_index_is_a_new_call(chunking: int | None) -> None:
    got = final(stream("same_index.sse", chunking))
    assert got.message.tool_calls == (
        call("call_p", "get_weather", '{"city":"Paris"}'),
        call("call_q", "get_weather", '{"city":"Rome"}'),
    )


def test_quirk_missing_done_after_finish_reason_is_accepted(chunking: int | None) -> None:
    got = final(stream("no_done.sse", chunking))
    assert got.message.parts == (TextPart("Done here."),)
    assert (got.stop_reason, got.usage) == (STOP_END_TURN, Usage(9, 3))


def test_quirk_missing_done_and_finish_reason_is_a_transport_error(chunking: int | None) -> None:
    with pytest.raises(TransportError, match=r"stream ended before data: \[DONE\]"):
        stream("truncated.sse", chunking)


def test_empty_stream_is_a_transport_error() -> None:
    with pytest.raises(TransportError):
        list(A.parse_stream([]))


def test_done_without_finish_reason_completes_as_other() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    events = list(A.parse_stream([SSEvent(json.dumps(chunk)), SSEvent("[DONE]"), SSEvent("not json")]))
    got = final(events)
    assert (got.message.text, got.stop_reason, got.raw_stop_reason) == ("hi", STOP_OTHER, None)


def test_stream_garbage_data_is_a_protocol_violation(chunking: int | None) -> None:
    with pytest.raises(ProtocolViolation, match="not JSON"):
        stream("garbage.sse", chunking)


@pytest.mark.parametrize(
    "data",
    [
        "[1]",
        '{"choices": 3}',
        '{"choices": [5]}',
        '{"choices": [{"delta": []}]}',
        '{"choices": [{"delta": {"tool_calls": 1}}]}',
    ],
)
def test_stream_misshapen_chunks_are_protocol_violations(data: str) -> None:
    with pytest.raises(ProtocolViolation):
        list(A.parse_stream([SSEvent(data)]))


def test_stream_error_payload_is_a_provider_error(chunking: int | None) -> None:
    seen: list[StreamEvent] = []
    with pytest.raises(ServerError) as info:
        for event in A.parse_stream(sse_events(fixture_text("chat/error_midstream.sse"), chunking)):
            seen.append(event)
    assert seen == [TextDelta("Let me ")]  # what arrived before the error was delivered
    err = info.value
    assert (err.status, err.error_type, err.retryable) == (500, "server_error", None)
    assert "The server had an error" in str(err)
    assert "in-stream" not in str(err)  # a status was inferred from the type


def test_stream_rate_limit_error_maps_to_429(chunking: int | None) -> None:
    with pytest.raises(RateLimitError) as info:
        stream("error_midstream_rate_limit.sse", chunking)
    assert (info.value.status, info.value.error_type) == (429, "requests/rate_limit_exceeded")


def test_stream_router_error_with_numeric_code(chunking: int | None) -> None:
    with pytest.raises(ServerError) as info:
        stream("error_midstream_router.sse", chunking)
    assert (info.value.status, info.value.provider_message) == (502, "Upstream provider returned an error")


def test_stream_insufficient_quota_error_is_not_retryable() -> None:
    data = json.dumps({"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}})
    with pytest.raises(RateLimitError) as info:
        list(A.parse_stream([SSEvent(data)]))
    assert info.value.retryable is False


# ---------------------------------------------------------------------- parse_error


def error_bytes(name: str) -> bytes:
    return (FIXTURES / "chat" / name).read_bytes()


@pytest.mark.parametrize(
    ("status", "name", "cls", "error_type", "message"),
    [
        (400, "error_400.json", ProviderError, "invalid_request_error", "An assistant message with 'tool_calls'"),
        (401, "error_401.json", AuthenticationError, "invalid_request_error/invalid_api_key", "Incorrect API key"),
        (429, "error_429_rate_limit.json", RateLimitError, "requests/rate_limit_exceeded", "Rate limit reached"),
        (429, "error_429_quota.json", RateLimitError, "insufficient_quota", "You exceeded your current quota"),
        (500, "error_500.json", ServerError, "server_error", "The server had an error"),
        (502, "error_502.html", ServerError, None, "502 Bad Gateway 502 Bad Gateway nginx"),
    ],
)
def test_parse_error_shapes(status: int, name: str, cls: type, error_type: str | None, message: str) -> None:
    err = A.parse_error(status, error_bytes(name), {"x-request-id": "req_123"})
    assert type(err) is cls
    assert (err.status, err.error_type, err.request_id) == (status, error_type, "req_123")
    assert (err.protocol, err.endpoint) == ("chat", "/v1/chat/completions")
    assert err.provider_message.startswith(message)
    assert "\n" not in str(err) and "req_123" in str(err)


def test_quirk_insufficient_quota_is_not_retryable() -> None:
    err = A.parse_error(429, error_bytes("error_429_quota.json"), {"retry-after": "20"})
    assert err.retryable is False
    assert A.parse_error(429, error_bytes("error_429_rate_limit.json"), {}).retryable is None


@pytest.mark.parametrize(
    ("status", "name", "header", "expected"),
    [
        (400, "error_400.json", "true", True),
        (500, "error_500.json", "false", False),
        (429, "error_429_quota.json", "true", True),  # the header overrides the quota rule
        (500, "error_500.json", "TRUE", True),
    ],
)
def test_quirk_x_should_retry_header_is_honoured(status: int, name: str, header: str, expected: bool) -> None:
    assert A.parse_error(status, error_bytes(name), {"X-Should-Retry": header}).retryable is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "7"}, 1.5),
        ({"retry-after": "7"}, 7.0),
        ({"Retry-After-Ms": "250"}, 0.25),
        ({}, None),
    ],
)
def test_quirk_retry_after_ms_is_preferred(headers: dict[str, str], expected: float | None) -> None:
    err = A.parse_error(429, error_bytes("error_429_rate_limit.json"), headers)
    assert err.retry_after == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "(empty error body)"),
        (b'{"error": "plain string error"}', "plain string error"),
        (b'{"message": "top-level message"}', "top-level message"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b"[1, 2]", "[1, 2]"),
        (b'{"error": {"code": 404}}', '{"error": {"code": 404}}'),
    ],
)
def test_parse_error_odd_bodies(raw: bytes, message: str) -> None:
    err = A.parse_error(404, raw, {})
    assert err.provider_message == message
    assert err.status == 404

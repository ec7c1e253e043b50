"""The OpenAI Responses adapter against hand-written PROTOCOLS.md §2 shapes (tests/fixtures/responses)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MAX_TOKENS,
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
from crazycall.protocols.assembler import replay
from crazycall.protocols.base import RequestOptions, SSEvent
from crazycall.protocols.openai_responses import ResponsesAdapter
from tests.helpers import fixture_json, fixture_text, sse_events

A = ResponsesAdapter()
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec("get_time", "Time in a zone", {"type": "object", "properties": {"tz": {"type": "string"}}})
TOOLS_JSON = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": False,
    },
    {
        "type": "function",
        "name": "get_time",
        "description": "Time in a zone",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
        "strict": False,
    },
]
USER_ITEM = {"role": "user", "content": [{"type": "input_text", "text": "Weather and time in Paris?"}]}
STATELESS = {"store": False, "include": ["reasoning.encrypted_content"]}


def body(name: str) -> Any:
    return fixture_json(f"responses/{name}")


def stream(name: str) -> list[StreamEvent]:
    """A fixture stream parsed whole and in 1-byte chunks; both must give identical events."""
    text = fixture_text(f"responses/{name}")
    whole = list(A.parse_stream(sse_events(text)))
    bytewise = list(A.parse_stream(sse_events(text, chunk_size=1)))
    assert whole == bytewise
    return whole


def stream_error(name: str, exc: type[CrazycallError]) -> CrazycallError:
    """The error a fixture stream raises, identical whole and in 1-byte chunks."""
    errors = []
    for chunk in (None, 1):
        with pytest.raises(exc) as info:
            list(A.parse_stream(sse_events(fixture_text(f"responses/{name}"), chunk_size=chunk)))
        errors.append(info.value)
    assert str(errors[0]) == str(errors[1])
    return errors[0]


def final(events: list[StreamEvent]) -> ModelResponse:
    assert isinstance(events[-1], ResponseCompleted)
    assert sum(isinstance(e, ResponseCompleted) for e in events) == 1
    return events[-1].response


def completed_response(name: str) -> Any:
    """The `response` object of a fixture stream's terminal event (what a JSON body would have said)."""
    datas = [json.loads(e.data) for e in sse_events(fixture_text(f"responses/{name}")) if e.data != "[DONE]"]
    return datas[-1]["response"]


def pd(item: Any) -> dict[str, Any]:
    return {"responses": {"item": item}}


def events(*pairs: tuple[str, dict[str, Any]]) -> list[SSEvent]:
    return [SSEvent(json.dumps({"type": kind, **data}), kind) for kind, data in pairs]


# ---------------------------------------------------------------- build_request and auth


def test_first_turn_request_exact_json() -> None:
    conv = Conversation.start("Weather and time in Paris?", system="You are terse.")
    req = A.build_request(conv, [WEATHER, TIME], RequestOptions(model="gpt-x"))
    assert (req.path, req.stream, req.query, req.method) == ("/v1/responses", True, {}, "POST")
    assert req.body == {
        "model": "gpt-x",
        "instructions": "You are terse.",
        "input": [USER_ITEM],
        "tools": TOOLS_JSON,
        "tool_choice": "auto",
        **STATELESS,
        "stream": True,
    }


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_time", {"type": "function", "name": "get_time"}),
    ],
)
def test_tool_choice_forms_are_flat(choice: str, wire: Any) -> None:
    req = A.build_request(Conversation.start("hi"), [WEATHER, TIME], RequestOptions("m", tool_choice=choice))
    assert req.body["tool_choice"] == wire


def test_options_parallel_off_max_tokens_temperature_no_stream() -> None:
    opts = RequestOptions("m", stream=False, parallel_tool_calls=False, max_tokens=256, temperature=0.2)
    req = A.build_request(Conversation.start("hi"), [WEATHER], opts)
    assert req.stream is False
    assert req.body == {
        "model": "m",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "tools": TOOLS_JSON[:1],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "max_output_tokens": 256,
        "temperature": 0.2,
        **STATELESS,
    }


def test_no_tools_sends_no_tools_tool_choice_or_parallel_switch() -> None:
    opts = RequestOptions("m", tool_choice="required", parallel_tool_calls=False)
    req = A.build_request(Conversation.start("hi", system=""), [], opts)
    assert req.body == {
        "model": "m",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        **STATELESS,
        "stream": True,
    }


def test_follow_up_turn_echoes_every_item_verbatim_then_results() -> None:
    received = body("parallel_calls.json")
    answer = A.parse_response(received).message
    results = Message(
        "tool",
        (
            ToolResult("call_1", "get_weather", '{"temp_c":18}'),
            ToolResult("call_2", "get_time", "unknown timezone", is_error=True),
        ),
    )
    conv = Conversation.start("Weather and time in Paris?", system="You are terse.").append(answer, results)
    req = A.build_request(conv, [WEATHER, TIME], RequestOptions("m", stream=False))
    assert req.body["instructions"] == "You are terse."  # resent every turn (§2.1)
    assert req.body["input"] == [
        USER_ITEM,
        *received["output"],  # reasoning, message, function_call x2: exactly as received, in order
        {"type": "function_call_output", "call_id": "call_1", "output": '{"temp_c":18}'},
        {"type": "function_call_output", "call_id": "call_2", "output": "ERROR: unknown timezone"},
    ]


def test_quirk_stream_echo_keeps_reasoning_before_its_call_with_encrypted_content() -> None:
    answer = final(stream("reasoning_then_call.sse")).message
    conv = Conversation.start("q").append(answer, Message("tool", (ToolResult("call_9", "get_weather", "18"),)))
    sent = A.build_request(conv, [WEATHER], RequestOptions("m")).body["input"]
    assert [i.get("type") for i in sent] == [None, "reasoning", "function_call", "function_call_output"]
    assert sent[1] == completed_response("reasoning_then_call.sse")["output"][0]
    assert sent[1]["encrypted_content"] == "gAAAAB-opaque-9=="
    assert sent[2]["id"] == "fc_9" and sent[2]["call_id"] == "call_9"


def test_phase_survives_the_echo() -> None:
    answer = A.parse_response(body("text_only.json")).message
    sent = A.build_request(Conversation.start("q").append(answer), [], RequestOptions("m")).body["input"]
    assert sent[1]["phase"] == "final_answer"
    assert sent[1] == body("text_only.json")["output"][0]


def test_parts_from_other_protocols_are_rebuilt_and_foreign_reasoning_dropped() -> None:
    foreign = {"messages": {"signature": "sig"}, "gemini": {"thoughtSignature": "x"}}
    answer = Message(
        "assistant",
        (
            ReasoningPart("thinking...", foreign),
            TextPart("Checking.", foreign),
            ToolCall("toolu_1", "get_weather", {"city": "Paris"}, '{"city":"Paris"}', foreign),
            ToolCall("call_2", "get_time", {}, ""),
        ),
    )
    tool = Message("tool", (ToolResult("toolu_1", "get_weather", "18"), ToolResult("call_2", "get_time", "9")))
    conv = Conversation.start("q").append(answer, tool, user_text("thanks"))
    assert A.build_request(conv, [WEATHER, TIME], RequestOptions("m")).body["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": "q"}]},
        {"role": "assistant", "content": "Checking."},
        {"type": "function_call", "call_id": "toolu_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": ""},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "18"},
        {"type": "function_call_output", "call_id": "call_2", "output": "9"},
        {"role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
    ]


def test_reasoning_item_without_encrypted_content_is_not_echoed() -> None:
    bare = {"type": "reasoning", "id": "rs_1", "summary": []}
    kept = {**bare, "id": "rs_2", "encrypted_content": "gAAAAB-x=="}
    answer = Message("assistant", (ReasoningPart("", pd(bare)), ReasoningPart("", pd(kept)), TextPart("ok")))
    sent = A.build_request(Conversation.start("q").append(answer), [], RequestOptions("m")).body["input"]
    assert sent[1:] == [kept, {"role": "assistant", "content": "ok"}]


def test_a_call_whose_id_no_longer_matches_its_item_is_rebuilt() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}"}
    edited = ToolCall("call_other", "f", {}, "{}", pd(item))
    conv = Conversation.start("q").append(Message("assistant", (edited,)))
    assert A.build_request(conv, [], RequestOptions("m")).body["input"][1] == {
        "type": "function_call",
        "call_id": "call_other",
        "name": "f",
        "arguments": "{}",
    }


def test_auth_is_a_bearer_header() -> None:
    auth = A.auth("sk-test")
    assert (auth.headers, auth.query) == ({"Authorization": "Bearer sk-test"}, {})


# ---------------------------------------------------------------- parse_response


def test_parse_text_only_with_usage() -> None:
    received = body("text_only.json")
    resp = A.parse_response(received)
    assert resp.message == Message("assistant", (TextPart("Paris is sunny, 21 °C.", pd(received["output"][0])),))
    assert (resp.stop_reason, resp.raw_stop_reason) == (STOP_END_TURN, "completed")
    assert (resp.usage, resp.model, resp.response_id) == (Usage(12, 7), "MODEL_ID", "resp_text")
    assert list(replay(resp)) == [TextDelta("Paris is sunny, 21 °C."), ResponseCompleted(resp)]


def test_refusal_counts_as_text() -> None:
    assert A.parse_response(body("refusal.json")).message.text == "I can't help with that."


def test_quirk_reasoning_item_first_then_function_call() -> None:
    received = body("reasoning_then_call.json")
    resp = A.parse_response(received)
    assert resp.message.parts == (
        ReasoningPart("**Weather**\n\nCall the tool.", pd(received["output"][0])),
        ToolCall("call_9", "get_weather", {"city": "Paris"}, '{"city":"Paris"}', pd(received["output"][1])),
    )
    assert (resp.stop_reason, resp.raw_stop_reason) == (STOP_TOOL_USE, "completed")
    assert resp.message.parts[0].provider_data["responses"]["item"]["encrypted_content"] == "gAAAAB-opaque-9=="


def test_parse_two_parallel_calls() -> None:
    received = body("parallel_calls.json")
    resp = A.parse_response(received)
    out = received["output"]
    assert resp.message.parts == (
        ReasoningPart("", pd(out[0])),
        TextPart("Checking both.", pd(out[1])),
        ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city":"Paris"}', pd(out[2])),
        ToolCall("call_2", "get_time", {"tz": "Europe/Paris"}, '{"tz":"Europe/Paris"}', pd(out[3])),
    )
    assert resp.stop_reason == STOP_TOOL_USE
    assert resp.usage == Usage(90, 60, reasoning_tokens=20)


def test_quirk_id_and_call_id_are_never_swapped() -> None:
    calls = A.parse_response(body("parallel_calls.json")).message.tool_calls
    assert [c.id for c in calls] == ["call_1", "call_2"]
    assert [c.provider_data["responses"]["item"]["id"] for c in calls] == ["fc_1", "fc_2"]
    final_calls = final(stream("parallel_calls.sse")).message.tool_calls
    assert [c.id for c in final_calls] == ["call_1", "call_2"]


def test_quirk_no_argument_calls_empty_string_object_or_missing() -> None:
    calls = A.parse_response(body("no_arguments.json")).message.tool_calls
    assert [(c.id, c.arguments, c.raw_arguments, c.arguments_error) for c in calls] == [
        ("call_a", {}, "", None),
        ("call_b", {}, "{}", None),
        ("call_c", {}, "", None),
    ]


def test_arguments_that_are_not_a_json_object_are_kept_not_raised() -> None:
    bad, not_object = A.parse_response(body("bad_arguments.json")).message.tool_calls
    assert (bad.raw_arguments, bad.arguments) == ('{"city": Par', {})
    assert bad.arguments_error is not None and bad.arguments_error.startswith("arguments are not valid JSON")
    assert (not_object.raw_arguments, not_object.arguments) == ('["Paris"]', {})
    assert not_object.arguments_error is not None and "must be a JSON object" in not_object.arguments_error


@pytest.mark.parametrize(
    ("name", "stop", "raw"),
    [
        ("incomplete_max_tokens.json", STOP_MAX_TOKENS, "max_output_tokens"),
        ("incomplete_content_filter.json", STOP_CONTENT_FILTER, "content_filter"),
        ("text_only.json", STOP_END_TURN, "completed"),
        ("parallel_calls.json", STOP_TOOL_USE, "completed"),
    ],
)
def test_stop_reasons(name: str, stop: str, raw: str) -> None:
    resp = A.parse_response(body(name))
    assert (resp.stop_reason, resp.raw_stop_reason) == (stop, raw)


def test_quirk_status_failed_in_a_200_body_is_a_provider_error() -> None:
    with pytest.raises(ServerError) as info:
        A.parse_response(body("failed.json"))
    err = info.value
    assert (err.status, err.error_type, err.provider_message) == (
        500,
        "server_error",
        "The model failed to generate a response.",
    )
    assert (err.protocol, err.endpoint) == ("responses", "/v1/responses")


def test_error_envelope_in_a_200_body_is_a_provider_error() -> None:
    with pytest.raises(RateLimitError) as info:
        A.parse_response(body("error_429_rate_limit.json"))
    assert (info.value.status, info.value.error_type) == (429, "requests")


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ([1, 2], "the response body"),
        ({"status": "completed"}, "no output list"),
        ({"status": "completed", "output": [3]}, "output[0]"),
        ({"status": "completed", "output": [{"type": "function_call", "id": "fc_1", "name": "f"}]}, "call_id"),
        ({"status": 7, "output": []}, "status"),
    ],
)
def test_bodies_not_shaped_like_the_protocol_name_the_field(value: Any, where: str) -> None:
    with pytest.raises(ProtocolViolation, match=None) as info:
        A.parse_response(value)
    assert where in str(info.value)


def test_unknown_output_items_are_ignored() -> None:
    received = body("text_only.json")
    received["output"].insert(0, {"type": "web_search_call", "id": "ws_1", "status": "completed"})
    assert A.parse_response(received).message.text == "Paris is sunny, 21 °C."


# ---------------------------------------------------------------- parse_stream


def test_stream_text_only_ignores_comments_unknown_events_and_done() -> None:
    evs = stream("text_only.sse")
    assert evs[:-1] == [TextDelta("Paris is "), TextDelta("sunny, 21 "), TextDelta("°C 😀.")]
    resp = final(evs)
    item = completed_response("text_only.sse")["output"][0]
    assert resp.message.parts == (TextPart("Paris is sunny, 21 °C 😀.", pd(item)),)
    assert (resp.usage, resp.model, resp.response_id, resp.stop_reason) == (
        Usage(12, 7),
        "MODEL_ID",
        "resp_text",
        STOP_END_TURN,
    )


def test_stream_two_parallel_calls_events_in_order() -> None:
    evs = stream("parallel_calls.sse")
    assert evs[:-1] == [
        TextDelta("Checking "),
        TextDelta("both."),
        ToolCallStarted(0, "call_1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":'),
        ToolCallArgumentsDelta(0, '"Paris"}'),
        ToolCallStarted(1, "call_2", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz":"Eur'),
        ToolCallArgumentsDelta(1, 'ope/Paris"}'),
    ]
    assert final(evs).stop_reason == STOP_TOOL_USE


@pytest.mark.parametrize(
    "name", ["text_only.sse", "parallel_calls.sse", "reasoning_then_call.sse", "incomplete.sse", "no_arguments.sse"]
)
def test_stream_and_json_body_agree(name: str) -> None:
    # The terminal event's response is what a non-streamed call would have returned.
    assert final(stream(name)) == A.parse_response(completed_response(name))


def test_quirk_stream_reasoning_first_then_call() -> None:
    evs = stream("reasoning_then_call.sse")
    assert evs[:-1] == [
        ReasoningDelta("**Wea"),
        ReasoningDelta("ther**"),
        ReasoningDelta("\n\nCall the "),
        ReasoningDelta("tool."),
        ToolCallStarted(0, "call_9", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":'),
        ToolCallArgumentsDelta(0, '"Paris"}'),
    ]
    reasoning, call = final(evs).message.parts
    assert isinstance(reasoning, ReasoningPart) and reasoning.text == "**Weather**\n\nCall the tool."
    assert reasoning.provider_data["responses"]["item"]["encrypted_content"] == "gAAAAB-opaque-9=="
    assert isinstance(call, ToolCall) and (call.id, call.arguments) == ("call_9", {"city": "Paris"})


def test_quirk_item_echo_uses_the_done_copy_not_the_added_copy() -> None:
    reasoning, call = final(stream("done_not_added.sse")).message.parts
    assert isinstance(reasoning, ReasoningPart) and isinstance(call, ToolCall)
    assert reasoning.provider_data == pd(
        {
            "type": "reasoning",
            "id": "rs_d",
            "summary": [{"type": "summary_text", "text": "Think."}],
            "encrypted_content": "gAAAAB-from-done==",
        }
    )
    assert call.provider_data == pd(
        {
            "type": "function_call",
            "id": "fc_d",
            "call_id": "call_d",
            "name": "get_weather",
            "arguments": '{"city":"Oslo"}',
            "status": "completed",
        }
    )


def test_final_output_of_response_completed_wins_over_item_done() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}"}
    later = {**item, "arguments": '{"a":1}', "status": "completed"}
    sse = events(
        ("response.output_item.added", {"output_index": 0, "item": {**item, "arguments": ""}}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": {"status": "completed", "output": [later]}}),
    )
    (call,) = final(list(A.parse_stream(sse))).message.parts
    assert call == ToolCall("call_1", "f", {"a": 1}, '{"a":1}', pd(later))


def test_final_arguments_come_from_arguments_done() -> None:
    # a fragment went missing on the way; .done carries the complete string and wins
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}
    sse = events(
        ("response.output_item.added", {"output_index": 0, "item": item}),
        ("response.function_call_arguments.delta", {"output_index": 0, "delta": '{"a":'}),
        ("response.function_call_arguments.done", {"output_index": 0, "arguments": '{"a":2}'}),
        ("response.completed", {"response": {"status": "completed"}}),
    )
    (call,) = final(list(A.parse_stream(sse))).message.parts
    assert call == ToolCall("call_1", "f", {"a": 2}, '{"a":2}')


def test_router_relaying_only_the_final_response() -> None:
    evs = stream("only_completed.sse")
    assert evs[:-1] == [
        TextDelta("Checking both."),
        ToolCallStarted(0, "call_1", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":"Paris"}'),
        ToolCallStarted(1, "call_2", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz":"Europe/Paris"}'),
    ]
    assert final(evs) == A.parse_response(body("parallel_calls.json"))


def test_stream_no_argument_calls() -> None:
    evs = stream("no_arguments.sse")
    assert evs[:-1] == [
        ToolCallStarted(0, "call_a", "now"),
        ToolCallStarted(1, "call_b", "now"),
        ToolCallArgumentsDelta(1, "{}"),
    ]
    calls = final(evs).message.tool_calls
    assert [(c.arguments, c.raw_arguments, c.arguments_error) for c in calls] == [({}, "", None), ({}, "{}", None)]


def test_stream_bad_arguments_are_kept() -> None:
    (call,) = final(stream("bad_arguments.sse")).message.tool_calls
    assert (call.raw_arguments, call.arguments) == ('{"city": Par', {})
    assert call.arguments_error is not None and call.arguments_error.startswith("arguments are not valid JSON")


def test_arguments_and_text_split_inside_escapes_and_surrogate_pairs() -> None:
    evs = stream("split_arguments.sse")
    assert [e for e in evs if isinstance(e, TextDelta)] == [TextDelta("smile "), TextDelta("😀!")]
    resp = final(evs)
    (text, call) = resp.message.parts
    assert text == TextPart("smile 😀!") and isinstance(call, ToolCall)
    assert call.raw_arguments == '{"t":"caf\\u00e9 \\ud83d\\ude00","e":"😀"}'
    assert (call.arguments, call.arguments_error, call.provider_data) == ({"t": "café 😀", "e": "😀"}, None, {})


def test_stream_incomplete_is_max_tokens() -> None:
    resp = final(stream("incomplete.sse"))
    assert (resp.stop_reason, resp.raw_stop_reason, resp.message.text) == (
        STOP_MAX_TOKENS,
        "max_output_tokens",
        "The weather in",
    )


def test_quirk_response_failed_event() -> None:
    err = stream_error("failed.sse", ServerError)
    assert isinstance(err, ServerError)
    assert (err.status, err.error_type, err.provider_message) == (
        500,
        "server_error",
        "The model failed to generate a response.",
    )


def test_quirk_error_event_after_partial_output() -> None:
    seen: list[StreamEvent] = []
    with pytest.raises(RateLimitError) as info:
        seen.extend(A.parse_stream(sse_events(fixture_text("responses/error_event.sse"))))
    assert (info.value.status, info.value.error_type) == (429, "rate_limit_exceeded")
    assert info.value.provider_message == "Rate limit reached for requests."
    assert stream_error("error_event.sse", RateLimitError).message == info.value.message


def test_nested_error_event_out_of_quota_is_not_retryable() -> None:
    err = {"type": "insufficient_quota", "code": "insufficient_quota", "message": "You exceeded your quota."}
    with pytest.raises(RateLimitError) as info:
        list(A.parse_stream(events(("error", {"error": err}))))
    assert (info.value.retryable, info.value.error_type, info.value.provider_message) == (
        False,
        "insufficient_quota",
        "You exceeded your quota.",
    )


def test_truncated_stream_is_a_transport_error() -> None:
    err = stream_error("truncated.sse", TransportError)
    assert "stream ended before response.completed" in str(err)


def test_garbage_data_is_a_protocol_violation() -> None:
    err = stream_error("garbage.sse", ProtocolViolation)
    assert "not JSON" in str(err)


@pytest.mark.parametrize(
    ("sse", "message"),
    [
        ([SSEvent("[1, 2]", "response.output_text.delta")], "not a JSON object"),
        (events(("response.output_text.delta", {"delta": "x"})), "output_index"),
        (events(("response.function_call_arguments.delta", {"output_index": 0, "delta": "{"})), "never started"),
        (events(("response.completed", {"response": "done"})), "response.completed.response"),
    ],
)
def test_stream_data_not_shaped_like_the_protocol(sse: list[SSEvent], message: str) -> None:
    with pytest.raises(ProtocolViolation) as info:
        list(A.parse_stream(sse))
    assert message in str(info.value)


def test_type_in_data_is_trusted_and_event_name_is_the_fallback() -> None:
    added = {"output_index": 0, "item": {"type": "message", "id": "m", "role": "assistant", "content": []}}
    sse = [
        SSEvent(json.dumps({"type": "response.output_item.added", **added})),  # data-only SSE: event "message"
        SSEvent(json.dumps({"output_index": 0, "delta": "Hi"}), "response.output_text.delta"),  # no type
        SSEvent("[DONE]", "message"),
        SSEvent(json.dumps({"type": "response.completed", "response": {"status": "completed"}}), "bogus"),
    ]
    evs = list(A.parse_stream(sse))
    assert evs == [TextDelta("Hi"), ResponseCompleted(final(evs))]
    assert final(evs).message.parts == (TextPart("Hi"),)


# ---------------------------------------------------------------- parse_error


@pytest.mark.parametrize(
    ("status", "name", "cls", "error_type", "message"),
    [
        (400, "error_400.json", ProviderError, "invalid_request_error", "Invalid schema for function"),
        (401, "error_401.json", AuthenticationError, "invalid_request_error", "Incorrect API key provided."),
        (429, "error_429_rate_limit.json", RateLimitError, "requests", "Rate limit reached for requests."),
        (429, "error_429_quota.json", RateLimitError, "insufficient_quota", "You exceeded your current quota"),
        (500, "error_500.json", ServerError, "server_error", "The server had an error"),
    ],
)
def test_parse_error_shapes(status: int, name: str, cls: type[ProviderError], error_type: str, message: str) -> None:
    raw = fixture_text(f"responses/{name}").encode()
    err = A.parse_error(status, raw, {"x-request-id": "req_123"})
    assert type(err) is cls
    assert (err.status, err.error_type, err.request_id) == (status, error_type, "req_123")
    assert err.provider_message.startswith(message)
    assert (err.protocol, err.endpoint) == ("responses", "/v1/responses")
    assert str(err).startswith(f"responses /v1/responses: HTTP {status} {error_type}: {message}")


def test_parse_error_retry_headers() -> None:
    raw = fixture_text("responses/error_429_rate_limit.json").encode()
    assert A.parse_error(429, raw, {"Retry-After-Ms": "1500", "retry-after": "9"}).retry_after == 1.5
    assert A.parse_error(429, raw, {"retry-after": "7"}).retry_after == 7.0
    assert A.parse_error(429, raw, {}).retry_after is None


def test_out_of_quota_is_not_retryable_unless_the_server_says_so() -> None:
    raw = fixture_text("responses/error_429_quota.json").encode()
    assert A.parse_error(429, raw, {}).retryable is False
    assert A.parse_error(429, raw, {"x-should-retry": "true"}).retryable is True
    assert A.parse_error(429, fixture_text("responses/error_429_rate_limit.json").encode(), {}).retryable is None


def test_parse_error_non_json_bodies() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 1000 + b"</body></html>"
    err = A.parse_error(502, html, {})
    assert type(err) is ServerError and err.error_type is None
    assert err.provider_message.startswith("<html><body><h1>502 Bad Gateway</h1>")
    assert len(err.provider_message) <= 300
    assert A.parse_error(503, b"", {}).provider_message == "(empty body)"
    assert A.parse_error(400, b'{"error": "bad model"}', {}).provider_message == "bad model"


@pytest.mark.parametrize(
    ("model", "include"),
    [("gpt-5.4", True), ("o4-mini", True), ("gpt-4o", False), ("gpt-4.1-mini", False), ("gpt-5-chat-latest", False)],
)
def test_encrypted_reasoning_is_requested_only_where_models_accept_it(model: str, include: bool) -> None:
    body = A.build_request(Conversation.start("hi"), [WEATHER], RequestOptions(model)).body
    assert body["store"] is False
    assert ("include" in body) is include

"""The Gemini native adapter: requests compared to exact JSON, bodies and streams (whole and 1-byte chunks),
the echo of thought signatures and call ids, error bodies, and hostile input (PROTOCOLS.md §4)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MALFORMED_TOOL_CALL,
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
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from crazycall.protocols import get_adapter
from crazycall.protocols.assembler import replay
from crazycall.protocols.base import Auth, ProtocolAdapter, RequestOptions, SSEvent
from crazycall.protocols.gemini_native import GeminiAdapter
from tests.helpers import fixture_json, fixture_text, sse_events, sse_from_fixture

ADAPTER = GeminiAdapter()
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
TIME = ToolSpec("get_time", "Current time in a zone", {"type": "object", "properties": {"tz": {"type": "string"}}})
LIST_FILES = ToolSpec("list_files", "Files in the project", {"type": "object", "properties": {}})
TOOLS = (WEATHER, TIME)
WEATHER_DECL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
}
TIME_DECL = {
    "name": "get_time",
    "description": "Current time in a zone",
    "parameters": {"type": "OBJECT", "properties": {"tz": {"type": "STRING"}}},
}
SYNTHETIC = re.compile(r"^gemini-call-[0-9a-f]{32}$")


def opts(**kw: Any) -> RequestOptions:
    return RequestOptions(**{"model": "gemini-2.5-flash", "stream": False, **kw})


def stable(events: list[Any]) -> list[Any]:
    """Replace synthesized call ids (random) by gemini-call-0, -1, ... in order of appearance."""
    names: dict[str, str] = {}

    def fix(call_id: str) -> str:
        if not SYNTHETIC.match(call_id):
            return call_id
        return names.setdefault(call_id, f"gemini-call-{len(names)}")

    out: list[Any] = []
    for event in events:
        if isinstance(event, ToolCallStarted):
            event = replace(event, id=fix(event.id))
        elif isinstance(event, ResponseCompleted):
            parts = tuple(
                replace(p, id=fix(p.id)) if isinstance(p, ToolCall) else p for p in event.response.message.parts
            )
            message = replace(event.response.message, parts=parts)
            event = ResponseCompleted(replace(event.response, message=message))
        out.append(event)
    return out


def stream(name: str) -> list[Any]:
    """Parse a fixture stream fed whole and fed 1 byte at a time; both must give the same events."""
    whole = stable(list(ADAPTER.parse_stream(sse_from_fixture(f"gemini/{name}"))))
    bytewise = stable(list(ADAPTER.parse_stream(sse_from_fixture(f"gemini/{name}", chunk_size=1))))
    assert whole == bytewise
    return whole


def body(name: str) -> ModelResponse:
    return ADAPTER.parse_response(fixture_json(f"gemini/{name}"))


def raises_streaming(name: str, error: type[Exception]) -> tuple[list[Any], Any]:
    """Events yielded before the stream raised, and the exception (checked whole and 1-byte chunked)."""
    seen: list[list[Any]] = []
    caught: list[Any] = []
    for size in (None, 1):
        events: list[Any] = []
        with pytest.raises(error) as info:
            for event in ADAPTER.parse_stream(sse_from_fixture(f"gemini/{name}", chunk_size=size)):
                events.append(event)
        seen.append(events)
        caught.append(info.value)
    assert seen[0] == seen[1]
    assert str(caught[0]) == str(caught[1])
    return seen[0], caught[0]


# ---------------------------------------------------------------- the adapter's place


def test_adapter_is_registered_and_fits_the_interface() -> None:
    adapter: ProtocolAdapter = get_adapter("gemini")
    assert isinstance(adapter, GeminiAdapter)
    assert GeminiAdapter.name == "gemini"


def test_auth_uses_the_key_query_parameter() -> None:
    assert ADAPTER.auth("AIza-secret") == Auth(headers={}, query={"key": "AIza-secret"})


# ---------------------------------------------------------------- build_request: first turn


def test_first_turn_request_is_exact() -> None:
    conv = Conversation.start("Weather and time in Paris?", system="You are terse.")
    req = ADAPTER.build_request(conv, TOOLS, opts(max_tokens=1024, temperature=0.2))
    assert req.method == "POST"
    assert req.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.query == {}
    assert req.headers == {}
    assert req.stream is False
    assert req.body == {
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "Weather and time in Paris?"}]}],
        "tools": [{"functionDeclarations": [WEATHER_DECL, TIME_DECL]}],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {"maxOutputTokens": 1024, "temperature": 0.2},
    }
    assert "model" not in json.dumps(req.body)  # the model is in the path only (§0)


def test_streaming_request_uses_stream_method_and_alt_sse() -> None:
    req = ADAPTER.build_request(Conversation.start("hi"), (), opts(stream=True))
    assert req.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert req.query == {"alt": "sse"}
    assert req.stream is True
    assert req.body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_model_is_quoted_as_one_path_segment() -> None:
    req = ADAPTER.build_request(Conversation.start("hi"), (), opts(model="tuned/../x:y z"))
    assert req.path == "/v1beta/models/tuned%2F..%2Fx%3Ay%20z:generateContent"


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ("get_time", {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ],
)
def test_tool_choice_forms(choice: str, config: dict[str, Any]) -> None:
    req = ADAPTER.build_request(Conversation.start("hi"), TOOLS, opts(tool_choice=choice))
    assert req.body["toolConfig"] == {"functionCallingConfig": config}
    assert req.body["tools"] == [{"functionDeclarations": [WEATHER_DECL, TIME_DECL]}]


def test_no_tools_means_no_tools_and_no_tool_config() -> None:
    req = ADAPTER.build_request(Conversation.start("hi"), (), opts(tool_choice="required"))
    assert req.body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_parallel_off_has_no_wire_switch() -> None:
    on = ADAPTER.build_request(Conversation.start("hi"), TOOLS, opts())
    off = ADAPTER.build_request(Conversation.start("hi"), TOOLS, opts(parallel_tool_calls=False))
    assert off.body == on.body


def test_tool_without_properties_sends_no_parameters() -> None:
    req = ADAPTER.build_request(Conversation.start("hi"), (LIST_FILES,), opts())
    assert req.body["tools"] == [
        {"functionDeclarations": [{"name": "list_files", "description": "Files in the project"}]}
    ]


# ---------------------------------------------------------------- build_request: follow-up turns (echo)


def follow_up(response: ModelResponse, *results: ToolResult) -> list[dict[str, Any]]:
    conv = Conversation.start("Weather and time in Paris?").append(response.message)
    if results:
        conv = conv.append(Message("tool", results))
    contents: list[dict[str, Any]] = ADAPTER.build_request(conv, TOOLS, opts()).body["contents"]
    return contents


def test_follow_up_echoes_model_turn_exactly_and_sends_one_user_turn_of_results() -> None:
    response = body("parallel_calls.json")
    weather, time = response.message.tool_calls
    contents = follow_up(
        response,
        ToolResult(weather.id, "get_weather", '{"temp_c": 18, "sky": "cloudy"}'),
        ToolResult(time.id, "get_time", "unknown timezone", is_error=True),
    )
    assert contents == [
        {"role": "user", "parts": [{"text": "Weather and time in Paris?"}]},
        fixture_json("gemini/parallel_calls.json")["candidates"][0]["content"],
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": {"temp_c": 18, "sky": "cloudy"}}}},
                {"functionResponse": {"name": "get_time", "response": {"error": "unknown timezone"}}},
            ],
        },
    ]


def test_quirk_call_without_id_gets_a_synthesized_id_that_is_never_sent() -> None:
    response = body("parallel_calls.json")
    ids = [call.id for call in response.message.tool_calls]
    assert all(SYNTHETIC.match(i) for i in ids)
    assert len(set(ids)) == 2
    assert [call.provider_data["gemini"]["syntheticId"] for call in response.message.tool_calls] == [True, True]
    sent = json.dumps(follow_up(response, *(ToolResult(i, "x", "1") for i in ids)))
    assert "gemini-call-" not in sent
    assert '"id"' not in sent


def test_quirk_call_with_wire_id_is_echoed_on_call_and_response() -> None:
    response = body("call_with_id.json")
    (call,) = response.message.tool_calls
    assert call.id == "fc-7f3a"
    assert call.provider_data == {"gemini": {"id": "fc-7f3a", "thoughtSignature": "c2lnLW9zbG8="}}
    contents = follow_up(response, ToolResult("fc-7f3a", "get_weather", "sunny"))
    assert contents[1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "fc-7f3a"},
                    "thoughtSignature": "c2lnLW9zbG8=",
                }
            ],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_weather", "id": "fc-7f3a", "response": {"output": "sunny"}}}],
        },
    ]


def test_quirk_signature_only_on_first_of_two_parallel_calls_stays_there() -> None:
    response = body("parallel_calls.json")
    first, second = response.message.tool_calls
    assert first.provider_data["gemini"]["thoughtSignature"] == "CiQBVKhc+sig/first=="
    assert "thoughtSignature" not in second.provider_data["gemini"]
    model_parts = follow_up(response)[1]["parts"]
    assert [p.get("thoughtSignature") for p in model_parts] == [None, "CiQBVKhc+sig/first==", None]


def test_quirk_signature_on_trailing_empty_text_part_is_kept_and_echoed() -> None:
    *_, done = stream("signature_trailing.sse")
    parts = done.response.message.parts
    assert parts == (
        TextPart("The answer is 42."),
        TextPart("", {"gemini": {"thoughtSignature": "ZW1wdHktdGV4dC1zaWc="}}),
    )
    assert follow_up(done.response)[1] == {
        "role": "model",
        "parts": [{"text": "The answer is 42."}, {"text": "", "thoughtSignature": "ZW1wdHktdGV4dC1zaWc="}],
    }


def test_quirk_thought_parts_become_reasoning_and_are_echoed_unchanged() -> None:
    response = body("thoughts.json")
    assert response.message.parts == (
        ReasoningPart("**Weighing units** The user wants Celsius.", {"gemini": {"thought": True}}),
        TextPart("It is 18°C in Paris.", {"gemini": {"thoughtSignature": "dGV4dC1zaWduYXR1cmU="}}),
    )
    assert response.message.text == "It is 18°C in Paris."
    assert follow_up(response)[1] == fixture_json("gemini/thoughts.json")["candidates"][0]["content"]


@pytest.mark.parametrize(
    ("content", "is_error", "response"),
    [
        ('{"temp_c": 18}', False, {"output": {"temp_c": 18}}),
        ("42", False, {"output": 42}),
        ("[1, 2]", False, {"output": [1, 2]}),
        ('"quoted"', False, {"output": "quoted"}),
        ("null", False, {"output": None}),
        ("plain words", False, {"output": "plain words"}),
        ("NaN", False, {"output": "NaN"}),
        ("", False, {"output": ""}),
        ('{"reason": "boom"}', True, {"error": {"reason": "boom"}}),
        ("Traceback: boom", True, {"error": "Traceback: boom"}),
    ],
)
def test_quirk_results_are_wrapped_in_an_object(content: str, is_error: bool, response: dict[str, Any]) -> None:
    call = ToolCall("gemini-call-1", "get_weather", {}, "{}", {"gemini": {"syntheticId": True}})
    conv = Conversation.start("q").append(Message("assistant", (call,)))
    conv = conv.append(Message("tool", (ToolResult(call.id, "get_weather", content, is_error),)))
    contents = ADAPTER.build_request(conv, TOOLS, opts()).body["contents"]
    assert contents[2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": response}}],
    }


def test_other_protocols_provider_data_is_ignored() -> None:
    """A conversation resumed from another protocol: foreign data never reaches the Gemini wire."""
    assistant = Message(
        "assistant",
        (
            ReasoningPart("thinking...", {"messages": {"type": "thinking", "signature": "anthropic-sig"}}),
            TextPart("Let me check.", {"responses": {"id": "msg_1", "type": "message"}}),
            ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city":"Paris"}', {"responses": {"id": "fc_1"}}),
            ToolCall("call_2", "get_time", {}, "", {"chat": {"index": 1}}),
        ),
    )
    results = Message("tool", (ToolResult("call_1", "get_weather", "18"), ToolResult("call_2", "get_time", "noon")))
    conv = Conversation.start("Weather?").append(assistant, results, user_text("Thanks"))
    contents = ADAPTER.build_request(conv, TOOLS, opts()).body["contents"]
    assert contents == [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Let me check."},
                # Google's documented stand-in for a call the model never signed (§4.3), once per turn.
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "skip_thought_signature_validator",
                },
                {"functionCall": {"name": "get_time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": 18}}},
                {"functionResponse": {"name": "get_time", "response": {"output": "noon"}}},
            ],
        },
        {"role": "user", "parts": [{"text": "Thanks"}]},
    ]


def test_empty_turns_and_unsigned_empty_text_are_left_out() -> None:
    blocked = body("blocked.json")
    assert blocked.message.parts == ()
    conv = Conversation.start("q").append(blocked.message, Message("assistant", (TextPart(""),)), user_text("again"))
    contents = ADAPTER.build_request(conv, (), opts()).body["contents"]
    assert contents == [{"role": "user", "parts": [{"text": "q"}]}, {"role": "user", "parts": [{"text": "again"}]}]


# ---------------------------------------------------------------- parse_response


def test_text_only_response() -> None:
    response = body("text.json")
    assert response == ModelResponse(
        message=Message("assistant", (TextPart("Paris is sunny, 18°C."),)),
        stop_reason=STOP_END_TURN,
        usage=Usage(12, 6),
        model="gemini-2.5-flash",
        response_id="r-text",
        raw_stop_reason="STOP",
    )
    assert list(replay(response)) == [TextDelta("Paris is sunny, 18°C."), ResponseCompleted(response)]


def test_two_parallel_calls_response() -> None:
    response = body("parallel_calls.json")
    weather, time = response.message.tool_calls
    assert response.message.parts[0] == TextPart("Checking both.")
    assert len(response.message.parts) == 3
    assert weather == ToolCall(
        weather.id,
        "get_weather",
        {"city": "Paris"},
        '{"city":"Paris"}',
        {"gemini": {"syntheticId": True, "thoughtSignature": "CiQBVKhc+sig/first=="}},
    )
    assert time == ToolCall(
        time.id, "get_time", {"tz": "Europe/Paris"}, '{"tz":"Europe/Paris"}', {"gemini": {"syntheticId": True}}
    )
    # finishReason is STOP, but calls mean tool_use (§4.2); thinking tokens count as output.
    assert (response.stop_reason, response.raw_stop_reason) == (STOP_TOOL_USE, "STOP")
    assert response.usage == Usage(90, 60, reasoning_tokens=20)
    assert (response.model, response.response_id) == ("gemini-3-pro-preview", "r-1")


def test_quirk_args_missing_or_empty_is_an_empty_object() -> None:
    response = body("no_args.json")
    listed, timed = response.message.tool_calls
    assert (listed.name, listed.arguments, listed.raw_arguments, listed.arguments_error) == (
        "list_files",
        {},
        "{}",
        None,
    )
    assert (timed.name, timed.arguments, timed.raw_arguments, timed.arguments_error) == ("get_time", {}, "{}", None)


def test_arguments_that_are_not_an_object_are_kept_with_an_error() -> None:
    (call,) = body("bad_args.json").message.tool_calls
    assert call.raw_arguments == '"{city: Paris"'
    assert call.arguments == {}
    assert call.arguments_error is not None
    assert call.arguments_error.startswith("arguments must be a JSON object, got str")


@pytest.mark.parametrize(
    ("name", "stop", "raw"),
    [
        ("text.json", STOP_END_TURN, "STOP"),
        ("max_tokens.json", STOP_MAX_TOKENS, "MAX_TOKENS"),
        ("safety.json", STOP_CONTENT_FILTER, "SAFETY"),
        (
            "malformed_call.json",
            STOP_MALFORMED_TOOL_CALL,
            "MALFORMED_FUNCTION_CALL (Malformed function call: print(default_api.get_weather(city='Paris')",
        ),
    ],
)
def test_stop_reasons(name: str, stop: str, raw: str) -> None:
    response = body(name)
    assert (response.stop_reason, response.raw_stop_reason) == (stop, raw)


@pytest.mark.parametrize(
    ("reason", "stop"),
    [
        ("RECITATION", STOP_CONTENT_FILTER),
        ("BLOCKLIST", STOP_CONTENT_FILTER),
        ("PROHIBITED_CONTENT", STOP_CONTENT_FILTER),
        ("SPII", STOP_CONTENT_FILTER),
        ("LANGUAGE", STOP_OTHER),
        ("SOMETHING_NEW", STOP_OTHER),
    ],
)
def test_other_finish_reasons(reason: str, stop: str) -> None:
    response = ADAPTER.parse_response({"candidates": [{"finishReason": reason}]})
    assert (response.stop_reason, response.raw_stop_reason, response.message.parts) == (stop, reason, ())


def test_safety_stop_without_content_is_an_empty_message() -> None:
    response = body("safety.json")
    assert response.message == Message("assistant", ())
    assert response.usage == Usage(15, 0)


def test_quirk_blocked_prompt() -> None:
    response = body("blocked.json")
    assert response == ModelResponse(
        message=Message("assistant", ()),
        stop_reason=STOP_CONTENT_FILTER,
        usage=Usage(7, 0),
        model="gemini-2.5-flash",
        response_id="r-blocked",
        raw_stop_reason="blockReason: PROHIBITED_CONTENT",
    )


def test_error_inside_a_200_body_is_a_provider_error() -> None:
    with pytest.raises(RateLimitError) as info:
        ADAPTER.parse_response(fixture_json("gemini/error_429.json"))
    assert (info.value.status, info.value.error_type, info.value.retry_after) == (429, "RESOURCE_EXHAUSTED", 17.0)
    with pytest.raises(ServerError):
        ADAPTER.parse_response(fixture_json("gemini/error_overloaded_array.json"))


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("not an object", "the response"),
        ([], "the response"),
        ({"candidates": "x"}, "candidates is not a list"),
        ({"candidates": [7]}, "candidates[0]"),
        ({"candidates": [{"content": []}]}, "candidates[0].content"),
        ({"candidates": [{"content": {"parts": {"text": "x"}}}]}, "candidates[0].content.parts"),
        ({"candidates": [{"content": {"parts": ["x"]}}]}, "candidates[0].content.parts[0]"),
        ({"candidates": [{"content": {"parts": [{"text": 5}]}}]}, "text is not a string"),
        ({"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}, "functionCall.name"),
        ({"candidates": [{"content": {"parts": [{"functionCall": "f"}]}}]}, "functionCall"),
        ({"candidates": [{"finishReason": 1}]}, "finishReason"),
        ({"usageMetadata": []}, "usageMetadata"),
        ({"promptFeedback": "no"}, "promptFeedback"),
    ],
)
def test_malformed_bodies_are_protocol_violations(value: Any, field: str) -> None:
    with pytest.raises(ProtocolViolation) as info:
        ADAPTER.parse_response(value)
    assert field in str(info.value)
    assert str(info.value).startswith("gemini: ")


# ---------------------------------------------------------------- parse_stream


def test_stream_text_only() -> None:
    events = stream("text.sse")
    assert events == [
        TextDelta("Paris is "),
        TextDelta("sunny, "),
        TextDelta("18°C."),
        ResponseCompleted(
            ModelResponse(
                message=Message("assistant", (TextPart("Paris is sunny, 18°C."),)),
                stop_reason=STOP_END_TURN,
                usage=Usage(12, 6),
                model="gemini-2.5-flash",
                response_id="r-text",
                raw_stop_reason="STOP",
            )
        ),
    ]


def test_stream_with_crlf_line_endings_gives_the_same_events() -> None:
    crlf = fixture_text("gemini/text.sse").replace("\n", "\r\n")
    for size in (None, 1):
        assert list(ADAPTER.parse_stream(sse_events(crlf, chunk_size=size))) == stream("text.sse")


def test_stream_two_parallel_calls() -> None:
    events = stream("parallel_calls.sse")
    assert events[:6] == [
        TextDelta("Checking"),
        TextDelta(" both."),
        ToolCallStarted(0, "gemini-call-0", "get_weather"),
        ToolCallArgumentsDelta(0, '{"city":"Paris"}'),
        ToolCallStarted(1, "gemini-call-1", "get_time"),
        ToolCallArgumentsDelta(1, '{"tz":"Europe/Paris"}'),
    ]
    (done,) = events[6:]
    assert done.response == ModelResponse(
        message=Message(
            "assistant",
            (
                TextPart("Checking both."),
                ToolCall(
                    "gemini-call-0",
                    "get_weather",
                    {"city": "Paris"},
                    '{"city":"Paris"}',
                    {"gemini": {"syntheticId": True, "thoughtSignature": "CiQBVKhc+sig/first=="}},
                ),
                ToolCall(
                    "gemini-call-1",
                    "get_time",
                    {"tz": "Europe/Paris"},
                    '{"tz":"Europe/Paris"}',
                    {"gemini": {"syntheticId": True}},
                ),
            ),
        ),
        stop_reason=STOP_TOOL_USE,
        usage=Usage(90, 60, reasoning_tokens=20),
        model="gemini-3-pro-preview",
        response_id="r-1",
        raw_stop_reason="STOP",
    )


def test_stream_and_body_echo_the_same_model_turn() -> None:
    *_, done = stream("parallel_calls.sse")
    assert follow_up(done.response)[1] == fixture_json("gemini/parallel_calls.json")["candidates"][0]["content"]


def test_stream_one_call_with_wire_id() -> None:
    events = stream("call_with_id.sse")
    assert events[:2] == [ToolCallStarted(0, "fc-7f3a", "get_weather"), ToolCallArgumentsDelta(0, '{"city":"Oslo"}')]
    assert events[2].response.message.parts == (
        ToolCall(
            "fc-7f3a",
            "get_weather",
            {"city": "Oslo"},
            '{"city":"Oslo"}',
            {"gemini": {"id": "fc-7f3a", "thoughtSignature": "c2lnLW9zbG8="}},
        ),
    )
    assert events[2].response.usage == Usage(30, 9)


def test_stream_no_argument_calls() -> None:
    events = stream("no_args.sse")
    assert events[:4] == [
        ToolCallStarted(0, "gemini-call-0", "list_files"),
        ToolCallArgumentsDelta(0, "{}"),
        ToolCallStarted(1, "gemini-call-1", "get_time"),
        ToolCallArgumentsDelta(1, "{}"),
    ]
    assert [(c.arguments, c.raw_arguments) for c in events[4].response.message.tool_calls] == [({}, "{}"), ({}, "{}")]


def test_stream_thoughts_merge_and_a_signed_part_stays_separate() -> None:
    events = stream("thoughts.sse")
    assert events[:4] == [
        ReasoningDelta("**Weighing units** "),
        ReasoningDelta("The user wants Celsius."),
        TextDelta("It is 18°C "),
        TextDelta("in Paris."),
    ]
    response = events[4].response
    # The signed chunk is not merged into the unsigned text before it: the signature keeps its own part (§4.4).
    assert response.message.parts == (
        ReasoningPart("**Weighing units** The user wants Celsius.", {"gemini": {"thought": True}}),
        TextPart("It is 18°C "),
        TextPart("in Paris.", {"gemini": {"thoughtSignature": "dGV4dC1zaWduYXR1cmU="}}),
    )
    assert response.usage == Usage(40, 62, reasoning_tokens=55)


def test_stream_text_after_a_signed_part_does_not_merge_into_it() -> None:
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "A", "thoughtSignature": "s1"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "B"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "C"}]}, "finishReason": "STOP"}]},
    ]
    *_, done = ADAPTER.parse_stream([SSEvent(json.dumps(c)) for c in chunks])
    assert isinstance(done, ResponseCompleted)
    assert done.response.message.parts == (TextPart("A", {"gemini": {"thoughtSignature": "s1"}}), TextPart("BC"))


def test_stream_surrogate_halves_in_separate_chunks_are_joined() -> None:
    events = stream("surrogates.sse")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Sunny 😀 été"
    assert events[-1].response.message.text == "Sunny 😀 été"


def test_stream_blocked_prompt_completes() -> None:
    (done,) = stream("blocked.sse")
    assert done.response.stop_reason == STOP_CONTENT_FILTER
    assert done.response.raw_stop_reason == "blockReason: SAFETY"
    assert done.response.message.parts == ()


def test_stream_usage_comes_from_the_last_chunk_that_has_it() -> None:
    *_, done = stream("text.sse")
    assert done.response.usage == Usage(12, 6)
    *_, done = stream("call_with_id.sse")
    assert done.response.usage == Usage(30, 9)


def test_stream_ignores_named_events_comments_and_done() -> None:
    raw = fixture_text("gemini/text.sse") + "event: ping\ndata: {}\n\ndata: [DONE]\n\n: bye\n\n"
    assert stable(list(ADAPTER.parse_stream(sse_events(raw)))) == stream("text.sse")


def test_stream_error_chunk_is_a_provider_error() -> None:
    events, error = raises_streaming("error_midstream.sse", RateLimitError)
    assert events == [TextDelta("Checking")]
    assert (error.status, error.error_type, error.retry_after) == (429, "RESOURCE_EXHAUSTED", 1.5)
    assert error.endpoint == "/v1beta/models/{model}:streamGenerateContent"
    assert "Resource has been exhausted" in str(error)


def test_stream_error_without_code_maps_its_status() -> None:
    sse = [SSEvent(json.dumps({"error": {"message": "The model is overloaded.", "status": "UNAVAILABLE"}}))]
    with pytest.raises(ServerError) as info:
        list(ADAPTER.parse_stream(sse))
    assert (info.value.status, info.value.error_type) == (503, "UNAVAILABLE")


@pytest.mark.parametrize(
    ("payload", "cls", "status"),
    [
        ([{"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}], ServerError, 500),
        ({"error": {"code": 0, "message": "odd", "status": "PERMISSION_DENIED"}}, AuthenticationError, 403),
        ({"error": "boom"}, ProviderError, None),
    ],
)
def test_stream_error_shapes(payload: Any, cls: type[ProviderError], status: int | None) -> None:
    with pytest.raises(ProviderError) as info:
        list(ADAPTER.parse_stream([SSEvent(json.dumps(payload))]))
    assert (type(info.value), info.value.status) == (cls, status)


def test_truncated_stream_is_a_transport_error() -> None:
    events, error = raises_streaming("truncated.sse", TransportError)
    assert events == [TextDelta("Paris is "), TextDelta("sunny, ")]
    assert "stream ended before a finishReason" in str(error)


def test_empty_stream_is_a_transport_error() -> None:
    with pytest.raises(TransportError):
        list(ADAPTER.parse_stream([]))


def test_garbage_stream_data_is_a_protocol_violation() -> None:
    events, error = raises_streaming("garbage.sse", ProtocolViolation)
    assert events == [TextDelta("Paris is ")]
    assert "stream data is not JSON" in str(error)


# ---------------------------------------------------------------- parse_error


def error_from(name: str, status: int, headers: dict[str, str] | None = None) -> ProviderError:
    return ADAPTER.parse_error(status, fixture_text(f"gemini/{name}").encode(), headers or {})


def test_error_429_with_retry_info() -> None:
    err = error_from("error_429.json", 429)
    assert type(err) is RateLimitError
    assert (err.status, err.error_type, err.retry_after) == (429, "RESOURCE_EXHAUSTED", 17.0)
    assert err.provider_message == "You exceeded your current quota, please check your plan and billing details."
    assert err.protocol == "gemini"
    assert err.endpoint == ""  # the transport fills in the real path, model included


@pytest.mark.parametrize(
    ("delay", "seconds"), [("1.5s", 1.5), ("0s", 0.0), (" 30s ", 30.0), ("17", None), ("soon", None)]
)
def test_retry_delay_durations(delay: str, seconds: float | None) -> None:
    payload = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "slow down",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}],
        }
    }
    assert ADAPTER.parse_error(429, json.dumps(payload).encode(), {}).retry_after == seconds


def test_retry_after_header_is_the_fallback_without_retry_info() -> None:
    body_bytes = b'{"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}'
    assert ADAPTER.parse_error(429, body_bytes, {"Retry-After": "3"}).retry_after == 3.0


def test_bad_api_key_400_is_an_authentication_error() -> None:
    err = error_from("error_bad_key.json", 400)
    assert type(err) is AuthenticationError
    assert (err.status, err.error_type, err.retryable) == (400, "INVALID_ARGUMENT", False)
    assert err.provider_message == "API key not valid. Please pass a valid API key."


def test_other_400_stays_a_plain_provider_error() -> None:
    err = error_from("error_invalid_argument.json", 400)
    assert type(err) is ProviderError
    assert err.error_type == "INVALID_ARGUMENT"
    assert err.provider_message.startswith("Please ensure that the number of function response parts")


def test_error_wrapped_in_an_array() -> None:
    err = error_from("error_overloaded_array.json", 503)
    assert type(err) is ServerError
    assert (err.status, err.error_type, err.provider_message) == (
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
    )


def test_not_found_with_request_id_header() -> None:
    err = error_from("error_not_found.json", 404, {"X-Request-Id": "req-123"})
    assert type(err) is ProviderError
    assert (err.status, err.error_type, err.request_id) == (404, "NOT_FOUND", "req-123")
    assert str(err) == (
        "gemini: HTTP 404 NOT_FOUND: models/gemini-9-ultra is not found "
        "for API version v1beta, or is not supported for generateContent. (request id req-123)"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        (b"", "(empty response body)"),
        (b'{"detail": "nope"}', '{"detail": "nope"}'),
    ],
)
def test_non_gemini_error_bodies_become_text(raw: bytes, message: str) -> None:
    err = ADAPTER.parse_error(502, raw, {})
    assert type(err) is ServerError
    assert (err.provider_message, err.error_type) == (message, None)


def test_long_html_error_is_truncated_to_one_line() -> None:
    err = ADAPTER.parse_error(502, b"<html>\n" + b"x" * 2000 + b"\n</html>", {})
    assert len(err.provider_message) <= 300
    assert "\n" not in str(err)


def test_error_message_never_carries_the_key() -> None:
    payload = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad url ?key=AIzaSyA-secret-value"}}
    err = ADAPTER.parse_error(400, json.dumps(payload).encode(), {})
    assert "AIzaSyA-secret-value" not in str(err)

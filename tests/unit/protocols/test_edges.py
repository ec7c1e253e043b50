"""Stop reasons that change the turn, at the adapters and in the loop (the CLI side: test_protocol_edges.py).

The adapters map vendor words to neutral stop reasons (Gemini's failed calls -> ``malformed_tool_call`` with
the ``finishMessage``; Anthropic ``pause_turn`` -> ``pause``); the loop alone decides what to do with them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MALFORMED_TOOL_CALL,
    STOP_PAUSE,
    Message,
    ModelResponse,
    TextPart,
    Usage,
)
from crazycall.errors import EXIT_PROTOCOL, LoopLimitExceeded, MalformedToolCall, ProtocolViolation
from crazycall.events import ResponseCompleted
from crazycall.protocols.anthropic_messages import MessagesAdapter
from crazycall.protocols.gemini_native import GeminiAdapter
from tests.helpers import sse_events
from tests.unit.test_loop import answer, go, registry

GEMINI = GeminiAdapter()
MESSAGES = MessagesAdapter()


def _gemini_body(reason: str, message: str | None = None, parts: list[Any] | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"finishReason": reason, "index": 0}
    if parts is not None:
        candidate["content"] = {"role": "model", "parts": parts}
    if message is not None:
        candidate["finishMessage"] = message
    return {"candidates": [candidate]}


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"])
@pytest.mark.parametrize("chunk_size", [None, 1])
def test_gemini_failed_calls_are_malformed_in_a_stream(reason: str, chunk_size: int | None) -> None:
    raw = f"data: {json.dumps(_gemini_body(reason, 'Malformed function call: x('))}\r\n\r\n"
    events = list(GEMINI.parse_stream(sse_events(raw, chunk_size)))
    assert isinstance(events[-1], ResponseCompleted)
    response = events[-1].response
    assert response.stop_reason == STOP_MALFORMED_TOOL_CALL
    assert response.raw_stop_reason == f"{reason} (Malformed function call: x()"


def test_gemini_malformed_stays_malformed_with_a_stray_call_part() -> None:
    parts = [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]
    response = GEMINI.parse_response(_gemini_body("MALFORMED_FUNCTION_CALL", None, parts))
    assert response.stop_reason == STOP_MALFORMED_TOOL_CALL  # not tool_use: the turn failed
    assert response.raw_stop_reason == "MALFORMED_FUNCTION_CALL"


def test_gemini_finish_message_is_bounded_and_one_line() -> None:
    response = GEMINI.parse_response(_gemini_body("MALFORMED_FUNCTION_CALL", "bad\ncall " + "x" * 100_000))
    detail = response.raw_stop_reason or ""
    assert len(detail) < 400 and "\n" not in detail
    assert detail.startswith("MALFORMED_FUNCTION_CALL (bad call xxx")


def _anthropic_stream(stop: str) -> str:
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 3}}}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Searching."}}),
        ("content_block_stop", {"index": 0}),
        ("message_delta", {"delta": {"stop_reason": stop}, "usage": {"output_tokens": 2}}),
        ("message_stop", {}),
    ]
    return "".join(f"event: {n}\ndata: {json.dumps({'type': n, **d})}\n\n" for n, d in events)


@pytest.mark.parametrize(("raw", "stop"), [("pause_turn", STOP_PAUSE), ("refusal", STOP_CONTENT_FILTER)])
@pytest.mark.parametrize("chunk_size", [None, 1])
def test_anthropic_pause_and_refusal_in_a_stream(raw: str, stop: str, chunk_size: int | None) -> None:
    events = list(MESSAGES.parse_stream(sse_events(_anthropic_stream(raw), chunk_size)))
    assert isinstance(events[-1], ResponseCompleted)
    assert (events[-1].response.stop_reason, events[-1].response.raw_stop_reason) == (stop, raw)


def _malformed(detail: str = "MALFORMED_FUNCTION_CALL (oops)") -> ModelResponse:
    return ModelResponse(Message("assistant", ()), STOP_MALFORMED_TOOL_CALL, Usage(4, 0), "m", None, detail)


def _paused(text: str) -> ModelResponse:
    return ModelResponse(Message("assistant", (TextPart(text),)), STOP_PAUSE, Usage(1, 1), "m")


def test_loop_retries_a_malformed_turn_once_without_keeping_it() -> None:
    result, _, adapter, state = go([_malformed(), answer(TextPart("fine"))], registry())
    assert (result.text, result.turns, result.stop_reason) == ("fine", 1, STOP_END_TURN)
    assert result.usage == Usage(14, 5)
    assert adapter.seen[0].conversation == adapter.seen[1].conversation  # the same conversation asked again
    assert [m.role for m in state.conversation.messages] == ["user", "assistant"]


def test_loop_fails_on_a_second_malformed_turn() -> None:
    with pytest.raises(MalformedToolCall) as caught:
        go([_malformed("TOO_MANY_TOOL_CALLS"), _malformed("TOO_MANY_TOOL_CALLS (too many)")], registry())
    assert isinstance(caught.value, ProtocolViolation) and caught.value.exit_code == EXIT_PROTOCOL
    assert caught.value.kind == "malformed_tool_call"
    assert str(caught.value) == (
        "scripted: the model's tool call failed twice in a row (turn 1): TOO_MANY_TOOL_CALLS (too many)"
    )


def test_loop_continues_a_paused_turn_and_joins_the_text() -> None:
    result, _, adapter, _ = go([_paused("Part one. "), _paused("Part two. "), answer(TextPart("Done."))], registry())
    assert (result.text, result.turns) == ("Part one. Part two. Done.", 3)
    last_sent = adapter.seen[2].conversation.messages
    assert [m.role for m in last_sent] == ["user", "assistant", "assistant"]  # no user message in between


def test_loop_pause_counts_against_max_turns() -> None:
    with pytest.raises(LoopLimitExceeded, match="paused"):
        go([_paused("a"), _paused("b")], registry(), max_turns=2)

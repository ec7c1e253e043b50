"""Scripted event sequences for the renderer tests: what the loop emits for one whole run."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from crazycall.conversation import Message, ModelResponse, TextPart, ToolCall, ToolResult, Usage
from crazycall.errors import CrazycallError
from crazycall.events import (
    Event,
    ReasoningDelta,
    ResponseCompleted,
    RunFailed,
    RunFinished,
    RunResult,
    RunStarted,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallRecord,
    ToolCallStarted,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    TurnStarted,
)

WEATHER = ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
TIME = ToolCall("call_2", "get_time", {"timezone": "Europe/Paris"}, '{"timezone": "Europe/Paris"}')
WEATHER_RESULT = json.dumps(
    {"city": "Paris", "temperature": 21, "unit": "celsius", "conditions": "sunny", "humidity_percent": 40}
)
TIME_ERROR = "tool get_time timed out after 5 s"
PREAMBLE = "Calling get_weather and get_time."
ANSWER = "## Paris\n\nIt is **sunny** and 21 °C.\n\n- humidity 40 %\n- the clock did not answer\n"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def response(text: str, *calls: ToolCall, usage: Usage = Usage()) -> ResponseCompleted:
    stop = "tool_use" if calls else "end_turn"
    return ResponseCompleted(ModelResponse(Message("assistant", (TextPart(text), *calls)), stop, usage))


def deltas(text: str, size: int = 7) -> list[TextDelta]:
    return [TextDelta(text[i : i + size]) for i in range(0, len(text), size)]


def streamed_call(index: int, call: ToolCall) -> list[Event]:
    raw = call.raw_arguments
    return [ToolCallStarted(index, call.id, call.name), *(ToolCallArgumentsDelta(index, c) for c in (raw[:5], raw[5:]))]


def records() -> tuple[ToolCallRecord, ...]:
    return (
        ToolCallRecord("call_1", "get_weather", {"city": "Paris"}, json.loads(WEATHER_RESULT), False, 12.0),
        ToolCallRecord("call_2", "get_time", {"timezone": "Europe/Paris"}, TIME_ERROR, True, 5000.0),
    )


RESULT = RunResult("gpt-5.4", "chat", ANSWER, "end_turn", 2, records(), Usage(1500, 120))


def first_turn() -> list[Event]:
    """Run start, a preamble, two parallel calls streamed and run (one ok, one error)."""
    return [
        RunStarted("gpt-5.4", "chat", "/v1/chat/completions", ("get_weather", "get_time")),
        TurnStarted(1),
        *deltas(PREAMBLE),
        *streamed_call(0, WEATHER),
        *streamed_call(1, TIME),
        response(PREAMBLE, WEATHER, TIME, usage=Usage(700, 30)),
        TurnFinished(1, Usage(700, 30), "tool_use"),
        ToolStarted(WEATHER),
        ToolStarted(TIME),
        ToolFinished(WEATHER, ToolResult("call_1", "get_weather", WEATHER_RESULT), 12.0),
        ToolFinished(TIME, ToolResult("call_2", "get_time", TIME_ERROR, True), 5000.0),
    ]


def second_turn(reasoning: str = "") -> list[Event]:
    """The final answer, streamed in small deltas (after some reasoning, when given)."""
    thinking: list[Event] = [ReasoningDelta(reasoning[i : i + 9]) for i in range(0, len(reasoning), 9)]
    return [
        TurnStarted(2),
        *thinking,
        *deltas(ANSWER),
        response(ANSWER, usage=Usage(800, 90)),
        TurnFinished(2, Usage(800, 90), "end_turn"),
    ]


def whole_run(reasoning: str = "") -> list[Event]:
    return [*first_turn(), *second_turn(reasoning), RunFinished(RESULT)]


def failed(error: CrazycallError, partial: RunResult | None = None) -> RunFailed:
    return RunFailed(error, partial)


def partial_result(**changes: Any) -> RunResult:
    """What a run knows after its first turn (the tools ran); ``changes`` replace fields."""
    base = RunResult("gpt-5.4", "chat", "", "tool_use", 1, records(), Usage(700, 30))
    return replace(base, **changes)

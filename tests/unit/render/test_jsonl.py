"""JSON and JSON-lines renderers: the event contract README documents, field for field; make_renderer."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from crazycall.errors import EXIT_USAGE, Interrupted, TransportError, UsageError
from crazycall.events import ReasoningDelta, RunFailed
from crazycall.render import make_renderer
from crazycall.render.console import ConsoleRenderer
from crazycall.render.jsonl import JsonLinesRenderer, JsonRenderer
from crazycall.render.plain import PlainRenderer
from tests.unit.render.script import ANSWER, PREAMBLE, RESULT, TIME_ERROR, WEATHER_RESULT, partial_result, whole_run

SUMMARY = {
    "model": "gpt-5.4",
    "protocol": "chat",
    "text": ANSWER,
    "stop_reason": "end_turn",
    "turns": 2,
    "tool_calls": [
        {
            "id": "call_1",
            "name": "get_weather",
            "arguments": {"city": "Paris"},
            "result": json.loads(WEATHER_RESULT),
            "is_error": False,
            "duration_ms": 12.0,
        },
        {
            "id": "call_2",
            "name": "get_time",
            "arguments": {"timezone": "Europe/Paris"},
            "result": TIME_ERROR,
            "is_error": True,
            "duration_ms": 5000.0,
        },
    ],
    "usage": {"input_tokens": 1500, "output_tokens": 120},
    "run_id": "",
    "transcript": None,
}


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_is_one_object_with_the_summary() -> None:
    out = io.StringIO()
    r = JsonRenderer(out)
    for event in whole_run("reasoning"):
        r(event)
    assert out.getvalue().count("\n") == 1
    assert lines(out) == [SUMMARY]


def test_json_for_a_failed_run_adds_the_error_to_what_is_known() -> None:
    out = io.StringIO()
    JsonRenderer(out)(RunFailed(Interrupted("interrupted"), partial_result()))
    (data,) = lines(out)
    assert data["error"] == {"type": "interrupted", "message": "interrupted", "exit_code": 130}
    assert data["turns"] == 1 and len(data["tool_calls"]) == 2


def test_json_for_a_run_that_failed_before_any_turn_is_the_error_alone() -> None:
    out = io.StringIO()
    JsonRenderer(out)(RunFailed(TransportError("connection refused")))
    assert lines(out) == [{"error": {"type": "transport_error", "message": "connection refused", "exit_code": 5}}]


def test_jsonl_events_and_fields_are_the_documented_contract() -> None:
    out = io.StringIO()
    r = JsonLinesRenderer(out)
    for event in whole_run("hm"):
        r(event)
    records = lines(out)
    text = "".join(r["text"] for r in records if r["event"] == "text_delta")
    assert text == PREAMBLE + ANSWER
    assert [r for r in records if r["event"] == "reasoning_delta"] == [{"event": "reasoning_delta", "text": "hm"}]
    others = [r for r in records if r["event"] not in ("text_delta", "reasoning_delta")]
    assert others == [
        {
            "event": "run_started",
            "model": "gpt-5.4",
            "protocol": "chat",
            "endpoint": "/v1/chat/completions",
            "tools": ["get_weather", "get_time"],
            "run_id": "",
            "transcript": None,
        },
        {
            "event": "turn_finished",
            "turn": 1,
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 700, "output_tokens": 30},
        },
        {"event": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"event": "tool_call", "id": "call_2", "name": "get_time", "arguments": {"timezone": "Europe/Paris"}},
        {
            "event": "tool_result",
            "id": "call_1",
            "name": "get_weather",
            "result": json.loads(WEATHER_RESULT),
            "is_error": False,
            "duration_ms": 12.0,
        },
        {
            "event": "tool_result",
            "id": "call_2",
            "name": "get_time",
            "result": TIME_ERROR,
            "is_error": True,
            "duration_ms": 5000.0,
        },
        {
            "event": "turn_finished",
            "turn": 2,
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 800, "output_tokens": 90},
        },
        {"event": "run_finished", **SUMMARY},
    ]


def test_jsonl_error_event() -> None:
    out = io.StringIO()
    JsonLinesRenderer(out)(RunFailed(Interrupted("interrupted"), partial_result()))
    assert lines(out) == [{"event": "error", "type": "interrupted", "message": "interrupted", "exit_code": 130}]


def test_jsonl_writes_each_event_as_it_happens() -> None:
    out = io.StringIO()
    r = JsonLinesRenderer(out)
    r(ReasoningDelta("a"))
    assert out.getvalue() == '{"event": "reasoning_delta", "text": "a"}\n'


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("mode", "tty", "quiet", "expected"),
    [
        ("auto", True, False, ConsoleRenderer),
        ("auto", False, False, PlainRenderer),
        ("auto", True, True, PlainRenderer),
        ("rich", False, False, ConsoleRenderer),
        ("plain", True, False, PlainRenderer),
        ("json", True, True, JsonRenderer),
        ("jsonl", False, False, JsonLinesRenderer),
    ],
)
def test_make_renderer_picks_by_mode_and_terminal(mode: str, tty: bool, quiet: bool, expected: type) -> None:
    out = Tty() if tty else io.StringIO()
    assert type(make_renderer(mode, out, io.StringIO(), quiet=quiet)) is expected


def test_make_renderer_refuses_an_unknown_mode() -> None:
    with pytest.raises(UsageError) as info:
        make_renderer("yaml", io.StringIO(), io.StringIO())
    assert info.value.exit_code == EXIT_USAGE
    assert str(info.value) == "unknown output mode 'yaml'; choose one of: auto, rich, plain, json, jsonl"


def test_no_color_and_no_color_env_reach_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    r = make_renderer("rich", Tty(), io.StringIO(), color=False)
    assert isinstance(r, ConsoleRenderer) and r.console.no_color and r.console.is_terminal
    monkeypatch.setenv("NO_COLOR", "1")
    r = make_renderer("rich", Tty(), io.StringIO())
    assert isinstance(r, ConsoleRenderer) and r.console.no_color
    monkeypatch.delenv("NO_COLOR")
    r = make_renderer("rich", Tty(), io.StringIO())
    assert isinstance(r, ConsoleRenderer) and not r.console.no_color


def test_the_summary_matches_the_result() -> None:
    from crazycall.render.summary import summary_dict

    assert summary_dict(RESULT) == SUMMARY

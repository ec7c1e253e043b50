"""A running tool's progress (MCP progress notifications): on its spinner row at a terminal, as a
``tool_progress`` event in JSON lines, and nowhere off a terminal."""

from __future__ import annotations

import io
import json

from crazycall.events import ToolProgress
from crazycall.render.console_parts import progress_text
from crazycall.render.jsonl import JsonLinesRenderer
from tests.unit.render.script import TIME, WEATHER, first_turn
from tests.unit.render.test_console import play, renderer, screen


def test_progress_text_shows_what_was_reported() -> None:
    assert progress_text(3, 10, "indexing  files\n") == "indexing files · 3/10"
    assert progress_text(0.5, None, None) == "0.5"
    assert progress_text(2, 4, "") == "2/4"
    assert progress_text(1, 2, "\x1b[2Jcleared") == "␛[2Jcleared · 1/2"  # no escape codes on the terminal


def test_progress_shows_on_the_running_tools_spinner_row() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, first_turn()[:17])  # both calls running
    r(ToolProgress(TIME, 2, 5, "asking the clock"))
    assert screen(out).text().splitlines()[-2:] == [
        "⠋ get_weather · running · 250 ms",
        "⠋ get_time · running · 0 ms · asking the clock · 2/5",
    ]
    r(ToolProgress(TIME, 3, 5, None))
    assert screen(out).text().splitlines()[-1] == "⠋ get_time · running · 0 ms · 3/5"


def test_off_a_terminal_progress_prints_nothing() -> None:
    r, out, clock = renderer(terminal=False)
    play(r, clock, first_turn()[:17])
    before = out.getvalue()
    r(ToolProgress(WEATHER, 1, 2, "step"))
    assert out.getvalue() == before


def test_jsonl_has_a_tool_progress_event() -> None:
    out = io.StringIO()
    JsonLinesRenderer(out)(ToolProgress(WEATHER, 1, None, "half way"))
    assert json.loads(out.getvalue()) == {
        "event": "tool_progress",
        "id": WEATHER.id,
        "name": "get_weather",
        "progress": 1,
        "total": None,
        "message": "half way",
    }

"""The terminal renderer fed scripted event sequences: exact output off a terminal, exact screens on one."""

from __future__ import annotations

import io
import re
import threading
from typing import Any

import pytest
import rich.markdown
from rich.console import Console

from crazycall.errors import Interrupted, TransportError
from crazycall.events import Event, RunFailed, RunFinished, RunStarted, TextDelta
from crazycall.render.console import ConsoleRenderer
from crazycall.render.live_view import LiveView
from tests.unit.render.screen import Screen
from tests.unit.render.script import (
    ANSWER,
    RESULT,
    WEATHER,
    Clock,
    first_turn,
    partial_result,
    second_turn,
    whole_run,
)

WHOLE_RUN = """\
Calling get_weather and get_time.

⚙ get_weather {"city": "Paris"}
⚙ get_time {"timezone": "Europe/Paris"}
✓ get_weather · 12 ms · 102 chars
  {"city": "Paris", "temperature": 21, "unit": "celsius", "conditions": "sunny",
  "humidity_percent": 40}
✗ get_time · 5.0 s · error
  tool get_time timed out after 5 s

I should check
the weather.

Paris

It is sunny and 21 °C.

 • humidity 40 %
 • the clock did not answer

gpt-5.4 via chat · 2 turns · 2 tool calls · 1,500 in / 120 out tokens · 9.2 s
"""


def renderer(
    terminal: bool, width: int = 80, show_reasoning: bool = True, **console: Any
) -> tuple[ConsoleRenderer, io.StringIO, Clock]:
    out = io.StringIO()
    options: dict[str, Any] = {"color_system": "standard"} if terminal else {}
    options.update(console)
    con = Console(file=out, width=width, height=24, force_terminal=terminal, _environ={}, **options)
    clock = Clock()
    return ConsoleRenderer(con, show_reasoning=show_reasoning, clock=clock, animate=False), out, clock


def play(r: ConsoleRenderer, clock: Clock, events: list[Event]) -> None:
    for event in events:
        clock.now += 0.25
        r(event)


def screen(out: io.StringIO, width: int = 80) -> Screen:
    return Screen(width).feed(out.getvalue())


def test_off_a_terminal_every_line_is_printed_once_without_escape_codes() -> None:
    r, out, clock = renderer(terminal=False)
    play(r, clock, whole_run("I should check\nthe weather."))
    assert out.getvalue() == WHOLE_RUN


def test_at_a_terminal_the_screen_ends_with_the_same_lines_and_the_cursor_shown() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, whole_run("I should check\nthe weather."))
    raw = out.getvalue()
    assert raw.startswith("\x1b[?25l")  # the live region hid the cursor...
    assert screen(out).cursor_visible  # ...and showed it again at the end
    assert screen(out).text() + "\n" == WHOLE_RUN
    assert r._live is None


def test_a_spinner_names_the_model_and_protocol_until_the_first_token() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, first_turn()[:2])
    assert screen(out).text() == "⠋ gpt-5.4 via chat"
    r(TextDelta("Hel"))
    r(TextDelta("lo.\n\nNext\n"))  # a finished block is printed; the spinner is gone from that redraw
    assert screen(out).text() == "Hello.\n\nNext"


def test_arguments_arriving_are_shown_per_call() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, first_turn()[:11])  # the first call's arguments complete, the second call just started
    assert screen(out).text() == (
        "Calling get_weather and get_time.\n⠋ get_weather · receiving arguments · 17 chars\n"
        "⠋ get_time · receiving arguments · 0 chars"
    )


def test_parallel_calls_run_side_by_side_with_their_elapsed_time() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, first_turn()[:17])  # both ToolStarted, neither finished
    assert screen(out).text().splitlines()[-4:] == [
        '⚙ get_weather {"city": "Paris"}',
        '⚙ get_time {"timezone": "Europe/Paris"}',
        "⠋ get_weather · running · 250 ms",
        "⠋ get_time · running · 0 ms",
    ]
    play(r, clock, first_turn()[17:18])  # get_weather finishes; get_time still runs
    assert screen(out).text().splitlines()[-4:] == [
        "✓ get_weather · 12 ms · 102 chars",
        '  {"city": "Paris", "temperature": 21, "unit": "celsius", "conditions": "sunny",',
        '  "humidity_percent": 40}',
        "⠋ get_time · running · 250 ms",
    ]


def test_reasoning_is_dimmed_and_italic() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, whole_run("I should check\nthe weather."))
    assert "\x1b[2;3mI should check\x1b[0m" in out.getvalue()


def test_no_reasoning_hides_it_and_keeps_a_thinking_spinner() -> None:
    r, out, clock = renderer(terminal=True, show_reasoning=False)
    events = whole_run("I should check\nthe weather.")
    turn2 = len(first_turn())
    play(r, clock, events[: turn2 + 2])  # TurnStarted(2) and the first reasoning delta
    assert screen(out).text().splitlines()[-1] == "⠋ thinking"
    play(r, clock, events[turn2 + 2 :])
    assert screen(out).text() + "\n" == WHOLE_RUN.replace("I should check\nthe weather.\n\n", "")
    assert "should check" not in out.getvalue()


def test_errors_are_red_and_successes_green() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, whole_run())
    raw = out.getvalue()
    assert "\x1b[31m✗ \x1b[0m\x1b[1;31mget_time\x1b[0m\x1b[31m · 5.0 s · error\x1b[0m" in raw
    assert "\x1b[31mtool get_time timed out after 5 s\x1b[0m" in raw
    assert "\x1b[32m✓ \x1b[0m\x1b[1;32mget_weather\x1b[0m" in raw


def _colour_codes(raw: str) -> list[str]:
    codes = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", raw):
        codes += [p for p in params.split(";") if p and (30 <= int(p) <= 49 or 90 <= int(p) <= 107)]
    return codes


def test_no_color_keeps_the_live_region_but_drops_every_colour() -> None:
    r, out, clock = renderer(terminal=True, no_color=True)
    play(r, clock, whole_run())
    assert _colour_codes(out.getvalue()) == []
    assert "\x1b[?25l" in out.getvalue()
    r2, out2, clock2 = renderer(terminal=True)
    play(r2, clock2, whole_run())
    assert _colour_codes(out2.getvalue())  # the same run with colour does use them


def test_a_narrow_terminal_wraps_text_pretty_prints_arguments_and_cuts_results() -> None:
    r, out, clock = renderer(terminal=False, width=30)
    play(r, clock, first_turn())
    assert out.getvalue() == (
        "Calling get_weather and\n"
        "get_time.\n"
        "\n"
        "⚙ get_weather\n"
        "  {\n"
        '    "city": "Paris"\n'
        "  }\n"
        "⚙ get_time\n"
        "  {\n"
        '    "timezone": "Europe/Paris"\n'
        "  }\n"
        "✓ get_weather · 12 ms · 102 c…\n"
        '  {"city": "Paris",\n'
        '  "temperature": 21, "unit":\n'
        '  "celsius", "conditions":\n'
        '  "sunny", "humidity_percent":\n'
        "  …\n"
        "✗ get_time · 5.0 s · error\n"
        "  tool get_time timed out\n"
        "  after 5 s\n"
    )


def test_an_interrupted_answer_keeps_what_arrived_and_stops_the_live_region() -> None:
    r, out, clock = renderer(terminal=True)
    turn2 = second_turn()
    play(r, clock, [*first_turn(), *turn2[:5]])  # the answer is cut mid-paragraph
    play(r, clock, [RunFailed(Interrupted("interrupted"), partial_result())])
    assert (
        screen(out)
        .text()
        .endswith(
            "  tool get_time timed out after 5 s\n\nParis\n\nIt is sunny an\n\n"
            "interrupted · gpt-5.4 via chat · 1 turn · 2 tool calls · 700 in / 30 out tokens\n· 6.0 s"
        )
    )
    assert screen(out).cursor_visible and r._live is None


def test_a_failure_before_any_turn_still_prints_a_closing_line() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, [RunStarted("gpt-5.4", "chat", "/v1/chat/completions", ()), RunFailed(TransportError("refused"))])
    assert screen(out).text() == (
        "failed (transport_error) · gpt-5.4 via chat · 0 turns · 0 tool calls · 0 in / 0\nout tokens · 0.2 s"
    )
    assert screen(out).cursor_visible


def _markdown_work(monkeypatch: pytest.MonkeyPatch, terminal: bool, paragraphs: int) -> tuple[int, int, int]:
    """(blocks rendered, characters of Markdown source handed to Rich, answer length) for a streamed answer.

    Only this thread's Markdown counts: the renderer does not animate here, so all of its work is on this thread,
    while a refresh thread some earlier test left running (and rendering) must not be counted with it."""
    parsed: list[int] = []
    real_init = rich.markdown.Markdown.__init__
    me = threading.get_ident()

    def counting_init(self: rich.markdown.Markdown, markup: str, *args: Any, **kwargs: Any) -> None:
        if threading.get_ident() == me:
            parsed.append(len(markup))
        real_init(self, markup, *args, **kwargs)

    monkeypatch.setattr(rich.markdown.Markdown, "__init__", counting_init)
    answer = "".join(f"Paragraph {i} says something about the weather.\n\n" for i in range(paragraphs))
    r, _out, clock = renderer(terminal=terminal)
    # never throttled: a render slower than SLOW_RENDER (wall clock, so on a busy machine) would be skipped next
    # time and make the count depend on the load; the throttle has its own tests below
    r._view.slow_render = float("inf")
    play(r, clock, first_turn()[:2])
    for i in range(0, len(answer), 3):
        r(TextDelta(answer[i : i + 3]))
    monkeypatch.undo()
    return len(parsed), sum(parsed), len(answer)


@pytest.mark.parametrize("terminal", [False, True])
def test_streaming_a_long_answer_costs_linear_work(terminal: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """No timing: count the Markdown source handed to Rich. Re-rendering the whole text per delta would make
    it grow with the square of the length; printing finished blocks once keeps it proportional."""
    blocks, work, length = _markdown_work(monkeypatch, terminal, 100)
    assert blocks >= 99  # every finished block was rendered (the last one is still open)
    assert work <= (1 if not terminal else 4) * length
    _, work_4x, length_4x = _markdown_work(monkeypatch, terminal, 400)
    assert work_4x / work < 1.1 * length_4x / length


def test_the_answer_text_matches_the_streamed_deltas() -> None:
    assert "".join(e.text for e in second_turn() if isinstance(e, TextDelta)) == ANSWER


def test_pause_clears_the_live_region_for_a_prompt_and_the_next_event_resumes_it() -> None:
    r, out, clock = renderer(terminal=True)
    play(r, clock, first_turn()[:16])  # get_weather started, its row is in the live region
    assert screen(out).text().splitlines()[-1] == "⠋ get_weather · running · 0 ms"
    r.pause(WEATHER)
    paused = screen(out)
    assert paused.cursor_visible
    assert paused.text().splitlines()[-1] == '⚙ get_weather {"city": "Paris"}'
    out.write("Run it? [y/a/n] y\n")  # what the approval prompt writes while the renderer is paused
    play(r, clock, first_turn()[16:17])
    resumed = screen(out)
    assert not resumed.cursor_visible
    assert resumed.text().splitlines()[-4:] == [
        "Run it? [y/a/n] y",
        '⚙ get_time {"timezone": "Europe/Paris"}',
        "⠋ get_weather · running · 250 ms",
        "⠋ get_time · running · 0 ms",
    ]
    play(r, clock, [*first_turn()[17:], *second_turn(), RunFinished(RESULT)])
    assert screen(out).cursor_visible and r._live is None


def test_pause_off_a_terminal_does_nothing() -> None:
    r, out, clock = renderer(terminal=False)
    play(r, clock, first_turn()[:16])
    before = out.getvalue()
    r.pause(WEATHER)
    assert out.getvalue() == before and not r._paused


def test_a_block_slow_to_render_is_redrawn_at_most_once_per_five_times_its_render_time() -> None:
    view = LiveView(lambda: 0.0)
    console = Console(file=io.StringIO(), width=40, height=10, force_terminal=True)
    now = [0.0]
    view.timer = lambda: now[0]
    text = ["first words"]
    view.open_block = lambda _limit: text[0]

    def shown() -> str:
        lines = console.render_lines(view, console.options, pad=False)
        return "\n".join("".join(s.text for s in line) for line in lines).strip()

    assert shown() == "first words"  # rendered in no time (the fake timer stands still): never throttled
    text[0] = "first words grow"
    assert shown() == "first words grow"
    view.slow_render = -1.0  # from now on every render counts as slow: each took 0 s, the window is 5 x 0 s
    text[0] = "longer"
    assert shown() == "longer"
    view.timer = iter([9.0, 10.0, 11.0, 11.5, 15.9, 16.0, 16.0, 16.0]).__next__  # one render from 10 to 11: 1 s
    text[0] = "slow one"
    assert shown() == "slow one"  # rendered at 10-11: shown again until 11 + 5 x 1 s
    text[0] = "slow one and more"
    assert shown() == "slow one"  # at 11.5
    assert shown() == "slow one"  # at 15.9
    assert shown() == "slow one and more"  # at 16.0: rendered again

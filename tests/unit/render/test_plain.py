"""The plain renderer: the final answer alone on stdout, one line per step on stderr, nothing else."""

from __future__ import annotations

import io

from crazycall.conversation import ToolCall, ToolResult
from crazycall.errors import Interrupted
from crazycall.events import Event, RunFailed, RunStarted, ToolFinished, TurnStarted
from crazycall.render.plain import PlainRenderer, one_line
from tests.unit.render.script import ANSWER, Clock, deltas, first_turn, partial_result, response, second_turn, whole_run

STDERR = (
    "crazycall: gpt-5.4 via chat (/v1/chat/completions)\n"
    "model: Calling get_weather and get_time.\n"
    'tool get_weather {"city": "Paris"}\n'
    'tool get_time {"timezone": "Europe/Paris"}\n'
    'tool get_weather ok in 12 ms: {"city": "Paris", "temperature": 21, "unit": "celsius", "conditions": "sunny", '
    '"humidity_percent": 40}\n'
    "tool get_time error in 5.0 s: tool get_time timed out after 5 s\n"
    "reasoning: I should check the weather.\n"
    "done: 2 turns, 2 tool calls, 1500 in / 120 out tokens, 9.2 s\n"
)


def run(events: list[Event], **options: bool) -> tuple[str, str, list[str]]:
    out, err, clock = io.StringIO(), io.StringIO(), Clock()
    r = PlainRenderer(out, err, clock=clock, **options)
    seen = []
    for event in events:
        clock.now += 0.25
        r(event)
        seen.append(out.getvalue())
    return out.getvalue(), err.getvalue(), seen


def test_stdout_holds_only_the_final_answer_and_stderr_one_line_per_step() -> None:
    out, err, _ = run(whole_run("I should check\nthe weather."))
    assert out == ANSWER
    assert err == STDERR


def test_text_of_a_turn_that_calls_tools_never_reaches_stdout() -> None:
    _, _, seen = run(whole_run())
    assert set(seen[: len(first_turn())]) == {""}


def test_the_answer_is_written_when_its_turn_completes() -> None:
    _, _, seen = run(whole_run())
    completed = len(first_turn()) + 1 + len(deltas(ANSWER))  # index of the final ResponseCompleted
    assert seen[completed - 1] == ""
    assert seen[completed] == ANSWER


def test_without_tools_the_answer_streams_straight_through() -> None:
    events: list[Event] = [RunStarted("m", "chat", "/v1/chat/completions", ()), TurnStarted(1)]
    events += [*deltas("Hello there, no tools here."), response("Hello there, no tools here.")]
    out, err, seen = run(events)
    assert seen[2] == "Hello t"  # the first delta is on stdout before the response completes
    assert out == "Hello there, no tools here.\n"
    assert err == "crazycall: m via chat (/v1/chat/completions)\n"


def test_quiet_writes_the_answer_and_nothing_on_stderr() -> None:
    out, err, _ = run(whole_run("thinking"), quiet=True)
    assert (out, err) == (ANSWER, "")


def test_no_reasoning_drops_the_reasoning_line() -> None:
    _, err, _ = run(whole_run("I should check\nthe weather."), show_reasoning=False)
    assert err == STDERR.replace("reasoning: I should check the weather.\n", "")


def test_an_interrupted_answer_leaves_what_arrived_on_stdout_ended_by_a_newline() -> None:
    events = [*first_turn(), *second_turn()[:5], RunFailed(Interrupted("interrupted"), partial_result())]
    out, err, _ = run(events)
    assert out == "## Paris\n\nIt is **sunny** an\n"
    assert "done:" not in err  # the error line is the CLI's; the renderer adds no tally to a failed run


def test_what_a_tool_printed_gets_its_own_line() -> None:
    call = ToolCall("c", "t", {}, "")
    _, err, _ = run([ToolFinished(call, ToolResult("c", "t", "ok"), 2.0, output="hello\nworld\n")])
    assert err == "tool t ok in 2 ms: ok\ntool t output: hello world\n"


def test_progress_lines_carry_no_control_characters() -> None:
    assert one_line("\x1b[31mred\x1b[0m\tand\nnext\x07") == "␛[31mred␛[0m and next␇"
    assert one_line("x" * 200, 10) == "xxxxxxxxx…"


def test_an_empty_answer_prints_nothing() -> None:
    events: list[Event] = [RunStarted("m", "chat", "/e", ("t",)), TurnStarted(1), response("")]
    assert run(events)[0] == ""

"""Output that reads well at any width from 60 columns up, and approval and declines that say what to do.

Tables (``smoke``, ``logs``, ``tools list``) are rendered at 60, 80 and 120 columns: no line is longer than the
width and every word of a failure reason is there. A declined call shows the user a sentence for the user,
whole, with the ``--approve NAME`` hint; an interrupted run says which calls were cancelled; the closing line
keeps the model and protocol and counts the calls that finished.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from crazycall.conversation import ToolCall, ToolResult, Usage
from crazycall.errors import Interrupted
from crazycall.events import RunFailed, RunResult, RunStarted, ToolFinished, ToolStarted, TurnStarted
from crazycall.render.console import ConsoleRenderer
from crazycall.render.plain import PlainRenderer
from crazycall.tools.approval import TerminalPrompter
from tests.integration.conftest import invoke

WIDTHS = (60, 80, 120)
CONFIRM_TOOLS = """\
wipe_disk:
  description: Wipe the disk (a marker file).
  command: [python3, -c, "open('wiped', 'a').write('x')"]
  confirm: true
"""


def _fits(text: str, width: int) -> None:
    for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).splitlines():  # styling takes no columns
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"


# ---- approval and declines ----


@pytest.fixture
def confirm_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tools.yaml").write_text(CONFIRM_TOOLS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_declined_call_shows_the_user_the_whole_hint_in_plain_output(confirm_project: Path, clean_env: Path) -> None:
    done = invoke("ask", "--offline", "--no-transcript", "-o", "plain", "Please wipe the disk")
    assert done.code == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("tool wipe_disk declined")]
    assert line == (
        "tool wipe_disk declined: not run: wipe_disk needs confirmation and there is no terminal to ask at; "
        "allow it with --approve wipe_disk (or --yes)"
    )
    assert "do not call it again" not in done.stderr.lower()  # that sentence is for the model
    assert not (confirm_project / "wiped").exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_declined_call_in_the_rich_view_keeps_the_hint_at_any_width(
    confirm_project: Path, clean_env: Path, width: int
) -> None:
    done = invoke(
        "ask", "--offline", "--no-transcript", "-o", "rich", "Please wipe the disk", env={"COLUMNS": str(width)}
    )
    assert done.code == 0, done.stderr
    _fits(done.stdout, width)
    assert "✗ wipe_disk · declined" in done.stdout
    start = done.stdout.index("✗ wipe_disk · declined")
    shown = " ".join(done.stdout[start:].split())
    assert "allow it with --approve wipe_disk (or --yes)" in shown


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _CtrlC(io.StringIO):
    def readline(self, _size: int | None = -1) -> str:  # type: ignore[override]  # a text stream's readline
        raise KeyboardInterrupt


def test_the_prompt_stands_out_and_ctrl_c_starts_a_new_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Tty()
    assert TerminalPrompter(io.StringIO("y\n"), out)(ToolCall("1", "wipe_disk", {}, "{}")) == "once"
    assert "\x1b[1;33mTool wipe_disk needs your approval. Arguments:\x1b[0m" in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Tty()
    with pytest.raises(KeyboardInterrupt):
        TerminalPrompter(_CtrlC(), out)(ToolCall("1", "wipe_disk", {}, "{}"))
    assert "\x1b[1mRun it?" in out.getvalue()  # bold without colour: not colour alone
    assert out.getvalue().endswith("\n")  # "interrupted" will start a line of its own
    plain = io.StringIO()  # not a terminal: no escape codes at all
    TerminalPrompter(io.StringIO("n\n"), plain)(ToolCall("1", "wipe_disk", {}, "{}"))
    assert "\x1b" not in plain.getvalue()


# ---- interrupted runs and the closing line ----

SLOW, QUICK = ToolCall("c1", "slow_job", {}, "{}"), ToolCall("c2", "quick_job", {}, "{}")


def _interrupted_run() -> list[Any]:
    partial = RunResult("gpt-5.4", "responses", "", "tool_use", 1, (), Usage(10, 2))
    return [
        RunStarted("gpt-5.4", "responses", "/v1/responses", ("slow_job", "quick_job")),
        TurnStarted(1),
        ToolStarted(SLOW),
        ToolStarted(QUICK),
        ToolFinished(QUICK, ToolResult("c2", "quick_job", "done"), 3.0),
        RunFailed(Interrupted("interrupted"), partial),
    ]


def test_an_interrupted_rich_run_marks_the_running_call_cancelled_and_counts_finished_calls() -> None:
    out = io.StringIO()
    console = Console(file=out, width=60, force_terminal=False, _environ={})
    renderer = ConsoleRenderer(console, animate=False)
    for event in _interrupted_run():
        renderer(event)
    lines = out.getvalue().splitlines()
    assert "✗ slow_job · cancelled" in lines
    assert "✗ quick_job · cancelled" not in lines
    closing = " ".join(lines[lines.index("✗ slow_job · cancelled") + 1 :]).strip()
    assert closing.startswith("interrupted · gpt-5.4 via responses · 1 turn · 1 tool call · 10 in / 2 out tokens")
    _fits(out.getvalue(), 60)


def test_an_interrupted_plain_run_says_which_calls_were_cancelled() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, err)
    for event in _interrupted_run():
        renderer(event)
    assert "tool slow_job cancelled" in err.getvalue().splitlines()
    assert "tool quick_job cancelled" not in err.getvalue()


# ---- tables ----

REASON = "HTTP 404 from /v1/responses: Invalid URL (POST /v1/responses) because the router has no such route"


def _smoke_results() -> list[Any]:
    from crazycall.smoke.cases import make_case
    from crazycall.smoke.runner import CaseResult

    return [
        CaseResult(make_case("gpt-5.4", "chat"), "/v1/chat/completions", 812.0),
        CaseResult(make_case("gpt-5.4", "responses"), "/v1/responses", 95.0, REASON, 4),
        CaseResult(make_case("gemini-3-pro", "gemini"), "/v1beta/models/gemini-3-pro:streamGenerateContent", 1234.0),
        CaseResult(make_case("claude-sonnet-4-6", "messages"), "/v1/messages", 10.0, "stream cut: peer closed", 5),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_smoke_table_fits_and_the_reason_is_whole(width: int) -> None:
    from crazycall.render.tables import write_smoke_table as write_table

    out = io.StringIO()
    write_table(_smoke_results(), Console(file=out, width=width, color_system=None, _environ={}))
    text = out.getvalue()
    _fits(text, width)
    assert len(text.splitlines()) < 30  # not one letter per line
    words = set(text.replace("│", " ").split())
    assert set(REASON.split()) <= words, text
    assert {"gpt-5.4", "gemini-3-pro", "claude-sonnet-4-6"} <= words  # model names never broken
    if width >= 120:
        assert "/v1/responses" in words and "function_call" in words


def _record_runs(clean_env: Path, count: int) -> None:
    for model in ("gpt-5.4", "claude-sonnet-4-6")[:count]:
        assert invoke("ask", "--offline", "-m", model, "--json", "Say hello").code == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_the_logs_table_fits_without_breaking_a_model_name(clean_env: Path, width: int) -> None:
    _record_runs(clean_env, 2)
    done = invoke("logs", env={"COLUMNS": str(width)})
    assert done.code == 0, done.stderr
    _fits(done.stdout, width)
    lines = done.stdout.splitlines()
    assert len(lines) == 3  # a header and one line per run
    assert "claude-sonnet-4-6" in lines[1].split() and "gpt-5.4" in lines[2].split()


def test_tools_list_is_tab_separated_when_piped_and_fits_a_narrow_terminal(
    confirm_project: Path, clean_env: Path
) -> None:
    piped = invoke("tools", "list")
    assert piped.code == 0, piped.stderr
    assert piped.stdout.splitlines() == [
        "wipe_disk\t\ttools.yaml:1 (command) (confirm)\tWipe the disk (a marker file)."
    ]
    for width in WIDTHS:
        shown = invoke("tools", "list", env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": str(width)})
        assert shown.code == 0, shown.stderr
        _fits(shown.stdout, width)
        words = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.stdout).split()
        assert {"wipe_disk", "Wipe", "disk", "marker", "file)."} <= set(words)

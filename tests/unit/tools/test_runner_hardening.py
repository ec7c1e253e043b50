"""The tool runner and the stdout guard at unit level: bounded capture, fd-level capture, abrupt exits, -v."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from crazycall.conversation import ToolCall, ToolSpec
from crazycall.tools import capture
from crazycall.tools.capture import BoundedText, StdoutGuard, protect_stdout
from crazycall.tools.registry import Tool, ToolRegistry
from crazycall.tools.runner import CallOutcome, ToolRunner

EMPTY = {"type": "object", "properties": {}}


def run_one(func: Callable[[], Any], *, verbose: bool = False, timeout: float = 3.0) -> CallOutcome:
    """Run ``func`` as the only tool of a one-call turn; a short timeout makes a hang fail fast."""
    registry = ToolRegistry([Tool(ToolSpec("probe", "a probe", EMPTY), func, "test:probe", timeout=timeout)])
    (outcome,) = ToolRunner(registry, verbose=verbose).run([ToolCall("c1", "probe", {}, "{}")])
    return outcome


def test_bounded_text_keeps_the_start_and_counts_the_rest() -> None:
    text = BoundedText(limit=5)
    for part in ("abc", "defg", "hij"):
        assert text.write(part) == len(part)
    assert text.getvalue() == "abcde\n[output truncated: 5 more characters were cut]"
    assert BoundedText(limit=5).getvalue() == ""


def test_python_level_output_is_bounded_per_call() -> None:
    def loud() -> str:
        print("x" * (3 * capture.OUTPUT_LIMIT), end="")
        return "ok"

    outcome = run_one(loud)
    limit = capture.OUTPUT_LIMIT
    assert outcome.output == "x" * limit + f"\n[output truncated: {2 * limit} more characters were cut]"


def test_guard_collects_fd_writes_exactly_and_passes_the_rest_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    guard = StdoutGuard(limit=12)
    try:
        os.write(1, b"before\n")  # nobody's output: stderr
        guard.collect()
        os.write(1, b"\x1b[crazycall-sync-")  # looks like the start of a sync marker: still delivered whole
        assert guard.take() == "\x1b[crazycall-sync-"[:12] + "\n[output truncated: 5 more bytes were cut]"
        os.write(1, b"two")
        assert guard.release() == "two"
        os.write(1, b"after\n")
        guard.stdout.write("real stdout\n")
    finally:
        guard.close()
    os.write(1, b"restored\n")
    captured = capfd.readouterr()
    assert captured.err == "before\nafter\n"
    assert captured.out.endswith("restored\n") and "crazycall-sync" not in captured.out


def test_the_runner_captures_fd_level_writes_while_stdout_is_protected() -> None:
    def raw() -> str:
        os.write(1, b"RAW")
        return "ok"

    with protect_stdout():
        outcome = run_one(raw)
    assert capture.active() is None
    assert (outcome.result.content, outcome.output) == ("ok", "RAW")


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (SystemExit(3), "tool probe exited (sys.exit(3)) without returning a result"),
        (KeyboardInterrupt(), "tool probe was interrupted (KeyboardInterrupt) before returning a result"),
        (GeneratorExit(), "tool probe stopped abruptly (GeneratorExit) without returning a result"),
    ],
)
def test_a_tool_leaving_by_base_exception_is_an_error_result_at_once(
    exc: BaseException, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def leave() -> str:
        raise exc

    outcome = run_one(leave, timeout=3.0)
    assert (outcome.result.is_error, outcome.result.content) == (True, message)
    assert "Traceback" not in capsys.readouterr().err


def test_verbose_keeps_the_traceback_for_the_user(capsys: pytest.CaptureFixture[str]) -> None:
    def helper() -> None:
        raise ValueError("deep failure")

    def failing() -> str:
        helper()
        return "never"

    outcome = run_one(failing, verbose=True)
    assert outcome.result.content == "ValueError: deep failure"
    err = capsys.readouterr().err
    assert err.startswith("crazycall: tool probe failed:\nTraceback (most recent call last):")
    assert "in helper" in err and "in failing" in err and __file__ in err


@pytest.mark.parametrize("verbose", [False, True])
def test_an_exception_whose_message_raises_is_still_an_error_result(verbose: bool) -> None:
    class Hostile(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no message for you")

    def failing() -> str:
        raise Hostile

    outcome = run_one(failing, verbose=verbose)
    assert (outcome.result.is_error, outcome.result.content) == (
        True,
        "Hostile: <exception message could not be read>",
    )


def test_a_timed_out_tool_writing_later_never_reaches_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    go, written = threading.Event(), threading.Event()

    def straggler() -> str:
        go.wait(10)
        os.write(1, b"LATE-IN-RUN\n")
        written.set()
        go.wait(10)
        return "late"

    with protect_stdout():
        outcome = run_one(straggler, timeout=0.05)
        assert outcome.result.content == "tool probe timed out after 0.05 s"
        go.set()  # the tool thread, abandoned, writes while the command still runs: stderr, as no tool's output
        assert written.wait(10)
    captured = capfd.readouterr()
    assert "LATE-IN-RUN" not in captured.out
    assert "LATE-IN-RUN" in captured.err

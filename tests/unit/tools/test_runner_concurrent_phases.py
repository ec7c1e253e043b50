"""Two conversations' tool phases at once (eval, mcp-serve): each call's prints are captured in its own buffer,
and sys.stdout/sys.stderr are what they were once both phases ended, whatever order they end in."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from crazycall.conversation import ToolCall, ToolSpec
from crazycall.tools.capture import StdoutGuard
from crazycall.tools.registry import Tool, ToolRegistry
from crazycall.tools.runner import CallOutcome, ToolRunner

EMPTY = {"type": "object", "properties": {}}
WAIT = 10.0


def runner_for(func: Callable[[], Any]) -> ToolRunner:
    return ToolRunner(ToolRegistry([Tool(ToolSpec("probe", "a probe", EMPTY), func, "test:probe", timeout=WAIT)]))


def run_in_thread(runner: ToolRunner, outcomes: dict[str, CallOutcome], key: str, done: threading.Event) -> None:
    def body() -> None:
        (outcomes[key],) = runner.run([ToolCall(key, "probe", {}, "{}")])
        done.set()

    threading.Thread(target=body, daemon=True).start()


def test_overlapping_phases_capture_their_own_prints_and_restore_the_streams() -> None:
    out_before, err_before = sys.stdout, sys.stderr
    a_started, b_started, a_done, b_done = (threading.Event() for _ in range(4))
    outcomes: dict[str, CallOutcome] = {}

    def tool_a() -> str:
        print("from a")
        a_started.set()
        b_started.wait(WAIT)  # B's phase began while A's runs; A's ends first
        return "a"

    def tool_b() -> str:
        b_started.set()
        a_done.wait(WAIT)
        print("from b")  # after A's phase ended: still B's output, not the real stdout's
        print("b err", file=sys.stderr)
        return "b"

    run_in_thread(runner_for(tool_a), outcomes, "a", a_done)
    assert a_started.wait(WAIT)
    run_in_thread(runner_for(tool_b), outcomes, "b", b_done)
    assert a_done.wait(WAIT) and b_done.wait(WAIT)
    assert (outcomes["a"].result.content, outcomes["a"].output) == ("a", "from a\n")
    assert outcomes["b"].result.content == "b"
    assert "from b\n" in outcomes["b"].output and "b err\n" in outcomes["b"].output
    assert (sys.stdout, sys.stderr) == (out_before, err_before)


def test_a_phase_ending_while_another_runs_keeps_the_router_in_place() -> None:
    out_before = sys.stdout
    started, release = threading.Event(), threading.Event()
    outcomes: dict[str, CallOutcome] = {}
    long_done, short_done = threading.Event(), threading.Event()

    def long_tool() -> str:
        started.set()
        release.wait(WAIT)
        return "long"

    run_in_thread(runner_for(long_tool), outcomes, "long", long_done)
    assert started.wait(WAIT)
    run_in_thread(runner_for(lambda: "short"), outcomes, "short", short_done)
    assert short_done.wait(WAIT)
    assert sys.stdout is not out_before  # the long phase still routes its thread's prints
    release.set()
    assert long_done.wait(WAIT)
    assert sys.stdout is out_before


def test_guard_windows_nest_so_an_ending_phase_does_not_stop_anothers_capture(
    capfd: pytest.CaptureFixture[str],
) -> None:
    guard = StdoutGuard()
    try:
        guard.collect()  # phase A
        guard.collect()  # phase B, overlapping
        os.write(1, b"from b's subprocess")
        assert guard.release() == ""  # A ends: B's bytes stay for B's call
        os.write(1, b", and more")
        assert guard.take() == "from b's subprocess, and more"
        os.write(1, b"late")
        assert guard.release() == "late"  # B ends: collecting stops
        os.write(1, b"after\n")
    finally:
        guard.close()
    assert "after\n" in capfd.readouterr().err


def test_mcp_serve_runs_two_calls_at_once() -> None:
    from crazycall.mcp_serve.calls import Calls

    first_started, second_started = threading.Event(), threading.Event()

    def meet(name: str) -> str:
        mine, other = (first_started, second_started) if name == "first" else (second_started, first_started)
        mine.set()
        print(f"{name} printed")
        return "met" if other.wait(WAIT) else "alone"  # one call at a time: the first waits in vain

    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    calls = Calls(ToolRegistry([Tool(ToolSpec("meet", "meet", schema), meet, "test:meet", timeout=2 * WAIT)]))
    outcomes: dict[str, CallOutcome] = {}

    def call(name: str) -> None:
        outcomes[name] = calls.run("meet", {"name": name}, None)

    threads = [threading.Thread(target=call, args=(name,), daemon=True) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(3 * WAIT)
    assert {name: o.result.content for name, o in outcomes.items()} == {"first": "met", "second": "met"}
    assert {name: o.output for name, o in outcomes.items()} == {
        "first": "first printed\n",
        "second": "second printed\n",
    }

"""Python tools that write around sys.stdout, print a lot, fail under -v, or leave abruptly.

Everything here runs ``python -m crazycall`` in a subprocess: what is at stake is descriptor 1 of a real
process (a subprocess inheriting it, ``os.write(1, ...)``, a helper thread, a print at plugin import, a write
after the run), which typer's CliRunner cannot show. Each tool lives in a plugin file the test writes; the
offline router calls the tools the prompt names.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import KEY, run_cli

NOISY = '''
import os
import subprocess
import sys
import threading
import time

import crazycall

print("IMPORT-PRINT")
os.write(1, b"IMPORT-RAW\\n")


@crazycall.tool
def raw_write() -> str:
    """Writes to descriptor 1 itself."""
    os.write(1, b"RAW-FD-WRITE\\n")
    return "raw done"


@crazycall.tool
def echo_child() -> str:
    """Starts a program that inherits descriptor 1."""
    subprocess.run(["echo", "CHILD-ECHO"], check=True)
    return "child done"


@crazycall.tool
def helper_thread() -> str:
    """Prints from a thread of its own (not flushed: it sits in Python's buffer)."""
    worker = threading.Thread(target=lambda: print("HELPER-THREAD"))
    worker.start()
    worker.join()
    return "thread done"


@crazycall.tool
def late_writer() -> str:
    """Leaves a thread behind that writes after the run has printed its answer."""

    def later() -> None:
        time.sleep(0.5)
        print("LATE-PRINT", flush=True)
        os.write(1, b"LATE-RAW\\n")

    threading.Thread(target=later).start()  # not a daemon: the process waits for it
    return "late done"


@crazycall.tool
def flood() -> str:
    """Prints 5 MiB with print() and 5 MiB more to descriptor 1."""
    sys.stdout.write("p" * (5 * 1024 * 1024))
    os.write(1, b"f" * (5 * 1024 * 1024))
    return "flood done"
'''

ABRUPT = '''
import sys

import crazycall


@crazycall.tool
def quitter() -> str:
    """Calls sys.exit."""
    sys.exit(3)


@crazycall.tool
def breaker() -> str:
    """Raises KeyboardInterrupt."""
    raise KeyboardInterrupt


@crazycall.tool
def closer() -> str:
    """Raises GeneratorExit."""
    raise GeneratorExit


def inner_helper(depth: int) -> None:
    raise ValueError(f"bad depth {depth}")


@crazycall.tool
def faulty_probe() -> str:
    """Fails two frames deep."""
    inner_helper(7)
    return "never"
'''

CONFIRMED = '''
import os

import crazycall


@crazycall.tool(confirm=True)
def wipe_cache(name: str) -> dict:
    """Deletes a cache (needs confirmation)."""
    print("wiping", name)
    os.write(1, b"RAW-WIPE\\n")
    return {"wiped": name}
'''

NOISY_TOOLS = {"raw_write": "raw done", "echo_child": "child done", "helper_thread": "thread done"}
PROMPT = "Please run raw_write, echo_child and helper_thread now"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "noisy.py").write_text(NOISY, encoding="utf-8")
    (tmp_path / "abrupt.py").write_text(ABRUPT, encoding="utf-8")
    (tmp_path / "confirmed.py").write_text(CONFIRMED, encoding="utf-8")
    return tmp_path


def ask(project: Path, plugin: str, *args: str) -> Any:
    return run_cli(project, "ask", "--offline", "--plugins", str(project / plugin), *args)


def tool_results(transcript: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    return [r for r in records if r.get("type") == "tool_result"]


# ---- item 1: fd-level writes never reach stdout, they are the tool's captured output ----


def test_json_stdout_is_one_object_whatever_the_tools_write_around_sys_stdout(project: Path) -> None:
    transcript = project / "run.jsonl"
    done = ask(project, "noisy.py", "--json", "--transcript", str(transcript), PROMPT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    data = json.loads(done.stdout)
    assert sorted(c["name"] for c in data["tool_calls"]) == sorted(NOISY_TOOLS)
    assert not any(c["is_error"] for c in data["tool_calls"])
    captured = "".join(r["output"] for r in tool_results(transcript))
    for marker in ("RAW-FD-WRITE", "CHILD-ECHO", "HELPER-THREAD"):
        assert marker in captured  # kept as the tools' output, not lost
    # what a plugin prints at import is no tool's: the user sees it on stderr
    assert "IMPORT-PRINT" in done.stderr and "IMPORT-RAW" in done.stderr


def test_quiet_stdout_is_exactly_the_answer(project: Path) -> None:
    reference = json.loads(ask(project, "noisy.py", "--json", "--no-transcript", PROMPT).stdout)
    done = ask(project, "noisy.py", "-q", "--no-transcript", PROMPT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == reference["text"] + "\n"


def test_jsonl_stdout_holds_only_events(project: Path) -> None:
    done = ask(project, "noisy.py", "-o", "jsonl", "--no-transcript", PROMPT)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line)["event"] for line in done.stdout.splitlines()]
    assert events[-1] == "run_finished"


def test_a_thread_writing_after_the_run_does_not_reach_stdout(project: Path) -> None:
    done = ask(project, "noisy.py", "--json", "--no-transcript", "Please run late_writer now")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1, done.stdout
    assert json.loads(done.stdout)["tool_calls"][0]["result"] == "late done"
    assert "LATE" not in done.stdout + done.stderr  # a sink, not the real stdout


def test_a_flood_of_output_is_cut_to_a_mebibyte_per_channel(project: Path) -> None:
    transcript = project / "flood.jsonl"
    config = project / "config.yaml"  # the transcript's own record limit (1 MiB) would cut the output first
    config.write_text(f"max_transcript_record_bytes: {8 * 1024 * 1024}\n", encoding="utf-8")
    done = run_cli(
        project,
        *("ask", "--offline", "--plugins", str(project / "noisy.py")),
        *("--json", "--transcript", str(transcript), "Please run flood now"),
        env={"CRAZYCALL_CONFIG": str(config)},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tool_calls"][0]["result"] == "flood done"
    assert transcript.stat().st_size < 3 * 1024 * 1024  # 10 MiB printed; 1 MiB of each kind kept
    (result,) = tool_results(transcript)
    output = result["output"]
    mib = 1024 * 1024
    assert output.startswith("p" * mib + f"\n[output truncated: {4 * mib} more characters were cut]")
    assert output.endswith("f" * mib + f"\n[output truncated: {4 * mib} more bytes were cut]")


# ---- item 2: -v shows the traceback to the user, never to the model ----


def test_verbose_traceback_goes_to_stderr_and_the_model_gets_one_line(project: Path, router: OfflineRouter) -> None:
    plugin = project / "abrupt.py"
    args = ["--base-url", router.url, "--api-key", KEY, "-m", "gpt-4o", "--plugins", str(plugin)]
    done = run_cli(project, "ask", *args, "-v", "--json", "--no-transcript", "Please run faulty_probe now")
    assert done.returncode == 0, done.stderr
    sent = json.dumps(router.requests[1].body)
    assert "bad depth 7" in sent  # the one-line error
    assert "Traceback" not in sent
    assert str(project) not in sent and "abrupt.py" not in sent and "runner.py" not in sent
    assert "Traceback (most recent call last):" in done.stderr
    assert "abrupt.py" in done.stderr and "in inner_helper" in done.stderr and "in faulty_probe" in done.stderr


# ---- item 3: a tool leaving by sys.exit, KeyboardInterrupt or GeneratorExit is an error result at once ----


def test_tools_that_leave_abruptly_are_error_results_not_timeouts(project: Path) -> None:
    started = time.monotonic()
    prompt = "Please run quitter, breaker and closer now"
    done = ask(project, "abrupt.py", "--json", "--no-transcript", "--tool-timeout", "30", prompt)
    assert time.monotonic() - started < 25  # the old behaviour waited the whole 30 s tool timeout
    assert done.returncode == 0, done.stderr
    results = {c["name"]: (c["is_error"], c["result"]) for c in json.loads(done.stdout)["tool_calls"]}
    assert results == {
        "quitter": (True, "tool quitter exited (sys.exit(3)) without returning a result"),
        "breaker": (True, "tool breaker was interrupted (KeyboardInterrupt) before returning a result"),
        "closer": (True, "tool closer stopped abruptly (GeneratorExit) without returning a result"),
    }
    assert "Traceback" not in done.stderr


# ---- item 5: tools call keeps stdout for the result; confirm follows ask's approval rule ----


def test_tools_call_sends_every_print_to_stderr(project: Path) -> None:
    plugins = ["--plugins", str(project / "noisy.py")]
    for name, result in NOISY_TOOLS.items():
        done = run_cli(project, "tools", "call", name, "{}", *plugins)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == result
    raw = run_cli(project, "tools", "call", "raw_write", "{}", *plugins)
    assert "RAW-FD-WRITE" in raw.stderr and "IMPORT-PRINT" in raw.stderr and "IMPORT-RAW" in raw.stderr


def test_tools_call_refuses_a_confirm_tool_without_a_terminal_unless_yes(project: Path) -> None:
    plugins = ["--plugins", str(project / "confirmed.py")]
    refused = run_cli(project, "tools", "call", "wipe_cache", '{"name": "c1"}', *plugins)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "crazycall: error: tool wipe_cache needs confirmation (confirm: true) and no terminal can ask for it; "
        "pass --yes to run it\n"
    )
    for flag in ("--yes", "-y"):
        done = run_cli(project, "tools", "call", "wipe_cache", '{"name": "c1"}', flag, *plugins)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"wiped": "c1"}
        assert "wiping c1" in done.stderr and "RAW-WIPE" in done.stderr


def spawn_tools_call(project: Path, *args: str) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return pexpect.spawn(
        sys.executable,
        ["-m", "crazycall", "tools", "call", *args, "--plugins", str(project / "confirmed.py")],
        cwd=str(project),
        env={**env, "TERM": "xterm-256color", "NO_COLOR": "1"},
        dimensions=(30, 120),
        encoding="utf-8",
        codec_errors="replace",
        timeout=30,
    )


@pytest.mark.parametrize(("answer", "code"), [("y", 0), ("n", 8)])
def test_tools_call_asks_at_a_terminal(project: Path, answer: str, code: int) -> None:
    child = spawn_tools_call(project, "wipe_cache", '{"name": "c2"}')
    child.expect_exact("Tool wipe_cache needs your approval. Arguments:")
    child.expect_exact("Run it? [y] yes once, [a] yes for this run, [n] no (default): ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    rest = str(child.before)
    assert child.exitstatus == code, rest
    if code == 0:
        assert '"wiped": "c2"' in rest and "wiping c2" in rest
    else:
        assert "crazycall: error: tool wipe_cache was not run: you declined" in rest and "wiping" not in rest

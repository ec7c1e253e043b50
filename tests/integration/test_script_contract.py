"""The script contract of the CLI: closed pipes, usage errors, blank prompts, truthful summaries of runs that
did not finish, completion and ``ask --help``.

Everything runs as a real process (``python -m crazycall``) with real pipes; the model is the offline router,
in-process or in this test process on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crazycall.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_PROVIDER, EXIT_USAGE
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import TOOLS, run_cli
from tests.integration.test_output_modes import PROMPT

# quick_check answers at once; slow_job takes long enough for a test to act while it runs.
SLOW_TOOLS = '''
import time

import crazycall


@crazycall.tool
def quick_check() -> str:
    """A check that answers at once."""
    return "quick ok"


@crazycall.tool(timeout=120)
def slow_job() -> str:
    """A job that takes a minute."""
    time.sleep(60)
    return "done"
'''

PAUSE_TOOL = '''
import time

import crazycall


@crazycall.tool
def pause_step() -> str:
    """A step that takes a moment."""
    time.sleep(0.5)
    return "paused ok"
'''

STOP_REASONS = {"end_turn", "tool_use", "max_tokens", "content_filter", "other", "error", "interrupted"}


def slow_plugins(tmp_path: Path, source: str = SLOW_TOOLS) -> Path:
    path = tmp_path / "slow_tools.py"
    path.write_text(source, encoding="utf-8")
    return path


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """``crazycall ARGS`` with stdout and stderr on pipes; SIGINT acts as at a terminal (not inherited ignored)."""
    return subprocess.Popen(
        [sys.executable, "-m", "crazycall", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_record(path: Path, kind: str, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []  # whole lines only
        if any(r["type"] == kind and r.get("name") == name for r in map(json.loads, lines)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {kind} record for {name} in {path}")


# ---------------------------------------------------------------- 1. a closed pipe


def test_a_reader_that_leaves_after_the_first_line_is_not_a_bug(tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    plugins = slow_plugins(tmp_path, PAUSE_TOOL)
    args = ["ask", "--offline", "--plugins", str(plugins), "-o", "jsonl", "--transcript", str(transcript)]
    with start(tmp_path, *args, "Run the pause step") as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = json.loads(proc.stdout.readline())  # like `| head -1`: read one line, then go away
        assert first["event"] == "run_started"
        proc.stdout.close()  # pause_step sleeps 0.5 s: the next event is written after the reader has gone
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == EXIT_BROKEN_PIPE == 141
    assert stderr == ""  # no message, no traceback, no "Exception ignored" at exit
    kinds = [r["type"] for r in records(transcript)]
    assert kinds[0] == "run" and kinds[-1] == "end"  # the transcript is complete
    assert records(transcript)[-1]["outcome"] == "output_closed"


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "--offline", *TOOLS, "-q", PROMPT],
        ["ask", "--offline", *TOOLS, "--json", PROMPT],
        ["smoke", "--offline", "--json"],
        ["smoke", "--offline", "-o", "plain"],
        ["tools", "list", *TOOLS],  # a Rich table: Rich's own broken-pipe exit (1) becomes 141
        ["ask", "--help"],  # Click's own broken-pipe exit (1) becomes 141
    ],
    ids=["ask-quiet", "ask-json", "smoke-json", "smoke-plain", "tools-list", "help"],
)
def test_output_into_a_pipe_already_closed_exits_141_silently(tmp_path: Path, args: list[str]) -> None:
    with start(tmp_path, *args) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # like `| head -c 0`: nobody reads anything
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert stderr == ""


def test_a_closed_pipe_under_the_rich_view_still_completes_the_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    with start(tmp_path, "ask", "--offline", *TOOLS, "-o", "rich", "--transcript", str(transcript), PROMPT) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert stderr == ""
    assert records(transcript)[-1]["type"] == "end"
    assert records(transcript)[-1]["outcome"] == "output_closed"


# ---------------------------------------------------------------- 2. usage errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "--offlin", PROMPT], "no such option --offlin (did you mean --offline?)"),
        (["ask", "--max-turns", "0", PROMPT], "invalid value for '--max-turns': 0 is not in the range x>=1"),
        (["ask", "--temperature", "abc", PROMPT], "invalid value for '--temperature': 'abc' is not a valid float"),
        (["ask", PROMPT, "extra"], "got unexpected extra argument(s) (extra)"),
        (["smoke", "--concurrency", "0"], "invalid value for '--concurrency': 0 is not in the range x>=1"),
        (["frobnicate"], "no such command 'frobnicate'"),
    ],
)
def test_a_usage_error_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli(tmp_path, *args)
    assert done.returncode == EXIT_USAGE
    assert done.stderr == f"crazycall: error: {message}\n"
    assert done.stdout == ""


@pytest.mark.parametrize(
    "flags",
    [["--json"], ["-o", "json"], ["--output=json"]],
)
@pytest.mark.parametrize("command", [["ask", "--offline", "--offlin", PROMPT], ["smoke", "--offline", "--offlin"]])
def test_a_usage_error_with_json_asked_prints_the_error_object(
    tmp_path: Path, command: list[str], flags: list[str]
) -> None:
    done = run_cli(tmp_path, *command[:1], *flags, *command[1:])
    assert done.returncode == EXIT_USAGE
    message = "no such option --offlin (did you mean --offline?)"
    assert done.stderr == f"crazycall: error: {message}\n"
    # the same shape as any failing run's --json object
    assert json.loads(done.stdout) == {"error": {"type": "usage_error", "message": message, "exit_code": 2}}
    assert done.stdout.count("\n") == 1


@pytest.mark.parametrize("flags", [["-o", "jsonl"], ["--output", "jsonl"], ["-ojsonl"]])
def test_a_usage_error_with_jsonl_asked_ends_with_an_error_event(tmp_path: Path, flags: list[str]) -> None:
    done = run_cli(tmp_path, "ask", *flags, "--max-turns", "0", PROMPT)
    assert done.returncode == EXIT_USAGE
    event = json.loads(done.stdout.splitlines()[-1])
    assert event == {
        "event": "error",
        "type": "usage_error",
        "message": "invalid value for '--max-turns': 0 is not in the range x>=1",
        "exit_code": 2,
    }


def test_a_failed_smoke_run_prints_its_json_array_and_nothing_else(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "smoke", "--offline", "--fault", "chat=http500", "--max-retries", "0", "--json")
    assert done.returncode == EXIT_PROVIDER
    cases = json.loads(done.stdout)  # one JSON document: no error object after the array
    assert [c["status"] for c in cases].count("pass") == 3


def test_a_prompt_that_says_json_is_not_a_flag(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "--offlin", "--", "--json")
    assert done.returncode == EXIT_USAGE
    assert done.stdout == ""


def test_no_arguments_still_shows_the_help(tmp_path: Path) -> None:
    done = run_cli(tmp_path)
    assert done.returncode == EXIT_USAGE
    assert "Commands:" in done.stderr + done.stdout
    assert "crazycall: error" not in done.stderr


# ---------------------------------------------------------------- 3. blank prompts


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_a_blank_prompt_argument_is_refused(tmp_path: Path, prompt: str) -> None:
    done = run_cli(tmp_path, "ask", "--offline", "--json", prompt)
    assert done.returncode == EXIT_USAGE
    line = "the prompt argument is empty: pass some text, or '-' to read it from stdin"
    assert done.stderr == f"crazycall: error: {line}\n"
    assert json.loads(done.stdout)["error"] == {"type": "usage_error", "message": line, "exit_code": 2}


# ---------------------------------------------------------------- 4. truthful summaries


def test_an_auth_failure_reports_stop_reason_error(tmp_path: Path) -> None:
    with OfflineRouter(api_key="sk-right-key-0001") as router:
        args = ["--base-url", router.url, "--api-key", "sk-wrong-key-0002", "--max-retries", "0"]
        done = run_cli(tmp_path, "ask", *args, *TOOLS, "--json", PROMPT)
    assert done.returncode == EXIT_PROVIDER
    data = json.loads(done.stdout)
    assert data["error"]["type"] == "authentication_error"
    assert data["stop_reason"] == "error"
    assert data["stop_reason"] in STOP_REASONS


def _interrupt_during_tools(tmp_path: Path, *flags: str) -> tuple[int, str, str, Path]:
    """Ask for quick_check and slow_job; Ctrl-C once quick_check has finished."""
    transcript = tmp_path / "run.jsonl"
    args = ["ask", "--offline", "--plugins", str(slow_plugins(tmp_path)), "--transcript", str(transcript), *flags]
    with start(tmp_path, *args, "Run the quick check and the slow job") as proc:
        wait_for_record(transcript, "tool_result", "quick_check")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    return proc.returncode, stdout, stderr, transcript


def test_ctrl_c_during_tools_keeps_the_finished_call_and_no_progress_text(tmp_path: Path) -> None:
    code, stdout, stderr, _ = _interrupt_during_tools(tmp_path, "--json")
    assert code == EXIT_INTERRUPTED
    assert stderr.splitlines()[-1] == "crazycall: error: interrupted"
    data = json.loads(stdout)
    assert data["error"]["type"] == "interrupted"
    assert data["stop_reason"] == "interrupted"
    assert data["text"] == ""  # "Calling quick_check and slow_job." was progress, not an answer
    assert [(c["name"], c["result"]) for c in data["tool_calls"]] == [("quick_check", "quick ok")]


def test_ctrl_c_during_tools_reports_the_unfinished_call_cancelled(tmp_path: Path) -> None:
    code, stdout, _, _ = _interrupt_during_tools(tmp_path, "-o", "jsonl")
    assert code == EXIT_INTERRUPTED
    events = [json.loads(line) for line in stdout.splitlines()]
    names = [e["event"] for e in events]
    calls = {e["name"]: e["id"] for e in events if e["event"] == "tool_call"}
    assert [e["name"] for e in events if e["event"] == "tool_result"] == ["quick_check"]
    cancelled = [e for e in events if e["event"] == "tool_cancelled"]
    assert cancelled == [{"event": "tool_cancelled", "id": calls["slow_job"], "name": "slow_job"}]
    assert names.index("tool_cancelled") < names.index("error")
    assert events[-1]["event"] == "error" and events[-1]["type"] == "interrupted"


# ---------------------------------------------------------------- 6. help and completion


def test_ask_help_ends_with_three_examples(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "--help")
    assert done.returncode == 0
    lines = [line.strip() for line in done.stdout.strip().splitlines()]
    assert lines[-4] == "Examples:"
    assert all(line.startswith("crazycall ask ") for line in lines[-3:])


def test_shell_completion_is_available(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "--show-completion", "bash")
    assert done.returncode == 0, done.stderr
    assert "complete -o default -F _crazycall_completion crazycall" in done.stdout
    env = {"_CRAZYCALL_COMPLETE": "complete_bash", "COMP_WORDS": "crazycall as", "COMP_CWORD": "1"}
    done = run_cli(tmp_path, env={**os.environ, **env})
    assert done.returncode == 0
    assert done.stdout.split() == ["ask"]

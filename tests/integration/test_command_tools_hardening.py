"""Command tools against a hostile model, through the real CLI: an option smuggled into an argv item, exit codes
that are not errors, a background daemon that holds stdout, and Ctrl-C while a tool runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crazycall.offline.server import OfflineRouter
from crazycall.tools import processes
from tests.integration.conftest import KEY, cli, json_out

TOOLS = """\
tools:
  find_logs:
    description: Find .log files under a folder.
    command: [find, "{dir}", -name, "*.log"]
    parameters:
      type: object
      properties:
        dir: {type: string, examples: ["-delete"]}
      required: [dir]
  grep_notes:
    description: Search the notes.
    command: [grep, -r, --, "{pattern}", notes]
    ok_exit_codes: [0, 1]
    parameters:
      type: object
      properties:
        pattern: {type: string, examples: ["-no-such-text-anywhere"]}
      required: [pattern]
    allow_options: [pattern]
"""


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tools.yaml").write_text(TOOLS, encoding="utf-8")
    (tmp_path / "notes").mkdir()
    for name in ("keep.log", "notes/a.txt", "notes/b.log"):
        (tmp_path / name).write_text("some text\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ask_via_router(prompt: str) -> tuple[int, dict[str, Any], list[Any]]:
    """``ask --json`` against the offline router; also the messages of the model's last request."""
    with OfflineRouter(api_key=KEY) as router:
        code, out, err = cli("ask", "--base-url", router.url, "--api-key", KEY, "--json", "--no-transcript", prompt)
        messages = router.requests[-1].body["messages"]
    return code, json_out(out, err), messages


def test_a_model_cannot_smuggle_delete_into_find(project: Path) -> None:
    code, data, messages = ask_via_router("Find the logs")
    assert code == 0, data
    (call,) = data["tool_calls"]
    assert (call["name"], call["arguments"], call["is_error"]) == ("find_logs", {"dir": "-delete"}, True)
    assert call["result"].startswith("argument 'dir' must not start with '-' (got '-delete')")
    sent = messages[-1]  # the model's next request carries the error result (PROTOCOLS.md §1.3)
    assert (sent["role"], sent["content"]) == ("tool", f"ERROR: {call['result']}")
    assert sorted(p.name for p in project.rglob("*.log")) == ["b.log", "keep.log"]  # nothing was deleted


def test_an_exit_code_declared_ok_is_a_result_not_an_error() -> None:
    code, data, messages = ask_via_router("Grep the notes")
    assert code == 0, data
    (call,) = data["tool_calls"]  # grep found nothing (status 1); allow_options let "-no-such..." follow --
    assert (call["name"], call["result"], call["is_error"]) == ("grep_notes", "", False)
    assert messages[-1]["content"] == ""
    code, out, err = cli("tools", "call", "grep_notes", '{"pattern": "some"}')
    assert (code, err) == (0, "")
    assert sorted(out.strip().strip('"').split("\\n")) == ["notes/a.txt:some text", "notes/b.log:some text"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            'command: [find, "{dir}"]\n    allow_options: [dirs]',
            "tools.yaml:4: tool 'bad_tool': 'allow_options' names 'dirs', which is not a parameter (parameters: dir)",
        ),
        (
            "command: [grep, x]\n    ok_exit_codes: [0, 300]",
            "tools.yaml:4: tool 'bad_tool': 'ok_exit_codes' item 1 must be an integer from 0 to 255, got 300",
        ),
    ],
)
def test_bad_hardening_keys_are_config_errors_with_file_and_line(project: Path, entry: str, message: str) -> None:
    (project / "tools.yaml").write_text(f"tools:\n  bad_tool:\n    {entry}\n", encoding="utf-8")
    code, out, err = cli("tools", "list")
    assert (code, out, err) == (3, "", f"crazycall: error: {message}\n")


def test_a_daemon_holding_stdout_does_not_delay_the_result(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Were the result still waiting for the pipes to close, it would take the whole grace (or the daemon's 30 s).
    monkeypatch.setattr(processes, "PIPE_GRACE", 60.0)
    (project / "tools.yaml").write_text('spawn_daemon:\n  command: [sh, -c, "sleep 30 & echo $!"]\n')
    started = time.monotonic()
    code, out, err = cli("tools", "call", "spawn_daemon", "{}")
    assert (code, err) == (0, "")
    assert time.monotonic() - started < 25
    daemon = int(out)  # what the tool left in its process group was killed when it exited (it may still be
    _wait_for(lambda: _gone(daemon), 10)  # finishing its exit after closing the pipe: a moment's grace)
    assert _gone(daemon)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
@pytest.mark.parametrize(
    "command",
    [
        ["ask", "--offline", "--no-transcript", "--json", "Run the sleepy task"],
        ["tools", "call", "sleepy_task", "{}"],
    ],
)
def test_ctrl_c_kills_the_command_tools_it_started(project: Path, command: list[str]) -> None:
    pids = project / "pids"
    script = f"echo $$ > {pids}.tmp; sleep 30 & echo $! >> {pids}.tmp; mv {pids}.tmp {pids}; wait"
    (project / "tools.yaml").write_text(f"sleepy_task:\n  command: [sh, -c, {json.dumps(script)}]\n")
    run = subprocess.Popen(
        [sys.executable, "-m", "crazycall", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(pids.exists, 60)
        shell, sleeper = (int(p) for p in pids.read_text().split())
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    try:
        assert run.returncode == 130, err
        assert "--json" not in command or json.loads(out)["error"]["exit_code"] == 130
        _wait_for(lambda: _gone(shell) and _gone(sleeper), 10)
        assert _gone(shell) and _gone(sleeper)
    finally:  # a failing run leaves no orphans behind
        for pid in (shell, sleeper):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for init to reap it (it runs nothing any more)."""
    if Path("/proc/self").exists():
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] in ("Z", "X")
        except FileNotFoundError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False

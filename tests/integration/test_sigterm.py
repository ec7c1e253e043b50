"""SIGTERM to ``ask`` while a command tool runs: the tool's process group is killed, the transcript gets its end
record, ``--json`` still prints one object, and the exit status is 143 (not Python's default death)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_command_tools_hardening import _gone, _wait_for


def sleepy_tool(tmp_path: Path) -> Path:
    """A tools.yaml whose one tool writes its shell's and a background sleep's pids to the returned file."""
    pids = tmp_path / "pids"
    script = f"echo $$ > {pids}.tmp; sleep 30 & echo $! >> {pids}.tmp; mv {pids}.tmp {pids}; wait"
    (tmp_path / "tools.yaml").write_text(f"sleepy_task:\n  command: [sh, -c, {json.dumps(script)}]\n")
    return pids


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_sigterm_kills_the_command_tools_and_ends_the_transcript(tmp_path: Path) -> None:
    pids, transcript = sleepy_tool(tmp_path), tmp_path / "run.jsonl"
    command = ["ask", "--offline", "--json", "--transcript", str(transcript), "Run the sleepy task"]
    out, err, code, (shell, sleeper) = terminated(command, tmp_path, pids)
    try:
        assert code == 143, err
        assert err.strip().splitlines()[-1] == "crazycall: error: terminated (SIGTERM)"
        assert json.loads(out)["error"]["exit_code"] == 143
        records = [json.loads(line) for line in transcript.read_text().splitlines()]
        assert records[-1]["type"] == "end" and records[-1]["outcome"] == "interrupted"
        _wait_for(lambda: _gone(shell) and _gone(sleeper), 10)
        assert _gone(shell) and _gone(sleeper)
    finally:  # a failing run leaves no orphans behind
        for pid in (shell, sleeper):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_sigterm_ends_eval_with_143_and_kills_its_command_tools(tmp_path: Path) -> None:
    pids = sleepy_tool(tmp_path)
    (tmp_path / "cases.yaml").write_text("models: [gpt-5.4]\ncases: [{id: a, prompt: Run the sleepy task}]\n")
    _out, err, code, (shell, sleeper) = terminated(
        ["eval", "cases.yaml", "--offline", "--no-transcript"], tmp_path, pids
    )
    try:
        assert code == 143, err
        assert "crazycall: error: terminated (SIGTERM)" in err
        _wait_for(lambda: _gone(shell) and _gone(sleeper), 10)
        assert _gone(shell) and _gone(sleeper)
    finally:
        for pid in (shell, sleeper):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def terminated(command: list[str], cwd: Path, pids: Path) -> tuple[str, str, int, tuple[int, int]]:
    """Run crazycall, SIGTERM it once the tool wrote its pids: (stdout, stderr, status, the tool's pids)."""
    run = subprocess.Popen(
        [sys.executable, "-m", "crazycall", *command],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(pids.exists, 60)
        shell, sleeper = (int(p) for p in pids.read_text().split())
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=20)  # less than the tool's `sleep 30`: nothing waits for it
    finally:
        run.kill()
    return out, err, run.returncode, (shell, sleeper)

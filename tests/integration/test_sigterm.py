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


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_sigterm_kills_the_command_tools_and_ends_the_transcript(tmp_path: Path) -> None:
    pids, transcript = tmp_path / "pids", tmp_path / "run.jsonl"
    script = f"echo $$ > {pids}.tmp; sleep 30 & echo $! >> {pids}.tmp; mv {pids}.tmp {pids}; wait"
    (tmp_path / "tools.yaml").write_text(f"sleepy_task:\n  command: [sh, -c, {json.dumps(script)}]\n")
    command = ["ask", "--offline", "--json", "--transcript", str(transcript), "Run the sleepy task"]
    run = subprocess.Popen(
        [sys.executable, "-m", "crazycall", *command],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(pids.exists, 60)
        shell, sleeper = (int(p) for p in pids.read_text().split())
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    try:
        assert run.returncode == 143, err
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

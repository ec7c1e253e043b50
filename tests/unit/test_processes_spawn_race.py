"""A Ctrl-C snapshot (``kill_running``) taken while a command is starting must still kill that command."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from crazycall.tools import processes


def test_kill_running_during_start_kills_the_new_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_popen = subprocess.Popen
    killed: list[int] = []
    killers: list[threading.Thread] = []

    def popen_then_kill(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc: subprocess.Popen[bytes] = real_popen(*args, **kwargs)
        # The window: the process runs but is not tracked yet. Ctrl-C's cleanup looks now, from another thread.
        killer = threading.Thread(target=lambda: killed.append(processes.kill_running(wait=5.0)))
        killer.start()
        killers.append(killer)
        killer.join(0.3)  # unfixed: returns at once having seen nothing; fixed: waits until the start is tracked
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_kill)
    sleep = shutil.which("sleep")
    assert sleep is not None
    finished = processes.run_process(sleep, ["sleep", "30"], None, tmp_path, {}, timeout=3.0, output_limit=1000)
    assert not finished.timed_out  # killed by kill_running, not by the 3 s timeout
    assert finished.returncode == -9
    for killer in killers:
        killer.join(5.0)
    assert killed == [1]

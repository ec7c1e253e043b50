"""The processes command tools start: spawn, wait, capture output, signal their process group, kill on exit.

Each command runs in its own session (so its own process group, led by the command's process). The one rule
(README "Command tools"): **a process group is signalled only while its leader has not been reaped.** Until
the leader is reaped its pid, and so the group id, cannot be given to another process, so a signal can only
reach the tool's own processes. ``Child`` makes this structural: one thread per child waits for the leader's
exit without reaping it (``waitid(WNOWAIT)``), and signalling and reaping happen under one lock; once reaped,
``kill_group`` is a no-op. Where ``waitid`` is missing (macOS) the reaper polls under the lock instead, and
what a tool leaves in its group is not killed at its exit (its pipes are given up on after ``PIPE_GRACE``).

When the leader exits, whatever it left in its group (``sh -c "daemon & echo hi"``) is killed before the
leader is reaped: the result is ready when the tool's own process exits, not when a background child that
holds stdout does. A child that left the group (``setsid``) is out of reach; its pipes are given up on after
``PIPE_GRACE`` seconds. ``kill_running`` kills every group still running: the tool session calls it when a run
ends (Ctrl-C, an error), and it is registered with ``atexit`` as a last resort.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TAIL_BYTES = 65536
#: Seconds the output readers get after the tool's process exited (its group is dead by then, so the pipes
#: normally reach end-of-file at once; only a process that escaped the group can hold them open).
PIPE_GRACE = 1.0
#: Seconds to wait for a killed leader to be reaped.
KILL_WAIT = 5.0
_CHUNK = 65536
_POLL = 0.02

_live: set[Child] = set()
_live_lock = threading.Lock()
#: Held from ``Popen`` until the new child is tracked, and by ``kill_running`` while it takes its snapshot: a
#: process that has started is always in ``_live`` by the time a kill can look (no window for Ctrl-C to miss it).
_spawn_lock = threading.Lock()
_atexit_registered = False


class Child:
    """A started command: its process, a reaper thread, and group signals that can never hit a recycled id."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.exited = threading.Event()
        """Set once the leader was reaped (``proc.returncode`` is then set)."""
        self._lock = threading.Lock()
        self._reaped = False
        _track(self)
        threading.Thread(target=self._reap, name=f"reap-{proc.pid}", daemon=True).start()

    def kill_group(self) -> bool:
        """SIGKILL the whole group if the leader is not reaped yet; False (and no signal) once it is."""
        with self._lock:
            if self._reaped:
                return False
            _killpg(self.proc)
            return True

    def _reap(self) -> None:
        try:
            if _can_wait_without_reaping():
                _wait_exit(self.proc.pid)
                with self._lock:
                    _killpg(self.proc)  # what the tool left behind in its group; the leader is a zombie here
                    self._mark_reaped()
            else:  # pragma: no cover - platforms without waitid(WNOWAIT): poll, reaping under the lock
                while not self._poll_reaped():
                    time.sleep(_POLL)
        finally:
            with _live_lock:
                _live.discard(self)
            self.exited.set()

    def _poll_reaped(self) -> bool:
        with self._lock:
            if self.proc.poll() is None:
                return False
            self._reaped = True
            return True

    def _mark_reaped(self) -> None:
        self.proc.wait()  # returns at once: the leader has exited
        self._reaped = True


def _can_wait_without_reaping() -> bool:
    return hasattr(os, "waitid") and hasattr(os, "WNOWAIT") and hasattr(os, "P_PID")


def _wait_exit(pid: int) -> None:
    """Block until ``pid`` has exited, leaving it to be reaped (its pid stays reserved until then)."""
    with contextlib.suppress(ChildProcessError):  # already reaped: nothing to wait for
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the group ``proc`` leads. Callers hold the child's lock and know the leader is not reaped."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _track(child: Child) -> None:
    global _atexit_registered
    with _live_lock:
        _live.add(child)
        if not _atexit_registered:
            atexit.register(kill_running)
            _atexit_registered = True


def kill_running(wait: float = KILL_WAIT) -> int:
    """Kill the group of every command still running and wait (up to ``wait`` s) until each is reaped."""
    with _spawn_lock, _live_lock:  # a start under way finishes (and is tracked) before the snapshot
        children = list(_live)
    for child in children:
        child.kill_group()
    deadline = time.monotonic() + wait
    for child in children:
        child.exited.wait(max(deadline - time.monotonic(), 0.0))
    return len(children)


class Capture:
    """Reads one pipe in a thread: the first ``limit`` bytes (or, without a limit, the last TAIL_BYTES)."""

    def __init__(self, pipe: IO[bytes] | None, limit: int | None) -> None:
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: IO[bytes] | None) -> None:
        if pipe is None:
            return
        with pipe:
            while chunk := pipe.read1(_CHUNK) if hasattr(pipe, "read1") else pipe.read(_CHUNK):
                self.total += len(chunk)
                if self.limit is None:
                    self.tail += chunk
                    del self.tail[:-TAIL_BYTES]
                elif len(self.head) < self.limit:
                    self.head += chunk[: self.limit - len(self.head)]

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def text(self) -> str:
        data = bytes(self.head if self.limit is not None else self.tail)
        return data.decode("utf-8", errors="replace")


@dataclass
class Finished:
    """How a process ended: its exit status (negative: killed by that signal), whether the timeout killed
    it, and its captured output."""

    returncode: int
    timed_out: bool
    out: Capture
    err: Capture


def run_process(
    program: str,
    argv: Sequence[str],
    data: bytes | None,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    output_limit: int,
) -> Finished:
    """Start, feed ``data`` to stdin, wait up to ``timeout`` (then kill the group); raises OSError if it can't start."""
    with _spawn_lock:  # started and tracked as one step: see _spawn_lock
        proc = subprocess.Popen(
            list(argv),
            executable=program,
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # its own process group: a timeout or Ctrl-C kills its children too
        )
        child = Child(proc)
    out, err = Capture(proc.stdout, output_limit), Capture(proc.stderr, None)
    if data is not None:
        threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True).start()
    timed_out = not child.exited.wait(timeout) and child.kill_group()
    if timed_out:
        child.exited.wait(KILL_WAIT)
    grace = time.monotonic() + PIPE_GRACE
    for capture in (out, err):  # the group is dead: end-of-file comes at once unless a process escaped it
        capture.join(max(grace - time.monotonic(), 0.0))
    code = proc.returncode
    return Finished(code if code is not None else -signal.SIGKILL, timed_out, out, err)


def _feed(pipe: IO[bytes] | None, data: bytes) -> None:
    if pipe is None:
        return
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):  # the program stopped reading: what it read is what it gets
        pass

"""What Python tools write, kept off the real stdout at the file-descriptor level, and kept bounded.

Replacing ``sys.stdout`` only catches ``print``: a subprocess inheriting fd 1, ``os.write(1, ...)``, a C
extension or a late write from a tool thread that timed out all write to descriptor 1 itself, and would land in
front of the ``--json`` object. ``protect_stdout`` therefore points fd 1 at a pipe for a whole command (plugin
import, every tool phase, the end of the run) and hands crazycall's own output a stream on a duplicate of the
real stdout, so renderers keep writing to the terminal or pipe the user gave.

A daemon thread drains the pipe. While the tool runner has a collecting window open (``collect``) the bytes go
to a buffer bounded at ``OUTPUT_LIMIT`` and become the running tool's captured output (``take``); outside one
(a ``print`` at plugin import, a helper thread between turns) they are passed on to stderr, where a user sees
them and no contract is broken. ``take`` is exact: it writes a marker into the pipe and waits until the drain
thread has seen it, so every byte written before the call is accounted for. When the command ends fd 1 is
restored, or pointed at ``/dev/null`` while a thread the run started is still alive (a tool that timed out may
print later; nothing may reach the real stdout after the last JSON line).

fd 1 is one per process, so the guard in force is module state (``active``): the tool runner finds it there
instead of having it threaded through every layer. This module does not know what a tool is or what the
captured text is used for (``runner.py``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

OUTPUT_LIMIT = 1024 * 1024
"""Characters (Python-level) or bytes (fd-level) of one tool call's output that are kept."""
_SYNC_TIMEOUT = 2.0
"""Seconds ``take`` waits for the drain thread; only a drain stuck on a blocked stderr ever needs it."""
_CHUNK = 65536

_active: StdoutGuard | None = None


def cut_note(cut: int, unit: str) -> str:
    return f"\n[output truncated: {cut} more {unit} were cut]"


class BoundedText:
    """A write-only text buffer that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._parts: list[str] = []
        self._size = 0
        self.cut = 0

    def write(self, s: str) -> int:
        room = self.limit - self._size
        if room > 0:
            kept = s[:room]
            self._parts.append(kept)
            self._size += len(kept)
        self.cut += max(len(s) - max(room, 0), 0)
        return len(s)

    def getvalue(self) -> str:
        text = "".join(self._parts)
        return text + cut_note(self.cut, "characters") if self.cut else text


class StdoutGuard:
    """fd 1 -> a pipe drained by a thread; ``stdout`` is where crazycall's own standard output goes."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._cond = threading.Condition()
        self._sync_lock = threading.Lock()
        self._buffer = bytearray()
        self._cut = 0
        self._collecting = False
        self._collectors = 0
        self._closed = False
        self._eof = False
        self._markers_seen = 0
        self._markers_sent = 0
        self._marker = b"\x1b[crazycall-sync-" + os.urandom(8).hex().encode() + b"]\n"
        self._pending = b""
        self._python_stdout = sys.stdout
        self._threads = set(threading.enumerate())
        _flush(sys.stdout)  # what Python already buffered belongs to the real stdout, before the switch
        self._saved = os.dup(1)
        self.stdout: TextIO = self._real_stream()
        read_fd, self._write_fd = os.pipe()
        os.dup2(self._write_fd, 1)
        self._drain = threading.Thread(target=self._run, args=(read_fd,), name="crazycall-stdout-drain", daemon=True)
        self._drain.start()

    def _real_stream(self) -> TextIO:
        """A text stream on the real stdout when sys.stdout writes to fd 1; else sys.stdout itself (tests)."""
        try:
            if sys.stdout.fileno() != 1:
                return sys.stdout
        except (AttributeError, ValueError, OSError):  # a StringIO, typer's CliRunner, a closed stream
            return sys.stdout
        line_buffered = bool(getattr(sys.stdout, "line_buffering", False))  # a terminal: each line at once
        return os.fdopen(
            os.dup(self._saved),
            "w",
            buffering=1 if line_buffered else -1,
            encoding=getattr(sys.stdout, "encoding", None) or "utf-8",
            errors=getattr(sys.stdout, "errors", None) or "strict",
        )

    # ---- the tool runner's side ----

    def collect(self) -> None:
        """From now on fd-1 output is kept for ``take`` (what came before went to stderr). Windows nest: the
        tool phases of concurrent conversations each open one, and collecting stops when the last closes."""
        self._sync()
        with self._cond:
            self._collectors += 1
            self._collecting = True

    def take(self) -> str:
        """Everything written to fd 1 since the last ``take``/``collect``, at most ``limit`` bytes, decoded."""
        self._sync()
        with self._cond:
            data, cut = bytes(self._buffer), self._cut
            self._buffer.clear()
            self._cut = 0
        text = data.decode("utf-8", errors="replace")
        return text + cut_note(cut, "bytes") if cut else text

    def release(self) -> str:
        """Close a window; the last one stops collecting and returns what was written since the last ``take``
        (while another window is open its calls' output stays in the buffer for their ``take``: "")."""
        with self._cond:
            self._collectors = max(self._collectors - 1, 0)
            if self._collectors:
                return ""
        rest = self.take()
        with self._cond:
            self._collecting = self._collectors > 0  # a window opened meanwhile keeps collecting
        return rest

    # ---- the drain thread ----

    def _run(self, read_fd: int) -> None:
        try:
            while True:
                data = os.read(read_fd, _CHUNK)
                if not data:
                    break
                self._feed(data)
        except OSError:
            pass
        finally:
            os.close(read_fd)
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _feed(self, data: bytes) -> None:
        data = self._pending + data
        marker = self._marker
        while (at := data.find(marker)) >= 0:
            self._keep(data[:at])
            data = data[at + len(marker) :]
            with self._cond:
                self._markers_seen += 1
                self._cond.notify_all()
        # The end may be the start of a marker split across two reads: hold it back until the next read.
        hold = next((k for k in range(min(len(marker) - 1, len(data)), 0, -1) if marker.startswith(data[-k:])), 0)
        self._pending = data[len(data) - hold :] if hold else b""
        self._keep(data[: len(data) - hold])

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        with self._cond:
            if self._closed:
                return  # after the command: a sink
            if self._collecting:
                room = max(self.limit - len(self._buffer), 0)
                self._buffer += data[:room]
                self._cut += len(data) - len(data[:room])
                return
        _write_all(2, data)

    def _sync(self) -> None:
        """Return once every byte written to fd 1 before this call has been through ``_keep``."""
        with self._sync_lock:
            _flush(self._python_stdout)  # a helper thread's print may still sit in Python's buffer
            with self._cond:
                if self._eof:
                    return
                self._markers_sent += 1
                wanted = self._markers_sent
            _write_all(self._write_fd, self._marker)
            with self._cond:
                self._cond.wait_for(lambda: self._markers_seen >= wanted or self._eof, _SYNC_TIMEOUT)

    # ---- the end ----

    def close(self) -> None:
        """Restore fd 1, or point it at /dev/null while a thread started during the command still runs."""
        _flush(self.stdout)
        self._sync()
        with self._cond:
            self._closed = True
        lingering = any(t.is_alive() for t in threading.enumerate() if t not in self._threads and t is not self._drain)
        if lingering:
            sink = os.open(os.devnull, os.O_WRONLY)
            os.dup2(sink, 1)
            os.close(sink)
        else:
            os.dup2(self._saved, 1)
        os.close(self._saved)
        os.close(self._write_fd)  # the drain thread ends once no one else holds the pipe
        if self.stdout is not sys.stdout and self.stdout is not self._python_stdout:
            self.stdout.close()


def _flush(stream: TextIO | None) -> None:
    try:
        if stream is not None:
            stream.flush()
    except (OSError, ValueError):  # a closed stream or a broken pipe: nothing left to deliver
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError:  # stderr closed, or fd 1 was replaced after a broken pipe: drop rather than hang
        pass


def active() -> StdoutGuard | None:
    """The guard protecting fd 1 right now, if any."""
    return _active


def _fd1_open() -> bool:
    try:
        os.fstat(1)
    except OSError:
        return False
    return True


@contextmanager
def protect_stdout() -> Iterator[TextIO]:
    """Protect fd 1 for the block; yields the stream crazycall's own standard output must use.

    Nested use yields the outer guard's stream. Without an open fd 1 there is nothing to protect.
    """
    global _active
    if _active is not None:
        yield _active.stdout
        return
    if not _fd1_open():
        yield sys.stdout
        return
    guard = StdoutGuard()
    _active = guard
    try:
        yield guard.stdout
    finally:
        _active = None
        guard.close()

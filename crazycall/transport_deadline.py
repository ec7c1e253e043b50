"""One model request's deadline (``--timeout``) as the transport enforces it, attempt by attempt.

Owns the wall-clock arithmetic and the watchdog that hangs up a body outliving the deadline (a blocked read
ends at once when its socket is shut down; a timeout alone would not): one thread for the whole process,
started on first use, not a timer thread per request (starting a thread costs more than the rest of an
attempt's bookkeeping, and many concurrent conversations would each hold one). Kept apart from transport.py, which
owns the HTTP exchange; no httpx import here (the response is only asked for its socket).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Any

from crazycall.errors import DeadlineExceeded as DeadlineExceeded  # its home is errors.py


class Attempt:
    """One HTTP attempt's deadline: bounds the wait for headers and hangs up a body that outlives it.

    ``responded`` says the response's headers arrived (a failure after that is a cut body, not a lost
    connection); ``hang_up`` ends the attempt's blocked read from another thread (a Transport closed
    while a conversation still waits, as smoke does with a case past its timeout).
    """

    def __init__(self, deadline_at: float | None) -> None:
        self.deadline_at = deadline_at
        self.fired = False
        self.responded = False
        self._sock: Any = None
        self._watched: _Entry | None = None

    def remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def watch(self, response: Any) -> None:
        """Shut the socket down at the deadline: a blocked read then ends at once (a timeout alone would not)."""
        self.responded = True
        stream = response.extensions.get("network_stream")
        self._sock = stream.get_extra_info("socket") if stream is not None else None
        if self.deadline_at is None or self._sock is None:
            return
        self._watched = _WATCHDOG.watch(self.deadline_at, self)

    def fire(self) -> None:
        """The deadline passed with the body still open (the watchdog's call)."""
        self.fired = True
        self.hang_up()

    def hang_up(self) -> None:
        """Shut the response's socket down (no-op before the headers arrived): a read blocked on it ends."""
        import contextlib
        import socket

        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed: the read has ended anyway
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        if self._watched is not None:
            _WATCHDOG.forget(self._watched)
            self._watched = None

    def expired(self) -> bool:
        left = self.remaining()
        # A read timeout set to what was left can fire a hair early by the monotonic clock.
        return self.fired or (left is not None and left <= 0.02)


_Entry = tuple[float, int, Attempt]
"""(deadline, tie-breaker, attempt): the watchdog's heap order."""


class _Watchdog:
    """The attempts whose bodies are open, by deadline, and one daemon thread that fires each one due."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline_at: float, attempt: Attempt) -> _Entry:
        entry = (deadline_at, next(self._order), attempt)
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="crazycall-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return entry

    def forget(self, entry: _Entry) -> None:
        """The attempt ended first. Removed at once: the heap holds only open bodies (at most the concurrency)."""
        with self._cond:
            try:
                self._heap.remove(entry)
            except ValueError:  # fired already
                return
            heapq.heapify(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                attempt = heapq.heappop(self._heap)[2]
            attempt.fire()  # outside the lock: a shutdown can take a moment


_WATCHDOG = _Watchdog()

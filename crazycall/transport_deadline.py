"""One model request's deadline (``--timeout``) as the transport enforces it, attempt by attempt.

Owns the wall-clock arithmetic and the watchdog that hangs up a body outliving the deadline (a blocked read
ends at once when its socket is shut down; a timeout alone would not). Kept apart from transport.py, which
owns the HTTP exchange; no httpx import here (the response is only asked for its socket).
"""

from __future__ import annotations

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
        self._timer: threading.Timer | None = None

    def remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def watch(self, response: Any) -> None:
        """Shut the socket down at the deadline: a blocked read then ends at once (a timeout alone would not)."""
        self.responded = True
        left = self.remaining()
        stream = response.extensions.get("network_stream")
        self._sock = stream.get_extra_info("socket") if stream is not None else None
        if left is None or self._sock is None:
            return

        def fire() -> None:
            self.fired = True
            self.hang_up()

        self._timer = threading.Timer(max(left, 0.0), fire)
        self._timer.daemon = True
        self._timer.start()

    def hang_up(self) -> None:
        """Shut the response's socket down (no-op before the headers arrived): a read blocked on it ends."""
        import contextlib
        import socket

        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed: the read has ended anyway
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def expired(self) -> bool:
        left = self.remaining()
        # A read timeout set to what was left can fire a hair early by the monotonic clock.
        return self.fired or (left is not None and left <= 0.02)

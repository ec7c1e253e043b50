"""SIGTERM handled like Ctrl-C: owns ``sigterm_as_interrupt`` and the ``SigTerm`` exception it raises.

Python's default SIGTERM ends the process at once, skipping every ``finally``: command tools (in their own
process groups) would keep running and the transcript would have no end. Inside ``sigterm_as_interrupt`` a
SIGTERM raises ``SigTerm`` (a ``KeyboardInterrupt``) in the main thread instead, so it takes the Ctrl-C path
(tools' groups killed, the end record written); the command then exits 143 (128 + SIGTERM), not 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from crazycall.errors import EXIT_TERMINATED, Interrupted, Terminated


class SigTerm(KeyboardInterrupt):
    """The process was asked to stop with SIGTERM."""

    exit_code = EXIT_TERMINATED


def interrupted(exc: KeyboardInterrupt) -> Interrupted:
    """The error a stopped run reports: ``Terminated`` (exit 143) for SIGTERM, ``Interrupted`` (130) for Ctrl-C."""
    return Terminated("terminated (SIGTERM)") if isinstance(exc, SigTerm) else Interrupted("interrupted")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SigTerm`` once; a second SIGTERM during the cleanup is ignored so
    that the cleanup (bounded: ``processes.KILL_WAIT``) finishes. No-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SigTerm()

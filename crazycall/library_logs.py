"""Log lines of libraries (the MCP SDK, and whatever it uses) waiting for the run's transcript.

Any thread may ``add`` a line (the MCP SDK logs on the MCP event loop's thread); the transcript ``take``s them in
the main thread and writes each as a ``log`` record before the next run event it records, so that a transcript
holds the details stderr leaves out. Bounded: beyond ``LIMIT`` waiting lines the oldest are dropped. Nothing
here formats or redacts (``tools/mcp/logs.py`` makes each line; the transcript redacts every record).
"""

from __future__ import annotations

import collections

LIMIT = 200
_waiting: collections.deque[str] = collections.deque(maxlen=LIMIT)


def add(line: str) -> None:
    _waiting.append(line)  # deque.append and popleft are atomic: no lock needed between the two threads


def clear() -> None:
    _waiting.clear()


def waiting() -> bool:
    return bool(_waiting)


def take() -> list[str]:
    lines = []
    while True:
        try:
            lines.append(_waiting.popleft())
        except IndexError:
            return lines

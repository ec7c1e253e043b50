"""Plain output for scripts and pipes: the answer on stdout, one short progress line per step on stderr.

Text deltas are written straight through (no buffering beyond the stream's own), so long answers cost
linear time. No colours, no cursor movement, nothing but the answer on stdout.
"""

from __future__ import annotations

import json
from typing import TextIO

from crazycall.events import (
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
)


def one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PlainRenderer:
    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool = False) -> None:
        self.out, self.err, self.quiet = out, err, quiet
        self._last_char = "\n"

    def __call__(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            if not self.quiet:
                self.out.write(event.text)
                self._last_char = event.text[-1]
        elif isinstance(event, RunFinished):
            if self.quiet:
                self.out.write(event.result.text)
                self._last_char = event.result.text[-1:] or "\n"
            if self._last_char != "\n":
                self.out.write("\n")
            self.out.flush()
        elif not self.quiet:
            self._progress(event)

    def _progress(self, event: Event) -> None:
        line = None
        if isinstance(event, RunStarted):
            line = f"crazycall: {event.model} via {event.protocol} ({event.endpoint})"
        elif isinstance(event, ToolStarted):
            args = (
                json.dumps(event.call.arguments, ensure_ascii=False)
                if not event.call.arguments_error
                else (event.call.raw_arguments)
            )
            line = f"tool {event.call.name} {one_line(args, 100)}"
        elif isinstance(event, ToolFinished):
            status = "error" if event.result.is_error else "ok"
            line = f"tool {event.call.name} {status} in {event.duration_ms:.0f} ms: {one_line(event.result.content)}"
        elif isinstance(event, RunFailed) and self._last_char != "\n":
            self.out.write("\n")
            self.out.flush()
        if line is not None:
            if self._last_char != "\n":
                # keep stdout tidy: the answer continues after the tool phase on a new line
                self.out.write("\n")
                self._last_char = "\n"
                self.out.flush()
            self.err.write(line + "\n")
            self.err.flush()

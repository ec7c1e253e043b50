"""The live region of the terminal renderer: what is still changing, redrawn in place under the printed lines.

It shows, top to bottom: the reasoning line still arriving, the Markdown block still growing (only its last
lines when it is taller than the terminal), one spinner row per tool call whose arguments are streaming or
which is running (so parallel calls are visibly parallel), and a spinner while waiting for the model.
Everything finished is printed above it once by console.py and never redrawn.

Threads: the renderer (main thread) replaces whole attributes (tuples, strings) and appends to the buffers the
two callables join; Rich's refresh thread only reads, under Rich's own lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from crazycall.render.console_parts import markdown_lines
from crazycall.render.plain import duration

SPINNER = "dots"


@dataclass(frozen=True)
class Row:
    """One line of activity: a tool call receiving its arguments, or running."""

    key: object
    name: str
    started: float
    arguments_chars: int | None = None
    """Characters of arguments received so far while the model streams them; None once the call runs."""


class LiveView:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.waiting: str | None = None
        """The spinner's message while nothing else shows progress (waiting for the model)."""
        self.open_reasoning: Callable[[], str] = str
        """Returns the reasoning line still arriving (finished lines are printed)."""
        self.open_block: Callable[[], str] = str
        """Returns the Markdown block still growing ("" when none)."""
        self.gap = False
        """Whether a blank line goes above the open block (it follows printed blocks or tool lines)."""
        self.rows: tuple[Row, ...] = ()
        self._spinners: dict[object, Spinner] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType | Segment]:
        rows, waiting, reasoning, block = self.rows, self.waiting, self.open_reasoning(), self.open_block()
        if reasoning:
            yield Text(reasoning, style="dim italic")
        if block:
            if self.gap:
                yield Segment.line()
            # keep the spinner rows on screen: the block gets what the terminal has left
            room = max(options.size.height - len(rows) - (2 if waiting else 1) - (1 if reasoning else 0), 3)
            yield from _tail(console, options, block, room)
        self._spinners = {row.key: self._spinner(row.key) for row in rows}
        now = self.clock()
        for row in rows:
            spinner = self._spinners[row.key]
            spinner.update(text=_row_text(row, now))
            yield spinner
        if waiting:
            spinner = self._spinner("waiting")
            self._spinners["waiting"] = spinner
            spinner.update(text=Text(waiting, style="dim"))
            yield spinner

    def _spinner(self, key: object) -> Spinner:
        return self._spinners.get(key) or Spinner(SPINNER, style="cyan")


def _row_text(row: Row, now: float) -> Text:
    text = Text(row.name, style="bold cyan")
    if row.arguments_chars is not None:
        text.append(f" · receiving arguments · {row.arguments_chars:,} chars", style="dim")
    else:
        text.append(f" · running · {duration((now - row.started) * 1000)}", style="dim")
    return text


def _tail(console: Console, options: ConsoleOptions, block: str, room: int) -> Iterator[Segment]:
    """The last ``room`` lines of the rendered block (the newest text is what the reader follows)."""
    for line in markdown_lines(console, options, block)[-room:]:
        yield from line
        yield Segment.line()

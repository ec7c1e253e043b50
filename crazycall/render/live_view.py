"""The live region of the terminal renderer: what is still changing, redrawn in place under the printed lines.

It shows, top to bottom: the reasoning line still arriving, the Markdown block still growing (only its last
lines when it is taller than the terminal), one spinner row per tool call whose arguments are streaming or
which is running (so parallel calls are visibly parallel), and a spinner while waiting for the model.
Everything finished is printed above it once by console.py and never redrawn.

Threads: the renderer (main thread) replaces whole attributes (tuples, strings) and appends to the buffers the
two callables join; Rich's refresh thread only reads, under Rich's own lock (and owns the render cache).

Cost: of a long open block only the last few screens' worth is rendered (the lines above them would be cut
off anyway), so a redraw costs about the same however long the block has grown, and an answer twice as long
takes about twice as long. The open block is rendered again only when it changed, and one still slow to render
at most once per ``SLOW_RENDER_SPACING`` times its own render time, its last rendering shown meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from crazycall.render.console_parts import markdown_lines
from crazycall.render.plain import duration

SPINNER = "dots"
TAIL_SCREENS = 4
"""Of a long open block, about this many screens' worth of its end is rendered (see BlockSplitter.open_tail)."""
SLOW_RENDER = 0.02
"""Seconds: a block that takes longer than this to render is throttled (see above); quicker ones never are."""
SLOW_RENDER_SPACING = 5.0


@dataclass(frozen=True)
class Row:
    """One line of activity: a tool call receiving its arguments, or running."""

    key: object
    name: str
    started: float
    arguments_chars: int | None = None
    """Characters of arguments received so far while the model streams them; None once the call runs."""
    progress: str = ""
    """What the running tool last reported of its progress (``console_parts.progress_text``)."""


class LiveView:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.waiting: str | None = None
        """The spinner's message while nothing else shows progress (waiting for the model)."""
        self.open_reasoning: Callable[[], str] = str
        """Returns the reasoning line still arriving (finished lines are printed)."""
        self.open_block: Callable[[int], str] = lambda _limit: ""
        """Returns the Markdown block still growing ("" when none), or as much of its end as a redraw needs
        when it is longer than the given number of characters (``BlockSplitter.open_tail``)."""
        self.gap = False
        """Whether a blank line goes above the open block (it follows printed blocks or tool lines)."""
        self.rows: tuple[Row, ...] = ()
        self._spinners: dict[object, Spinner] = {}
        self._rendered: _Rendered | None = None
        self.slow_render = SLOW_RENDER
        self.timer: Callable[[], float] = time.perf_counter
        """Measures render times (the wall clock, whatever ``clock`` is)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType | Segment]:
        rows, waiting, reasoning = self.rows, self.waiting, self.open_reasoning()
        # keep the spinner rows on screen: the block gets what the terminal has left
        room = max(options.size.height - len(rows) - (2 if waiting else 1) - (1 if reasoning else 0), 3)
        block = self.open_block(TAIL_SCREENS * room * max(options.max_width, 20))
        if reasoning:
            yield Text(reasoning, style="dim italic")
        if block:
            if self.gap:
                yield Segment.line()
            for line in self._tail(console, options, block, room):
                yield from line
                yield Segment.line()
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

    def _tail(self, console: Console, options: ConsoleOptions, block: str, room: int) -> list[list[Segment]]:
        """The last ``room`` screen lines of the rendered block (the newest text is what the reader follows)."""
        key = (block, options.max_width, room)
        last = self._rendered
        if last is not None and (last.key == key or last.slow_until > self.timer()):
            return last.lines
        started = self.timer()
        lines = markdown_lines(console, options, block)[-room:]
        now = self.timer()
        cost = now - started
        self._rendered = _Rendered(key, lines, now + SLOW_RENDER_SPACING * cost if cost > self.slow_render else 0.0)
        return lines


@dataclass(frozen=True)
class _Rendered:
    key: tuple[str, int, int]
    """The block, width and height it was rendered for."""
    lines: list[list[Segment]]
    slow_until: float
    """For a slow block, the time before which its lines are shown again even if it has grown; else 0."""


def _row_text(row: Row, now: float) -> Text:
    text = Text(row.name, style="bold cyan")
    if row.arguments_chars is not None:
        text.append(f" · receiving arguments · {row.arguments_chars:,} chars", style="dim")
    else:
        text.append(f" · running · {duration((now - row.started) * 1000)}", style="dim")
        if row.progress:
            text.append(f" · {row.progress}", style="dim")
    return text

"""The terminal renderer (Rich): a live, readable account of every step of a run.

Owns what a person at a terminal sees and when: a spinner with the model and protocol until the first token;
the answer rendered as Markdown while it streams (each finished block printed once, only the growing block
redrawn: cost linear in the answer's length, see markdown_stream.py); reasoning dimmed, or hidden with
``--no-reasoning``; each tool call as it happens (arguments arriving, the call with pretty arguments, a spinner
row per running call with the progress it reports, the result cut to a few lines with its size and duration,
errors in red with the reason the model was given); and a closing line with turns, tool calls, tokens and wall
time. A failed or interrupted
run still prints everything it knew, stops the live region and shows the cursor again.

Colour and width follow the Console it is given (NO_COLOR, ``--no-color``, the terminal's size). When that
Console is not an interactive terminal (a file, a pipe, TERM=dumb) nothing is redrawn: the same lines are
printed once each, without spinners. It consumes events only; the exact look of each line is in
console_parts.py, the live region in live_view.py. Whatever came from the network or a tool is shown with its
control characters made visible (render/sanitize.py) and the key masked, also in the still-growing block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.text import Text

from crazycall.conversation import Usage
from crazycall.events import (
    Event,
    ReasoningDelta,
    ResponseCompleted,
    RunFailed,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
    ToolFinished,
    ToolProgress,
    ToolStarted,
    TurnFinished,
    TurnStarted,
)
from crazycall.redact import mask_known, mask_open_end
from crazycall.render.console_parts import (
    MarkdownBlock,
    closing_line,
    progress_text,
    tool_cancelled,
    tool_declined,
    tool_header,
    tool_result,
)
from crazycall.render.live_view import LiveView, Row
from crazycall.render.markdown_stream import BlockSplitter
from crazycall.render.sanitize import visible, visible_line
from crazycall.tools.approval import declined_for_user

REFRESH_PER_SECOND = 12.5
"""Redraws of the live region per second: smooth enough to read along, cheap enough for long answers."""


class ConsoleRenderer:
    def __init__(
        self,
        console: Console,
        *,
        show_reasoning: bool = True,
        clock: Callable[[], float] = time.perf_counter,
        animate: bool = True,
    ) -> None:
        """``animate=False`` redraws the live region only on structural changes (tests: deterministic output)."""
        self.console = console
        self.show_reasoning = show_reasoning
        self.clock = clock
        self.animate = animate
        self._view = LiveView(clock)
        self._live: Any = None
        self._text = BlockSplitter()
        # What is shown of model text is masked (the key) and made visible (control characters) when shown:
        # blocks join the deltas first, so a key split between two deltas is masked as well.
        self._view.open_block = lambda limit: visible(mask_open_end(self._text.open_tail(limit)))
        self._blocks = 0
        """Markdown blocks printed in the current stretch of text (a blank line goes between two)."""
        self._section: str | None = None
        """What was printed last: text, reasoning, tools or None; a blank line separates two different ones."""
        self._reasoning: list[str] = []
        self._view.open_reasoning = lambda: visible(mask_open_end("".join(self._reasoning)))
        self._started = clock()
        self._paused = False
        self._label = ""
        self._turns = 0
        self._tool_calls = 0
        self._usage = Usage()
        self._handlers: dict[type, Callable[[Any], None]] = {
            TextDelta: self._on_text,
            ReasoningDelta: self._on_reasoning,
            RunStarted: self._on_run_started,
            TurnStarted: self._on_turn_started,
            ToolCallStarted: self._on_call_streaming,
            ToolCallArgumentsDelta: self._on_arguments,
            ResponseCompleted: self._on_response,
            TurnFinished: self._on_turn_finished,
            ToolStarted: self._on_tool_started,
            ToolProgress: self._on_tool_progress,
            ToolFinished: self._on_tool_finished,
            RunFinished: self._on_run_finished,
            RunFailed: self._on_run_failed,
        }

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        if self._paused and not isinstance(event, (RunFinished, RunFailed)):
            self._paused = False
            self._start_live()
        handler(event)

    def pause(self, _call: object = None) -> None:
        """Stop redrawing until the next event: the live region is cleared and the cursor shown, so that
        something else can use the terminal (the approval prompt calls this before it asks)."""
        if self._live is not None:
            self._flush()
            self._stop_live()
            self._paused = True

    # ---- run and turns ----

    def _on_run_started(self, event: RunStarted) -> None:
        self._started = self.clock()
        self._label = visible_line(f"{event.model} via {event.protocol}")
        self._view.waiting = self._label
        self._start_live()

    def _start_live(self) -> None:
        if not self.console.is_interactive:
            return
        from rich.live import Live

        self._live = Live(
            self._view,
            console=self.console,
            auto_refresh=self.animate,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=True,
            # The tool runner swaps sys.stdout/err while tools run; Live must not swap them as well.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start(refresh=True)

    def _on_turn_started(self, event: TurnStarted) -> None:
        self._turns = event.turn
        self._set_waiting(self._label if event.turn == 1 else f"{self._label} · turn {event.turn}")

    def _on_turn_finished(self, event: TurnFinished) -> None:
        self._usage = self._usage + event.usage

    def _on_run_finished(self, event: RunFinished) -> None:
        result = event.result
        took = self.clock() - self._started
        cost = result.extra.get("cost_usd")  # present only when prices: has the model (README "Cost and budgets")
        self._close(closing_line(result.turns, self._tool_calls, result.usage, took, label=self._label, cost=cost))

    def _on_run_failed(self, event: RunFailed) -> None:
        interrupted = event.error.kind == "interrupted"
        failure = "interrupted" if interrupted else f"failed ({event.error.kind})"
        p = event.partial
        turns, usage = (p.turns, p.usage) if p else (self._turns, self._usage)
        if interrupted:  # a running call's spinner would just vanish: say it was cancelled
            cancelled = [tool_cancelled(r.name) for r in self._view.rows if r.arguments_chars is None]
            if cancelled:
                self._enter("tools")
                self._print_lines(cancelled)
        # the calls that finished (the renderer saw each), not those the interrupted turn had started
        took = self.clock() - self._started
        cost = p.extra.get("cost_usd") if p else None
        self._close(closing_line(turns, self._tool_calls, usage, took, failure, self._label, cost))

    def _close(self, line: Text) -> None:
        """Print what is still open, stop the live region (cursor shown again), then the closing line."""
        try:
            self._flush()
            self._view.rows = ()
            self._view.waiting = None
        finally:
            self._stop_live()
        self._enter("summary")
        self.console.print(line)

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    # ---- model output ----

    def _on_text(self, event: TextDelta) -> None:
        self._view.waiting = None
        if self._reasoning:
            self._flush_reasoning()
        # No redraw per delta: the refresh thread redraws at its own pace, which keeps long answers linear.
        for block in self._text.feed(event.text):
            self._print_block(block)
        # the blank line that will go above the open block once it is printed, shown already
        self._view.gap = self._blocks > 0 or self._section not in (None, "text")

    def _on_reasoning(self, event: ReasoningDelta) -> None:
        if not self.show_reasoning:
            self._set_waiting("thinking")
            return
        self._view.waiting = None
        self._flush_text()
        *done, rest = event.text.split("\n")
        if not done:
            self._reasoning.append(rest)
            return
        lines = ["".join(self._reasoning) + done[0], *done[1:]]
        self._reasoning.clear()
        if rest:
            self._reasoning.append(rest)
        self._enter("reasoning")
        for line in lines:
            self.console.print(Text(_shown(line), style="dim italic"))

    def _on_call_streaming(self, event: ToolCallStarted) -> None:
        self._flush()
        self._view.waiting = None
        self._view.rows = (*self._view.rows, Row(("args", event.index), visible_line(event.name), self.clock(), 0))
        self._refresh()

    def _on_arguments(self, event: ToolCallArgumentsDelta) -> None:
        key = ("args", event.index)
        self._view.rows = tuple(
            Row(r.key, r.name, r.started, (r.arguments_chars or 0) + len(event.delta)) if r.key == key else r
            for r in self._view.rows
        )

    def _on_response(self, event: ResponseCompleted) -> None:
        self._flush()
        self._view.rows = tuple(r for r in self._view.rows if r.arguments_chars is None)
        if event.response.message.tool_calls:
            self._view.waiting = None
        self._refresh()

    # ---- tools ----

    def _on_tool_started(self, event: ToolStarted) -> None:
        self._view.waiting = None
        self._enter("tools")
        self._print_lines(tool_header(event.call, self.console.width))
        self._view.rows = (*self._view.rows, Row(event.call.id, visible_line(event.call.name), self.clock()))
        self._refresh()

    def _on_tool_progress(self, event: ToolProgress) -> None:
        text = progress_text(event.progress, event.total, event.message)
        self._view.rows = tuple(replace(r, progress=text) if r.key == event.call.id else r for r in self._view.rows)
        if not self.animate:  # else the refresh thread shows it at its own pace: reports can come by the thousand
            self._refresh()

    def _on_tool_finished(self, event: ToolFinished) -> None:
        self._tool_calls += 1
        self._view.rows = tuple(r for r in self._view.rows if r.key != event.call.id)
        result = event.result
        self._enter("tools")
        if event.declined is not None:
            message = declined_for_user(event.declined, event.call.name)
            self._print_lines(tool_declined(self.console, event.call, message))
        else:
            self._print_lines(
                tool_result(self.console, event.call, result.content, result.is_error, event.duration_ms, event.output)
            )
        self._refresh()

    # ---- helpers ----

    def _print_block(self, block: str) -> None:
        if self._blocks:
            self.console.print()
        self._enter("text")
        self._blocks += 1
        self._view.gap = True  # the live region is redrawn under this block by the same print
        self.console.print(MarkdownBlock(_shown(block)))

    def _print_lines(self, lines: list[Text]) -> None:
        for line in lines:
            # passed again here: Console.print joins Text objects into a new Text that forgets them
            self.console.print(line, no_wrap=line.no_wrap, overflow=line.overflow)

    def _flush(self) -> None:
        self._flush_reasoning()
        self._flush_text()

    def _flush_text(self) -> None:
        block = self._text.close()
        if block is not None:
            self._print_block(block)
        self._blocks = 0

    def _flush_reasoning(self) -> None:
        line = "".join(self._reasoning)
        self._reasoning.clear()
        if line:
            self._enter("reasoning")
            self.console.print(Text(_shown(line), style="dim italic"))

    def _enter(self, section: str) -> None:
        if self._section not in (None, section):
            self.console.print()
        self._section = section

    def _set_waiting(self, message: str) -> None:
        if self._view.waiting != message:
            self._view.waiting = message
            self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()


def _shown(text: str) -> str:
    """Model text as it may reach the terminal: the key masked, control characters made visible."""
    return visible(mask_known(text))

"""The terminal renderer (Rich): live text, each tool call as it happens, a closing summary line.

Consumes events only. Text deltas are written through as they arrive (linear cost); tool activity and the
summary use Rich styling. Colour follows Rich's own rules (NO_COLOR, TERM, --no-color -> no_color=True).
"""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.text import Text

from crazycall.events import (
    Event,
    ReasoningDelta,
    RunFailed,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnStarted,
)

RESULT_LINES = 4


class ConsoleRenderer:
    def __init__(self, console: Console, *, show_reasoning: bool = True) -> None:
        self.console = console
        self.show_reasoning = show_reasoning
        self._status: Any = None
        self._mid_line = False
        self._in_reasoning = False
        self._started = time.perf_counter()
        self._tool_calls = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, (TextDelta, ReasoningDelta)):
            self._stop_spinner()
            self._delta(event)
            return
        if isinstance(event, RunStarted):
            self._started = time.perf_counter()
            self._spin(f"{event.model} via {event.protocol}")
        elif isinstance(event, TurnStarted) and event.turn > 1:
            self._spin("waiting for the model")
        elif isinstance(event, ToolStarted):
            self._stop_spinner()
            self._tool_started(event)
        elif isinstance(event, ToolFinished):
            self._tool_finished(event)
        elif isinstance(event, RunFinished):
            self._stop_spinner()
            self._newline()
            r = event.result
            took = time.perf_counter() - self._started
            self.console.print(
                Text(
                    f"{r.turns} turn(s) · {len(r.tool_calls)} tool call(s) · "
                    f"{r.usage.input_tokens} in / {r.usage.output_tokens} out tokens · {took:.1f} s",
                    style="dim",
                )
            )
        elif isinstance(event, RunFailed):
            self._stop_spinner()
            self._newline()

    def _delta(self, event: TextDelta | ReasoningDelta) -> None:
        reasoning = isinstance(event, ReasoningDelta)
        if reasoning and not self.show_reasoning:
            return
        if reasoning != self._in_reasoning:
            self._newline()
            self._in_reasoning = reasoning
        self.console.print(Text(event.text, style="dim italic" if reasoning else ""), end="", soft_wrap=True)
        self._mid_line = not event.text.endswith("\n")

    def _tool_started(self, event: ToolStarted) -> None:
        self._newline()
        self._tool_calls += 1
        call = event.call
        args = call.raw_arguments if call.arguments_error else json.dumps(call.arguments, ensure_ascii=False)
        line = Text("⚙ ", style="cyan")
        line.append(call.name, style="bold cyan")
        line.append(" " + args, style="cyan")
        self.console.print(line, soft_wrap=True)
        self._spin(f"running {call.name}")

    def _tool_finished(self, event: ToolFinished) -> None:
        content = event.result.content
        lines = content.splitlines() or [""]
        shown = "\n".join("  " + ln for ln in lines[:RESULT_LINES])
        more = f" (+{len(lines) - RESULT_LINES} lines, {len(content)} chars)" if len(lines) > RESULT_LINES else ""
        style = "red" if event.result.is_error else "green"
        mark = "✗" if event.result.is_error else "✓"
        head = Text(f"{mark} {event.call.name} {event.duration_ms:.0f} ms{more}", style=style)
        self._pause_spinner_print(head, Text(shown, style="red" if event.result.is_error else "dim"))
        if event.output:
            self._pause_spinner_print(Text("  output: " + event.output.strip(), style="dim"))

    def _pause_spinner_print(self, *items: Text) -> None:
        for item in items:
            self.console.print(item, soft_wrap=True)

    def _spin(self, message: str) -> None:
        if not self.console.is_terminal:
            return
        if self._status is None:
            self._status = self.console.status(message, spinner="dots")
            self._status.start()
        else:
            self._status.update(message)

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _newline(self) -> None:
        if self._mid_line:
            self.console.print()
            self._mid_line = False

"""Plain output for scripts and pipes: the final answer alone on stdout, one short line per step on stderr.

The rule a script can rely on: stdout holds the text of the model's final turn (the one that asked for no
tool) and nothing else, ended by one newline. Text the model writes in a turn that goes on to call tools
("I'll look that up") is progress, not the answer, so it goes to stderr as a ``model:`` line. Since a turn is
only known to be final when its response completes, each turn's text is held until then and written at once;
when the run offers no tools at all every turn is final, so text is written straight through as it streams
(flushed by the run whenever it waits for the network, not once per delta).
If the run fails or is interrupted mid-turn, the text received so far still goes to stdout (what is known),
and the exit status says the run failed.

stderr gets one line per step (start, model text of tool turns, reasoning, each tool call and its result,
the closing tally); ``--quiet`` drops them all. Never colours, cursor movement or control characters: the
tools' and the model's progress text is reduced to one printable line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from crazycall.events import (
    Event,
    ReasoningDelta,
    ResponseCompleted,
    RunFailed,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnStarted,
)
from crazycall.redact import SecretStream, mask_known, redact
from crazycall.render.sanitize import visible
from crazycall.textbuffer import TextBuffer
from crazycall.tools.approval import declined_for_user


def one_line(text: str, limit: int = 120) -> str:
    """Whitespace collapsed, control characters made visible (render/sanitize.py), cut to ``limit`` with an
    ellipsis."""
    text = visible(mask_known(" ".join(text.split())))  # masked before the cut, which could halve a key
    return text if len(text) <= limit else text[: limit - 1] + "…"


def duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class PlainRenderer:
    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        quiet: bool = False,
        show_reasoning: bool = True,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.out, self.err, self.quiet = out, err, quiet
        self.show_reasoning = show_reasoning
        self.clock = clock
        self._started = clock()
        self._text = TextBuffer()
        """This turn's text, held until the turn shows whether it is the answer."""
        self._reasoning = TextBuffer()
        self._stream_through = False
        self._structured = False
        """--schema: stdout gets the validated JSON document alone, at the end (answers sent back never show)."""
        self._running: dict[str, str] = {}
        """Calls started and not finished (id -> name): an interrupted run says they were cancelled."""
        self._stream = SecretStream()
        """Streamed-through text passes here: a key split between two deltas is still masked."""
        self._handlers: dict[type, Callable[[Any], None]] = {
            RunStarted: self._on_run_started,
            TurnStarted: self._on_turn_started,
            TextDelta: self._on_text,
            ReasoningDelta: self._on_reasoning,
            ResponseCompleted: self._on_response,
            ToolStarted: self._on_tool_started,
            ToolFinished: self._on_tool_finished,
            RunFinished: self._on_run_finished,
            RunFailed: self._on_run_failed,
        }

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _on_run_started(self, event: RunStarted) -> None:
        self._started = self.clock()
        self._structured = event.schema
        self._stream_through = not event.tools and not event.schema
        self._progress(f"crazycall: {event.model} via {event.protocol} ({event.endpoint})")

    def _on_turn_started(self, _event: TurnStarted) -> None:
        self._text, self._reasoning = TextBuffer(), TextBuffer()

    def _on_text(self, event: TextDelta) -> None:
        if self._stream_through:
            # Not flushed per delta (a syscall each): the run flushes stdout before it waits for the network.
            self.out.write(visible(self._stream.feed(event.text)))
        self._text.append(event.text)

    def _on_reasoning(self, event: ReasoningDelta) -> None:
        self._reasoning.append(event.text)

    def _on_response(self, event: ResponseCompleted) -> None:
        text, reasoning = self._text.text(), self._reasoning.text()
        self._text, self._reasoning = TextBuffer(), TextBuffer()
        if self.show_reasoning and reasoning.strip():
            self._progress("reasoning: " + one_line(reasoning))
        if event.response.message.tool_calls:
            if text.strip():
                self._progress("model: " + one_line(text))
        elif self._structured:
            self._progress("answer: " + one_line(text))
        else:
            self._answer(text)

    def _on_tool_started(self, event: ToolStarted) -> None:
        call = event.call
        self._running[call.id] = call.name
        args = call.raw_arguments if call.arguments_error else json.dumps(call.arguments, ensure_ascii=False)
        self._progress(f"tool {call.name} {one_line(args, 100)}")

    def _on_tool_finished(self, event: ToolFinished) -> None:
        name, result = event.call.name, event.result
        self._running.pop(event.call.id, None)
        if event.declined is not None:  # the whole sentence: its end says how to allow the call
            self._progress(f"tool {name} declined: {declined_for_user(event.declined, name)}")
            return
        status = "error" if result.is_error else "ok"
        self._progress(f"tool {name} {status} in {duration(event.duration_ms)}: {one_line(result.content)}")
        if event.output.strip():
            self._progress(f"tool {name} output: {one_line(event.output)}")

    def _on_run_finished(self, event: RunFinished) -> None:
        r = event.result
        if self._structured:  # one line, so `| jq` and line-based readers get the whole document
            self._answer(json.dumps(r.extra.get("output"), ensure_ascii=False, separators=(",", ":")))
        took = self.clock() - self._started
        self._progress(
            f"done: {_count(r.turns, 'turn')}, {_count(len(r.tool_calls), 'tool call')}, "
            f"{r.usage.input_tokens} in / {r.usage.output_tokens} out tokens, {took:.1f} s"
            + (f", ${r.extra['cost_usd']:.6f}" if "cost_usd" in r.extra else "")
        )

    def _on_run_failed(self, event: RunFailed) -> None:
        # The error line itself is the CLI's (one line on stderr); here only the answer's text received so far.
        if event.error.kind == "interrupted":
            for name in self._running.values():
                self._progress(f"tool {name} cancelled")
        self._running.clear()
        if not self._structured:  # with --schema, stdout holds a valid document or nothing
            self._answer(self._text.text())
        self._text = TextBuffer()

    def _answer(self, text: str) -> None:
        self.out.write(visible(self._stream.close() if self._stream_through else mask_known(text)))
        if text and not text.endswith("\n"):
            self.out.write("\n")
        self.out.flush()

    def _progress(self, line: str) -> None:
        if not self.quiet:
            self.err.write(visible(redact(line)) + "\n")
            self.err.flush()

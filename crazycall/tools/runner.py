"""Running one turn's tool calls: check, run concurrently with timeouts, capture prints, shape results.

Owns the rules that turn any tool call the model makes into exactly one ``ToolResult``: an unknown name,
arguments that are not a JSON object, arguments that violate the schema, an exception and a timeout all
become error results whose text tells the model what to fix. Calls run in daemon threads, so a tool that
hangs past its timeout cannot keep the process alive. What a tool prints is captured per thread and never
reaches the real stdout (where ``--json`` output goes).

Approval (``approval.py``) is asked here, in the caller's thread, for every valid call of the turn before any
tool starts: a prompt never races a running tool's output, and a declined call becomes an error result
(``CallOutcome.declined`` says why) without being run. Tools that enforce their timeout themselves (commands,
MCP) get it passed in and a little grace here, so their own clearer message ("killed after 5 s") wins.
"""

from __future__ import annotations

import io
import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from crazycall.conversation import ToolCall, ToolResult
from crazycall.settings import DEFAULT_RESULT_LIMIT as DEFAULT_RESULT_LIMIT  # re-exported
from crazycall.settings import DEFAULT_TOOL_TIMEOUT
from crazycall.tools.approval import Approval
from crazycall.tools.registry import Tool, ToolFailed, ToolRegistry

#: Extra seconds before the runner gives up on a tool that enforces its own timeout (it reports better).
SELF_TIMEOUT_GRACE = 2.0


@dataclass(frozen=True)
class CallOutcome:
    call: ToolCall
    result: ToolResult
    duration_ms: float
    output: str = ""
    value: Any = None
    """The tool's return value (JSON-able) for reports; None for errors."""
    declined: str | None = None
    """Not run for want of approval: ``approval.NOT_PERMITTED`` or ``approval.USER_DECLINED``."""


class _ThreadRouter(io.TextIOBase):
    """A stand-in for sys.stdout/sys.stderr: writes from registered tool threads go to their buffer."""

    def __init__(self, real: TextIO) -> None:
        self.real = real
        self.buffers: dict[int, io.StringIO] = {}

    def write(self, s: str) -> int:
        buf = self.buffers.get(threading.get_ident())
        if buf is not None:
            return buf.write(s)
        return self.real.write(s)

    def flush(self) -> None:
        if threading.get_ident() not in self.buffers:
            self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        # Rich's broken-pipe handling (`crazycall ... | head`) asks sys.stdout for its descriptor mid-run.
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")


def result_text(value: Any, limit: int = DEFAULT_RESULT_LIMIT) -> str:
    """A tool's return value as the text sent to the model: str as is, else JSON (``str()`` as fallback)."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    if len(text) > limit:
        cut = len(text) - limit
        text = f"{text[:limit]}\n[truncated: {cut} more characters of {len(text)} were cut]"
    return text


class ToolRunner:
    """Runs calls against a registry. One instance per run."""

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        default_timeout: float = DEFAULT_TOOL_TIMEOUT,
        result_limit: int = DEFAULT_RESULT_LIMIT,
        verbose: bool = False,
        approval: Approval | None = None,
    ) -> None:
        self.registry = registry
        self.default_timeout = default_timeout
        self.result_limit = result_limit
        self.verbose = verbose
        # Without an Approval nothing can be asked: tools that need confirmation are declined.
        self.approval = approval if approval is not None else Approval()

    def check(self, call: ToolCall) -> str | None:
        """Why this call cannot run (a message for the model), or None when it can."""
        if not call.name:
            return "the tool call has no name; call one of: " + ", ".join(self.registry.names())
        tool = self.registry.get(call.name)
        if tool is None:
            known = ", ".join(self.registry.names()) or "none"
            return f"unknown tool {call.name!r}; available tools: {known}"
        if call.arguments_error:
            return f"invalid arguments for {call.name}: {call.arguments_error}; send a JSON object"
        violations = tool.validate(call.arguments)
        if violations:
            return f"invalid arguments for {call.name}: " + "; ".join(violations)
        return None

    def run(
        self,
        calls: Sequence[ToolCall],
        on_start: Callable[[ToolCall], None] | None = None,
        on_finish: Callable[[CallOutcome], None] | None = None,
    ) -> list[CallOutcome]:
        """Run every call (valid ones concurrently); outcomes in call order, callbacks in the caller's thread.

        Each call is checked and, when it needs confirmation, approved (possibly asking the user) before
        ``on_start``; no tool starts until every call of the turn has been through that.
        """
        outcomes: dict[int, CallOutcome] = {}
        done: queue.Queue[tuple[int, CallOutcome]] = queue.Queue()
        deadlines: dict[int, tuple[float, float]] = {}
        runnable: list[tuple[int, ToolCall, Tool]] = []
        for i, call in enumerate(calls):
            tool, refused = self._admit(call)
            if on_start:
                on_start(call)
            if tool is not None:
                runnable.append((i, call, tool))
                continue
            outcomes[i] = refused
            if on_finish:
                on_finish(refused)
        if not runnable:
            return [outcomes[i] for i in range(len(calls))]
        # Route prints before any tool thread starts, so nothing a tool writes reaches the real stdout.
        router_out, router_err = _ThreadRouter(sys.stdout), _ThreadRouter(sys.stderr)
        sys.stdout, sys.stderr = router_out, router_err
        try:
            for i, call, tool in runnable:
                timeout = tool.timeout or self.default_timeout
                grace = SELF_TIMEOUT_GRACE if tool.invoke is not None else 0.0
                deadlines[i] = (time.monotonic(), timeout + grace)
                args = (i, call, tool, timeout, done, router_out, router_err)
                threading.Thread(target=self._work, args=args, daemon=True).start()
            self._collect(calls, deadlines, done, outcomes, on_finish)
        finally:
            sys.stdout, sys.stderr = router_out.real, router_err.real
        return [outcomes[i] for i in range(len(calls))]

    def _admit(self, call: ToolCall) -> tuple[Tool | None, CallOutcome]:
        """(the tool, a placeholder) when the call may run; else (None, its error outcome). May ask the user."""
        problem = self.check(call)
        tool = self.registry.get(call.name)
        declined = self.approval.review(call, tool.confirm) if problem is None and tool is not None else None
        if problem is None and declined is None and tool is not None:
            return tool, CallOutcome(call, ToolResult(call.id, call.name, "", False), 0.0)
        text = declined.message if declined is not None else problem or ""
        reason = declined.reason if declined is not None else None
        return None, CallOutcome(call, ToolResult(call.id, call.name, text, True), 0.0, declined=reason)

    def _collect(
        self,
        calls: Sequence[ToolCall],
        deadlines: dict[int, tuple[float, float]],
        done: queue.Queue[tuple[int, CallOutcome]],
        outcomes: dict[int, CallOutcome],
        on_finish: Callable[[CallOutcome], None] | None,
    ) -> None:
        pending = set(deadlines)
        while pending:
            now = time.monotonic()
            expired = [i for i in pending if now >= deadlines[i][0] + deadlines[i][1]]
            for i in expired:
                _started, timeout = deadlines[i]
                call = calls[i]
                message = f"tool {call.name} timed out after {timeout:g} s"
                outcome = CallOutcome(call, ToolResult(call.id, call.name, message, True), timeout * 1000)
                pending.discard(i)
                outcomes[i] = outcome
                if on_finish:
                    on_finish(outcome)
            if not pending:
                break
            wait = min(deadlines[i][0] + deadlines[i][1] for i in pending) - time.monotonic()
            try:
                i, outcome = done.get(timeout=max(wait, 0.0))
            except queue.Empty:
                continue
            if i in pending:  # a late finisher after its timeout is dropped
                pending.discard(i)
                outcomes[i] = outcome
                if on_finish:
                    on_finish(outcome)

    def _work(
        self,
        i: int,
        call: ToolCall,
        tool: Tool,
        timeout: float,
        done: queue.Queue[tuple[int, CallOutcome]],
        router_out: _ThreadRouter,
        router_err: _ThreadRouter,
    ) -> None:
        ident = threading.get_ident()
        captured = io.StringIO()
        router_out.buffers[ident] = router_err.buffers[ident] = captured
        started = time.perf_counter()
        value: Any = None
        try:
            value = tool(call.arguments, timeout)
            result = ToolResult(call.id, call.name, result_text(value, self.result_limit), False)
        except ToolFailed as exc:
            value = None
            result = ToolResult(call.id, call.name, result_text(str(exc), self.result_limit), True)
        except Exception as exc:
            value = None
            result = ToolResult(call.id, call.name, self._describe(exc), True)
        finally:
            router_out.buffers.pop(ident, None)
            router_err.buffers.pop(ident, None)
        duration = (time.perf_counter() - started) * 1000
        done.put((i, CallOutcome(call, result, duration, captured.getvalue(), value)))

    def _describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        if self.verbose:
            import traceback

            text += "\n" + "".join(traceback.format_exception(exc))
        return text

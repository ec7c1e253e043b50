"""Running one turn's tool calls: check, run concurrently with timeouts, capture prints, shape results.

Owns the rules that turn any tool call the model makes into exactly one ``ToolResult``: an unknown name,
arguments that are not a JSON object, arguments that violate the schema, an exception and a timeout all
become error results whose text tells the model what to fix, as does a tool that leaves by ``sys.exit``,
``KeyboardInterrupt`` or ``GeneratorExit`` (at once, not after its timeout). The model gets one line; with
``--verbose`` the traceback is shown to the user on stderr only. Calls run in daemon threads, so a tool that
hangs past its timeout cannot keep the process alive. What a tool prints is captured per thread (bounded) and,
while ``capture.protect_stdout`` guards fd 1, what it writes to the descriptor itself is collected too; none of
it reaches the real stdout (where ``--json`` output goes).

Approval (``approval.py``) is asked here, in the caller's thread, for every valid call of the turn before any
tool starts: a prompt never races a running tool's output, and a declined call becomes an error result
(``CallOutcome.declined`` says why) without being run. Tools that enforce their timeout themselves (commands,
MCP) get it passed in and a little grace here, so their own clearer message ("killed after 5 s") wins.
A running tool can report its progress through ``progress_reporter()`` (MCP servers' progress notifications);
reports reach ``on_progress`` in the caller's thread, like the other callbacks.
"""

from __future__ import annotations

import io
import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from crazycall.conversation import ToolCall, ToolResult
from crazycall.settings import DEFAULT_RESULT_LIMIT as DEFAULT_RESULT_LIMIT  # re-exported
from crazycall.settings import DEFAULT_TOOL_TIMEOUT
from crazycall.tools import capture
from crazycall.tools.approval import Approval
from crazycall.tools.capture import BoundedText
from crazycall.tools.registry import Tool, ToolFailed, ToolRegistry

#: Extra seconds before the runner gives up on a tool that enforces its own timeout (it reports better).
SELF_TIMEOUT_GRACE = 2.0

ProgressReport = Callable[[float, float | None, str | None], None]
"""``report(progress, total, message)``: how a running tool tells how far it got (MCP progress notifications)."""
_current = threading.local()


@dataclass(frozen=True)
class Progress:
    progress: float
    total: float | None
    message: str | None


def progress_reporter() -> ProgressReport | None:
    """The progress reporter of the call running in this tool thread; None outside one (``tools call``).

    Safe to call from any thread once obtained: reports are queued and handed to ``on_progress`` in the
    runner's thread, while the call is still running (later ones are dropped)."""
    report: ProgressReport | None = getattr(_current, "report", None)
    return report


@dataclass(frozen=True)
class CallOutcome:
    call: ToolCall
    result: ToolResult
    duration_ms: float
    output: str = ""
    value: Any = None
    """The tool's return value (JSON-able) for reports; None for errors."""
    traceback: str = ""
    """With --verbose, a failed tool's traceback: shown to the user on stderr, never sent to the model."""
    declined: str | None = None
    """Not run for want of approval: ``approval.NOT_PERMITTED`` or ``approval.USER_DECLINED``."""
    timed_out: bool = False
    """Given up on after its timeout (``tools call`` words that itself)."""


class _ThreadRouter(io.TextIOBase):
    """A stand-in for sys.stdout/sys.stderr: writes from registered tool threads go to their buffer."""

    def __init__(self, real: TextIO) -> None:
        self.real = real
        self.buffers: dict[int, BoundedText] = {}

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


_routers_lock = threading.Lock()
_routers: tuple[_ThreadRouter, _ThreadRouter] | None = None
_router_users = 0
"""One pair of routers for the whole process, installed by the first tool phase and removed by the last:
phases of concurrent conversations (eval, mcp-serve) each register their own threads' buffers in it, so
none of them can put back a stream another one replaced."""


def _install_routers() -> tuple[_ThreadRouter, _ThreadRouter]:
    global _routers, _router_users
    with _routers_lock:
        if _routers is None:
            _routers = (_ThreadRouter(sys.stdout), _ThreadRouter(sys.stderr))
            sys.stdout, sys.stderr = _routers
        _router_users += 1
        return _routers


def _remove_routers() -> None:
    global _routers, _router_users
    with _routers_lock:
        _router_users -= 1
        if _router_users > 0 or _routers is None:
            return
        out, err = _routers
        _routers = None
        if sys.stdout is out:  # put back only what is still ours (a caller may have swapped it since)
            sys.stdout = out.real
        if sys.stderr is err:
            sys.stderr = err.real


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
        on_progress: Callable[[ToolCall, Progress], None] | None = None,
    ) -> list[CallOutcome]:
        """Run every call (valid ones concurrently); outcomes in call order, callbacks in the caller's thread.

        Each call is checked and, when it needs confirmation, approved (possibly asking the user) before
        ``on_start``; no tool starts until every call of the turn has been through that.
        """
        outcomes: dict[int, CallOutcome] = {}
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
        if runnable:
            self._run_phase(calls, runnable, outcomes, (on_finish, on_progress))
        return [outcomes[i] for i in range(len(calls))]

    def _run_phase(
        self,
        calls: Sequence[ToolCall],
        runnable: list[tuple[int, ToolCall, Tool]],
        outcomes: dict[int, CallOutcome],
        callbacks: tuple[Callable[[CallOutcome], None] | None, Callable[[ToolCall, Progress], None] | None],
    ) -> None:
        done: queue.Queue[tuple[int, CallOutcome | Progress]] = queue.Queue()
        deadlines: dict[int, tuple[float, float]] = {}
        captured = {i: BoundedText() for i, _call, _tool in runnable}
        guard = capture.active()  # fd-level output (subprocesses, os.write) is collected while tools run
        if guard is not None:
            guard.collect()
        # Route prints before any tool thread starts, so nothing a tool writes reaches the real stdout.
        router_out, router_err = _install_routers()
        try:
            for i, call, tool in runnable:
                timeout = tool.timeout or self.default_timeout
                grace = SELF_TIMEOUT_GRACE if tool.invoke is not None else 0.0
                deadlines[i] = (time.monotonic(), timeout + grace)
                args = (i, call, tool, timeout, done, captured[i], (router_out, router_err))
                threading.Thread(target=self._work, args=args, name=f"tool-{call.name}", daemon=True).start()
            self._collect(calls, deadlines, done, captured, outcomes, callbacks)
        finally:
            _remove_routers()
            if guard is not None:
                guard.release()

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
        done: queue.Queue[tuple[int, CallOutcome | Progress]],
        captured: dict[int, BoundedText],
        outcomes: dict[int, CallOutcome],
        callbacks: tuple[Callable[[CallOutcome], None] | None, Callable[[ToolCall, Progress], None] | None],
    ) -> None:
        on_finish, on_progress = callbacks
        pending = set(deadlines)
        while pending:
            now = time.monotonic()
            for i in [i for i in pending if now >= deadlines[i][0] + deadlines[i][1]]:
                call, timeout = calls[i], deadlines[i][1]
                message = f"tool {call.name} timed out after {timeout:g} s"
                result = ToolResult(call.id, call.name, message, True)
                timed_out = CallOutcome(call, result, timeout * 1000, timed_out=True)
                pending.discard(i)
                self._deliver(i, timed_out, captured[i], outcomes, on_finish)
            if not pending:
                break
            wait = min(deadlines[i][0] + deadlines[i][1] for i in pending) - time.monotonic()
            try:
                i, outcome = done.get(timeout=max(wait, 0.0))
            except queue.Empty:
                continue
            if isinstance(outcome, Progress):
                if i in pending and on_progress is not None:
                    on_progress(calls[i], outcome)
            elif i in pending:  # a late finisher after its timeout is dropped
                pending.discard(i)
                self._deliver(i, outcome, captured[i], outcomes, on_finish)

    def _deliver(
        self,
        i: int,
        outcome: CallOutcome,
        captured: BoundedText,
        outcomes: dict[int, CallOutcome],
        on_finish: Callable[[CallOutcome], None] | None,
    ) -> None:
        """Attach what the tool printed (its own prints, then fd-level output) and hand the outcome on."""
        guard = capture.active()
        output = captured.getvalue() + (guard.take() if guard is not None else "")
        outcome = replace(outcome, output=output)
        if outcome.traceback:
            self._show_traceback(outcome)
        outcomes[i] = outcome
        if on_finish:
            on_finish(outcome)

    def _show_traceback(self, outcome: CallOutcome) -> None:
        """--verbose: the full traceback is for the user (stderr), never for the model (it names local paths)."""
        from crazycall.redact import redact

        if self.approval.before_prompt is not None:
            self.approval.before_prompt(outcome.call)  # a live display steps aside, as for a prompt
        sys.stderr.write(redact(f"crazycall: tool {outcome.call.name} failed:\n{outcome.traceback}"))
        sys.stderr.flush()

    def _work(
        self,
        i: int,
        call: ToolCall,
        tool: Tool,
        timeout: float,
        done: queue.Queue[tuple[int, CallOutcome | Progress]],
        captured: BoundedText,
        routers: tuple[_ThreadRouter, _ThreadRouter],
    ) -> None:
        ident = threading.get_ident()
        for router in routers:
            router.buffers[ident] = captured
        _current.report = lambda progress, total, message: done.put((i, Progress(progress, total, message)))
        started = time.perf_counter()
        try:
            outcome = self._call(call, tool, timeout)
        finally:
            _current.report = None
            for router in routers:
                router.buffers.pop(ident, None)
        done.put((i, replace(outcome, duration_ms=(time.perf_counter() - started) * 1000)))

    def _call(self, call: ToolCall, tool: Tool, timeout: float) -> CallOutcome:
        """The tool's outcome, whatever way it ends: a value, an exception, or leaving abruptly."""
        try:
            value = tool(call.arguments, timeout)
            text = result_text(value, self.result_limit)  # inside: a value whose str() raises is the tool's error
        except ToolFailed as exc:
            return CallOutcome(
                call, ToolResult(call.id, call.name, result_text(_text_of(exc), self.result_limit), True), 0
            )
        except Exception as exc:
            return self._failed(call, f"{type(exc).__name__}: {_text_of(exc)}", exc)
        except BaseException as exc:  # sys.exit, KeyboardInterrupt, GeneratorExit: a result now, not a timeout
            return self._failed(call, abrupt_message(call.name, exc), exc)
        return CallOutcome(call, ToolResult(call.id, call.name, text, False), 0, value=value)

    def _failed(self, call: ToolCall, message: str, exc: BaseException) -> CallOutcome:
        """An error result with the one-line message; the traceback only with --verbose, and only for the user."""
        text = result_text(message, self.result_limit)
        trace = ""
        if self.verbose:
            import traceback

            try:
                trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            except Exception:  # format_exception calls str(exc), which a hostile exception makes raise
                trace = "".join(traceback.format_tb(exc.__traceback__)) + f"{type(exc).__name__}\n"
        return CallOutcome(call, ToolResult(call.id, call.name, text, True), 0, traceback=trace)


def _text_of(exc: BaseException) -> str:
    """``str(exc)``, which a hostile exception can make raise: then a placeholder, never a lost result."""
    try:
        return str(exc)
    except Exception:
        return "<exception message could not be read>"


def abrupt_message(name: str, exc: BaseException) -> str:
    """What the model is told when a tool left by a BaseException instead of returning or raising."""
    if isinstance(exc, SystemExit):
        return f"tool {name} exited (sys.exit({exc.code!r})) without returning a result"
    if isinstance(exc, KeyboardInterrupt):
        return f"tool {name} was interrupted (KeyboardInterrupt) before returning a result"
    return f"tool {name} stopped abruptly ({type(exc).__name__}) without returning a result"

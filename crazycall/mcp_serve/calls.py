"""One MCP ``tools/call``, given exactly the treatment ``ask`` gives a model's call.

The call goes through a ``ToolRunner`` over the served registry: an unknown name, arguments that violate the
schema (every violation with its ``$.path``), an exception, a timeout and a declined call all become an MCP
error result (``isError``) whose text says what to fix. Calls run at once, each in its own worker thread (the
runner routes ``sys.stdout`` per tool thread and its fd-1 capture windows nest); ``Calls.lock`` only keeps the
transcript's and stderr's lines whole.

Approval (``confirm`` tools): pre-approved by ``--yes`` / ``--approve NAME``; otherwise the client is asked
through MCP elicitation when it declared the capability (accept runs the call once, anything else declines);
a client that cannot be asked gets an error result saying why and which flag allows the tool.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from crazycall.conversation import ToolCall
from crazycall.redact import redact
from crazycall.settings import DEFAULT_RESULT_LIMIT, DEFAULT_TOOL_TIMEOUT
from crazycall.tools.approval import APPROVE_ONCE, DECLINE, Approval, Prompter
from crazycall.tools.registry import ToolRegistry
from crazycall.tools.runner import CallOutcome, ToolRunner
from crazycall.transcript.writer import Transcript

Ask = Callable[[ToolCall], bool]
"""Asks the client's user about one call (MCP elicitation), from the runner's thread; True when approved."""


class Calls:
    """The served registry, the server's approval flags and the session's transcript; runs calls at once."""

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        approve: tuple[str, ...] = (),
        yes: bool = False,
        tool_timeout: float | None = None,
        transcript: Transcript | None = None,
        verbose: bool = False,
    ) -> None:
        self.registry = registry
        self.approve, self.yes = approve, yes
        self.tool_timeout = tool_timeout or DEFAULT_TOOL_TIMEOUT
        self.transcript = transcript or Transcript()
        self.verbose = verbose
        self.lock = threading.Lock()

    def run(self, name: str, arguments: Mapping[str, Any] | None, ask: Ask | None) -> CallOutcome:
        """The outcome of one call (blocking; call it in a worker thread). ``ask`` is None when the client
        cannot be asked."""
        raw = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False, default=str)
        call = _tool_call(name, arguments, raw)
        prompter = _prompter(ask) if ask is not None else None
        runner = ToolRunner(
            self.registry,
            default_timeout=self.tool_timeout,
            result_limit=DEFAULT_RESULT_LIMIT,
            verbose=self.verbose,
            approval=Approval(self.approve, yes=self.yes, prompter=prompter),
        )
        with self.lock:
            self.transcript.write("tool_call", {"id": call.id, "name": name, "arguments": raw})
        outcome = runner.run([call])[0]
        with self.lock:
            self._log(outcome)
        return outcome

    def _log(self, outcome: CallOutcome) -> None:
        """stderr (never stdout: it may be the stdio transport) and the transcript, both redacted."""
        result = outcome.result
        status = f"declined ({outcome.declined})" if outcome.declined else "error" if result.is_error else "ok"
        if outcome.output:
            sys.stderr.write(redact(f"crazycall: {result.name} printed:\n{outcome.output.rstrip()}\n"))
        sys.stderr.write(redact(f"crazycall: mcp-serve: {result.name}: {status} ({outcome.duration_ms:.0f} ms)\n"))
        sys.stderr.flush()
        self.transcript.write(
            "tool_result",
            {
                "id": result.call_id,
                "name": result.name,
                "content": result.content,
                "is_error": result.is_error,
                "duration_ms": round(outcome.duration_ms, 1),
                "output": outcome.output,
            },
        )


def _tool_call(name: str, arguments: Mapping[str, Any] | None, raw: str) -> ToolCall:
    call_id = "mcp-" + secrets.token_hex(4)
    if arguments is not None and not isinstance(arguments, Mapping):
        return ToolCall(call_id, name, {}, raw, arguments_error="arguments are not a JSON object")
    return ToolCall(call_id, name, dict(arguments or {}), raw)


def _prompter(ask: Ask) -> Prompter:
    def prompt(call: ToolCall) -> str:
        return APPROVE_ONCE if ask(call) else DECLINE

    return prompt


def not_permitted_text(name: str) -> str:
    """The error result of a ``confirm`` call no one could approve: why, and what allows it."""
    return (
        f"not permitted: tool {name} needs the user's confirmation, and this MCP client cannot be asked for it "
        f"(it does not support elicitation), so it was not run. Whoever starts crazycall mcp-serve can allow it "
        f"with --approve {name} or --yes."
    )

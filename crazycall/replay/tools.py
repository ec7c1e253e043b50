"""``--replay-tools``: tool results from the recording instead of running the tools.

A ``ToolRunner`` whose calls are checked and approved as usual (so a call the original run refused is refused
again, with the same message), but whose admitted calls are answered with the recorded ``tool_result``: the
one with the call's id, else the first unused one of the same tool (ids crazycall generated differ per run).
A call with no recorded result is a ``ReplayMismatch``: the conversation has left the recording.
"""

from __future__ import annotations

from typing import Any

from crazycall.conversation import ToolCall, ToolResult
from crazycall.errors import ReplayMismatch
from crazycall.tools.runner import CallOutcome, ToolRunner
from crazycall.transcript.recording import Recording


class RecordedTools(ToolRunner):
    """Answers admitted calls from ``results`` (``tool_result`` records); each record is used once."""

    results: list[dict[str, Any]]

    def _run_phase(self, calls: Any, runnable: Any, outcomes: dict[int, CallOutcome], callbacks: Any) -> None:
        on_finish = callbacks[0]
        for i, call, _tool in runnable:
            outcome = self._recorded(call)
            outcomes[i] = outcome
            if on_finish is not None:
                on_finish(outcome)

    def _recorded(self, call: ToolCall) -> CallOutcome:
        record = next((r for r in self.results if r.get("id") == call.id), None)
        record = record or next((r for r in self.results if r.get("name") == call.name), None)
        if record is None:
            message = f"replay: tool call {call.name} ({call.id}) has no recorded result (--replay-tools)"
            raise ReplayMismatch(message, 0, f"tool_result.{call.name}")
        self.results.remove(record)
        content, output = record.get("content"), record.get("output")
        result = ToolResult(call.id, call.name, str(content or ""), bool(record.get("is_error")))
        duration = record.get("duration_ms")
        took = float(duration) if isinstance(duration, (int, float)) else 0.0
        return CallOutcome(call, result, took, output=output if isinstance(output, str) else "")


def replay_runner(runner: ToolRunner, recording: Recording, kind: type[RecordedTools] = RecordedTools) -> ToolRunner:
    """``runner``'s registry, limits and approval, with tool results from ``recording`` (``kind``: a subclass,
    e.g. eval's, whose tool phases take turns with other conversations')."""
    replayed = kind(
        runner.registry,
        default_timeout=runner.default_timeout,
        result_limit=runner.result_limit,
        verbose=runner.verbose,
        approval=runner.approval,
    )
    replayed.results = list(recording.tool_results)
    return replayed

"""The run summary as plain data: the ``--json`` object and the ``run_finished`` JSON-lines event.

This shape is a contract with users' scripts (README documents it): add keys, never rename them.
"""

from __future__ import annotations

from typing import Any

from crazycall.errors import CrazycallError, ReplayMismatch
from crazycall.events import RunResult, ToolCallRecord


def tool_call_dict(record: ToolCallRecord) -> dict[str, Any]:
    data = {
        "id": record.id,
        "name": record.name,
        "arguments": record.arguments,
        "result": record.result,
        "is_error": record.is_error,
        "duration_ms": record.duration_ms,
    }
    if record.declined is not None:  # a call held back by approval: "not_permitted" or "user_declined"
        data["declined"] = record.declined
    return data


def summary_dict(result: RunResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "protocol": result.protocol,
        "text": result.text,
        "stop_reason": result.stop_reason,
        "turns": result.turns,
        "tool_calls": [tool_call_dict(r) for r in result.tool_calls],
        "usage": result.usage.as_dict(),
        "run_id": result.run_id,
        "transcript": result.transcript,
        **_structured(result),
        **({"cost_usd": result.extra["cost_usd"]} if "cost_usd" in result.extra else {}),
    }


def _structured(result: RunResult) -> dict[str, Any]:
    """``--schema``: ``output``, the parsed final answer (null when it never validated); absent otherwise."""
    return {"output": result.extra["output"]} if "output" in result.extra else {}


def error_dict(error: CrazycallError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": error.kind, "message": str(error), "exit_code": error.exit_code}
    if isinstance(error, ReplayMismatch):  # both values whole: the message shows them cut to one line
        data["replay"] = {"request": error.request, "path": error.path, "recorded": error.recorded, "now": error.now}
    return data

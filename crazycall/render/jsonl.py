"""Machine-readable renderers: one JSON object at the end (``--json``), or one per event (``jsonl``).

The JSON-lines event names and fields are a contract (README documents them): ``run_started``,
``text_delta``, ``tool_call``, ``tool_progress``, ``tool_result``, ``tool_cancelled``, ``turn_finished``,
``run_finished``, ``error``.

Secrets are masked as in the transcript (``crazycall.redact``): every record but the deltas through
``redact_data``; the deltas through a ``SecretStream``, which holds back the last few characters while a key
is known so that a key split between two deltas is masked too (the held text is sent before the next record).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from crazycall.events import (
    Event,
    ReasoningDelta,
    RunFailed,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCancelled,
    ToolFinished,
    ToolProgress,
    ToolStarted,
    TurnFinished,
)
from crazycall.redact import SecretStream, redact_data
from crazycall.render.summary import error_dict, summary_dict


def _result_value(content: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: a result nested deeper than the parser can go
        return content


class JsonRenderer:
    """Exactly one JSON object on stdout when the run ends, also when it fails."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            data = summary_dict(event.result)
        elif isinstance(event, RunFailed):
            data = summary_dict(event.partial) if event.partial else {}
            data["error"] = error_dict(event.error)
        else:
            return
        if event.transcript_error is not None:
            data["transcript_error"] = event.transcript_error
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        self.out.write(json.dumps(redact_data(data), ensure_ascii=False) + "\n")
        self.out.flush()


class JsonLinesRenderer:
    """One JSON object per event, flushed as it happens."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._streams = {"text_delta": SecretStream(), "reasoning_delta": SecretStream()}

    def __call__(self, event: Event) -> None:
        if isinstance(event, (TextDelta, ReasoningDelta)):
            name = "text_delta" if isinstance(event, TextDelta) else "reasoning_delta"
            self._held(exclude=name)
            text = self._streams[name].feed(event.text)
            if text:
                self._line({"event": name, "text": text})
            return
        record = self._record(event)
        if record is not None:
            if isinstance(event, (RunFinished, RunFailed)) and event.transcript_error is not None:
                record["transcript_error"] = event.transcript_error
            self._held()
            self._line(redact_data(record))

    def _held(self, exclude: str = "") -> None:
        """Send the text a SecretStream still holds, before a record of another kind."""
        for name, stream in self._streams.items():
            text = "" if name == exclude else stream.close()
            if text:
                self._line({"event": name, "text": text})

    def _line(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()

    @staticmethod
    def _record(event: Event) -> dict[str, Any] | None:
        if isinstance(event, RunStarted):
            return {
                "event": "run_started",
                "model": event.model,
                "protocol": event.protocol,
                "endpoint": event.endpoint,
                "tools": list(event.tools),
                "run_id": event.run_id,
                "transcript": event.transcript,
            }
        if isinstance(event, ToolStarted):
            call = event.call
            args: Any = call.raw_arguments if call.arguments_error else call.arguments
            return {"event": "tool_call", "id": call.id, "name": call.name, "arguments": args}
        if isinstance(event, ToolProgress):
            return _progress_record(event)
        if isinstance(event, ToolFinished):
            return {
                "event": "tool_result",
                "id": event.call.id,
                "name": event.call.name,
                "result": _result_value(event.result.content),
                "is_error": event.result.is_error,
                "duration_ms": round(event.duration_ms, 1),
            }
        if isinstance(event, ToolCancelled):
            return {"event": "tool_cancelled", "id": event.call.id, "name": event.call.name}
        if isinstance(event, TurnFinished):
            return {
                "event": "turn_finished",
                "turn": event.turn,
                "stop_reason": event.stop_reason,
                "usage": {
                    **event.usage.as_dict(),
                },
            }
        if isinstance(event, RunFinished):
            return {"event": "run_finished", **summary_dict(event.result)}
        if isinstance(event, RunFailed):
            return {"event": "error", **error_dict(event.error)}
        return None


def _progress_record(event: ToolProgress) -> dict[str, Any]:
    """``tool_progress``: how far a running call got (``total`` and ``message`` are null when not reported)."""
    call = event.call
    return {
        "event": "tool_progress",
        "id": call.id,
        "name": call.name,
        "progress": event.progress,
        "total": event.total,
        "message": event.message,
    }

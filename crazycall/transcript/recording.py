"""A transcript read back as a recording (a cassette): every exchange with the router, in order, for replay.

Owns how ``request`` / ``response`` / ``event`` / ``retry`` / ``tool_result`` / ``error`` records become
``Exchange`` objects: each ``request`` record opens one; the ``response`` record after it gives the status
and (when not streamed) the body; the ``event`` records after that are its stream, as received. An attempt
followed by a ``retry`` record was given up by the original run and is left out, so the exchanges are the
requests whose answers the run used, in the order it sent them. What a replay does with them is
``crazycall.replay``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crazycall.errors import UsageError
from crazycall.transcript.store import read_records


@dataclass
class Exchange:
    """One request the run sent and what came back (``status`` None: nothing did)."""

    turn: int
    request: dict[str, Any]
    """The ``request`` record: method, path, query, stream, body."""
    status: int | None = None
    body: str | None = None
    """The response body as text (absent for a stream)."""
    events: list[tuple[str, str]] = field(default_factory=list)
    """The stream's events (name, data), in the order they arrived."""


@dataclass
class Recording:
    source: str
    """Where it was read from (for messages)."""
    model: str
    protocol: str
    stream: bool
    exchanges: list[Exchange]
    tool_results: list[dict[str, Any]]
    """The ``tool_result`` records (id, name, content, is_error, output), in the order the tools finished."""
    error: dict[str, Any] | None = None
    """The ``error`` record that ended the original run (error_type, message, exit_code), if any."""


def load_recording(path: Path) -> Recording:
    """The recording in the transcript at ``path``; a file with no run or no request in it is a UsageError."""
    return recording_from_records(read_records(path), str(path))


def recording_from_records(records: list[dict[str, Any]], source: str) -> Recording:
    run = next((r for r in records if r["type"] == "run"), None)
    exchanges = _exchanges(records)
    if run is None or not exchanges:
        what = "no run record" if run is None else "no recorded request"
        raise UsageError(f"replay: {source} is not a recording: it has {what} (was it written with --no-transcript?)")
    if not isinstance(run.get("protocol"), str) or not run["protocol"]:
        raise UsageError(f"replay: {source} names no protocol in its run record; it cannot be replayed")
    first = exchanges[0].request
    stream = run.get("stream")
    return Recording(
        source=source,
        model=str(run.get("model") or ""),
        protocol=str(run.get("protocol") or ""),
        stream=stream if isinstance(stream, bool) else bool(first.get("stream")),
        exchanges=exchanges,
        tool_results=[r for r in records if r["type"] == "tool_result"],
        error=next((r for r in reversed(records) if r["type"] == "error"), None),
    )


def _exchanges(records: list[dict[str, Any]]) -> list[Exchange]:
    exchanges: list[Exchange] = []
    current: Exchange | None = None
    for record in records:
        kind = record["type"]
        if kind == "request":  # one cut whole by the record limit has no path: kept, for replay to refuse
            turn = record.get("turn")
            current = Exchange(turn if isinstance(turn, int) else 0, record)
            exchanges.append(current)
        elif current is None:
            continue
        elif kind == "response":
            status, body = record.get("status"), record.get("body")
            current.status = status if isinstance(status, int) else None
            current.body = body if isinstance(body, str) else None
        elif kind == "event":
            current.events.append((str(record.get("event") or "message"), str(record.get("data") or "")))
        elif kind == "retry" and exchanges and exchanges[-1] is current:
            exchanges.pop()  # given up and sent again: the next request record is the one that counted
            current = None
    return exchanges

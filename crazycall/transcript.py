"""Append-only JSONL transcripts: one file per run, written (and flushed) before each step.

Owns where transcripts live (``$XDG_DATA_HOME/crazycall/transcripts/<run id>.jsonl``, or ``--transcript PATH``),
run ids (a sortable UTC timestamp and a short random suffix), the record shapes, redaction of every record,
and reading a transcript back (a torn last line from a killed run is skipped) for ``logs``, ``--continue`` and
``--resume``. It does not decide what a run does, and it never talks to the network: the transport's
``observer`` and the loop's ``on_message`` hook hand it what to write. The conversation's JSON form, which the
``run`` and ``message`` records hold, is conversation_json.py's (its two main functions are importable here).

Every line is one JSON object with ``type`` and ``time`` (UTC, ISO 8601)::

    run         id, version, model, protocol, endpoint, base_url, settings (key masked), resumed_from,
                conversation (the whole conversation the run starts from, prompt included)
    turn        turn
    request     turn, method, path, query (never the key), stream, attempt, body   (every body sent)
    response    turn, status, request_id, body (raw text; absent for a stream)      (every body received)
    event       turn, event, data                                                   (every SSE event, raw)
    retry       turn, attempt, wait, error
    message     message (each message the loop appends: the assistant's, then one with the tool results)
    tool_call   id, name, arguments (the raw text the model sent)
    tool_result id, name, content, is_error, duration_ms, output (what the tool printed)
    error       error_type, message, exit_code
    log         message (a library's log line, e.g. the MCP SDK's: details stderr leaves out)
    end         outcome ("ok" or the error type), turns, text, stop_reason, usage

"Flushed before each step": every record is flushed as it is written, except stream events, which come by the
thousand per network read; they are written and flushed together just before the transport reads the network
again (``flush``), before any other record, and at ``close`` (Ctrl-C and errors included). A process killed
outright loses at most the events of the one network read it was working through.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from crazycall import library_logs
from crazycall.conversation import Conversation, Message, Part
from crazycall.conversation_json import conversation_from_json as conversation_from_json
from crazycall.conversation_json import conversation_to_json as conversation_to_json
from crazycall.conversation_json import message_from_json, message_to_json
from crazycall.errors import ConfigError, UsageError
from crazycall.events import (
    Emit,
    Event,
    ReasoningDelta,
    ResponseCompleted,
    RunFailed,
    RunFinished,
    RunResult,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
    ToolFinished,
    ToolStarted,
    TurnStarted,
)
from crazycall.redact import needs_redaction, redact, redact_data

#: how json.dumps(..., ensure_ascii=False) writes a str
_encode: Callable[[str], str] = json.encoder.encode_basestring

#: events that make no record of their own (checked first: one of them arrives per delta)
_NOT_RECORDED = frozenset({TextDelta, ReasoningDelta, ToolCallStarted, ToolCallArgumentsDelta, ResponseCompleted})

FORMAT_VERSION = 1
SUFFIX = ".jsonl"


def transcripts_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/crazycall/transcripts`` (``~/.local/share/...`` when the variable is unset)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "crazycall" / "transcripts"


def new_run_id(now: float | None = None) -> str:
    """``20260807-153012.123-3fa9c1``: sorts by start time; the suffix keeps simultaneous runs apart."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{stamp}.{int(now * 1000) % 1000:03d}-{secrets.token_hex(3)}"


class _Clock:
    """The ``time`` of a record (``2026-08-07T15:30:12.123Z``), the date and time formatted once per second
    (stream events come by the thousand)."""

    def __init__(self) -> None:
        self._second = self._milli = -1
        self._stamp = self._last = ""

    def __call__(self) -> str:
        now = time.time()
        milli = int(now * 1000)
        if milli == self._milli:
            return self._last
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        self._milli, self._last = milli, f"{self._stamp}.{milli % 1000:03d}Z"
        return self._last


# ---------------------------------------------------------------- writing


class Transcript:
    """The transcript of one run. Inactive (writes nothing) until ``start``; ``--no-transcript`` never starts it."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.run_id = ""
        self.turn = 0
        self._file: TextIO | None = None
        self._clock = _Clock()
        self._events: list[Mapping[str, str]] = []
        """Stream events ({event, data}) received and not yet written: at most one network read's worth."""
        self._batch_time = ""

    @staticmethod
    def location(explicit: Path | None, run_id: str, env: Mapping[str, str] | None = None) -> Path:
        return explicit if explicit is not None else transcripts_dir(env) / f"{run_id}{SUFFIX}"

    def start(self, path: Path, run_id: str, header: Mapping[str, Any], *, explicit: bool) -> None:
        """Open ``path`` for appending and write the ``run`` record (before any request is sent)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        except OSError as exc:
            message = f"cannot write the transcript {path}: {exc.strerror or exc}; use --no-transcript to run without"
            raise (UsageError(message) if explicit else ConfigError(message)) from None
        self.path, self.run_id = path, run_id
        self.write("run", {"id": run_id, "format": FORMAT_VERSION, **header})

    @property
    def active(self) -> bool:
        return self._file is not None

    def write(self, kind: str, record: Mapping[str, Any]) -> None:
        """Append one redacted record and flush it, so a crash or Ctrl-C loses nothing already written."""
        if self._file is None:
            return
        record = redact_data({"type": kind, "time": self._clock(), **record})
        self._append(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def _append(self, line: str, flush: bool = True) -> None:
        """Write ``line`` after the queued stream events; flush (always, unless the line is an event's)."""
        assert self._file is not None
        try:
            if self._events:
                self._file.write(self._event_lines())
            self._file.write(line)
            if flush:
                self._file.flush()
        except OSError as exc:
            raise ConfigError(f"cannot write the transcript {self.path}: {exc.strerror or exc}") from None

    def flush(self) -> None:
        """Write out the queued stream events: the transport calls this (``on_wait``) before it reads the network."""
        if self._file is not None and self._events:
            self._append("")

    def close(self) -> None:
        if self._file is not None:
            try:
                self.flush()
            finally:
                self._file.close()
                self._file = None

    # -- hooks for the transport, the loop and the event stream

    def observe(self, kind: str, record: Mapping[str, Any]) -> None:
        """The transport's observer: raw requests, responses, stream events and retries.

        Stream events arrive by the thousand within one network read, so they are queued, and written as one
        batch when the transport is about to read again (``flush``), before a record of any other kind, or at
        ``close`` (Ctrl-C included). Each gets the time of the first event of its batch, as they all arrived
        within one read.
        """
        if kind != "event" or self._file is None:
            self.write(kind, {"turn": self.turn, **record})
            return
        if not self._events:
            self._batch_time = self._clock()
        self._events.append(record)  # the transport's own dict, made for this call: kept as it is until written

    def _event_lines(self) -> str:
        """The queued events as records: the same lines ``write`` would make, built without ``json.dumps`` of a
        dict each, and redacted one by one only when the batch as a whole holds something to redact."""
        events, self._events = self._events, []
        datas = [e["data"] for e in events]
        if needs_redaction("\n".join(datas)):
            datas = [redact(data) for data in datas]
        head = f'{{"type": "event", "time": "{self._batch_time}", "turn": {self.turn}, "event": '
        names = [e["event"] for e in events]
        starts = {name: f'{head}{_encode(redact(name))}, "data": ' for name in set(names)}
        if len(starts) == 1:  # one event name throughout (chat, Gemini): one join over the encoded data
            (start,) = starts.values()
            return start + f"}}\n{start}".join(map(_encode, datas)) + "}\n"
        return "".join([f"{starts[n]}{_encode(d)}}}\n" for n, d in zip(names, datas, strict=True)])

    def message(self, message: Message) -> None:
        """The loop's ``on_message`` hook."""
        self.write("message", {"message": message_to_json(message)})

    def wrap(self, emit: Emit) -> Emit:
        """An ``emit`` that records run events first, then hands every event to ``emit``."""

        def recording(event: Event) -> None:
            if type(event) not in _NOT_RECORDED:  # stream events: the transport's observer recorded the raw data
                self._record_event(event)
            emit(event)

        return recording

    def _record_event(self, event: Event) -> None:
        if library_logs.waiting():
            for line in library_logs.take():
                self.write("log", {"message": line})
        if isinstance(event, TurnStarted):
            self.turn = event.turn
            self.write("turn", {"turn": event.turn})
        elif isinstance(event, ToolStarted):
            call = event.call
            self.write("tool_call", {"id": call.id, "name": call.name, "arguments": call.raw_arguments})
        elif isinstance(event, ToolFinished):
            result = event.result
            record: dict[str, Any] = {"id": event.call.id, "name": event.call.name, "content": result.content}
            record.update(is_error=result.is_error, duration_ms=round(event.duration_ms, 1), output=event.output)
            self.write("tool_result", record)
        elif isinstance(event, RunFinished):
            self._end("ok", event.result)
        elif isinstance(event, RunFailed):
            error = event.error
            self.write("error", {"error_type": error.kind, "message": str(error), "exit_code": error.exit_code})
            self._end(error.kind, event.partial)

    def _end(self, outcome: str, result: RunResult | None) -> None:
        record: dict[str, Any] = {"outcome": outcome, "turns": result.turns if result else self.turn}
        if result is not None:
            usage = {"input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens}
            record.update(text=result.text, stop_reason=result.stop_reason, usage=usage)
        self.write("end", record)


# ---------------------------------------------------------------- reading


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a transcript; a torn or foreign line (a run killed mid-write) is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read the transcript {path}: {exc.strerror or exc}") from None
    records: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("type"), str):
            records.append(record)
    return records


def transcript_files(env: Mapping[str, str] | None = None) -> list[Path]:
    """The transcripts in the default folder, newest first (run ids sort by start time)."""
    folder = transcripts_dir(env)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.suffix == SUFFIX and p.is_file()), reverse=True)


def find_transcript(ref: str, env: Mapping[str, str] | None = None) -> Path:
    """The transcript for a run id (or a unique prefix of one), or a path to a transcript file."""
    candidate = Path(ref).expanduser()
    if candidate.suffix == SUFFIX and candidate.is_file():
        return candidate
    files = transcript_files(env)
    exact = [p for p in files if p.stem == ref]
    matches = exact or [p for p in files if p.stem.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        where = transcripts_dir(env)
        raise UsageError(f"no transcript with run id {ref!r} in {where}; `crazycall logs` lists the runs")
    shown = ", ".join(p.stem for p in matches[:5])
    raise UsageError(f"run id {ref!r} is ambiguous: {shown}; give more of it")


def latest_transcript(env: Mapping[str, str] | None = None) -> Path:
    files = transcript_files(env)
    if not files:
        raise UsageError(f"no earlier run to continue: {transcripts_dir(env)} holds no transcripts")
    return files[0]


@dataclass(frozen=True)
class RunSummary:
    id: str
    time: str
    model: str
    protocol: str
    turns: int
    outcome: str
    """``ok``, the error type that ended the run, or ``incomplete`` (no end record: killed or still running)."""
    path: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "model": self.model,
            "protocol": self.protocol,
            "turns": self.turns,
            "outcome": self.outcome,
            "path": str(self.path),
        }


def summarize(path: Path, records: list[dict[str, Any]] | None = None) -> RunSummary:
    records = read_records(path) if records is None else records
    run = next((r for r in records if r["type"] == "run"), {})
    end = next((r for r in reversed(records) if r["type"] == "end"), None)
    turns = max((r.get("turn", 0) for r in records if r["type"] == "turn"), default=0)
    if end is not None and isinstance(end.get("turns"), int):
        turns = end["turns"]
    return RunSummary(
        id=str(run.get("id") or path.stem),
        time=str(run.get("time", "")),
        model=str(run.get("model", "")),
        protocol=str(run.get("protocol", "")),
        turns=turns if isinstance(turns, int) else 0,
        outcome=str(end.get("outcome")) if end is not None else "incomplete",
        path=path,
    )


@dataclass(frozen=True)
class PriorRun:
    """What ``--continue`` / ``--resume`` takes from an earlier run's transcript."""

    run_id: str
    model: str
    protocol: str
    conversation: Conversation


def load_prior(path: Path) -> PriorRun:
    """Rebuild the neutral conversation of a run: its starting conversation plus every message appended."""
    records = read_records(path)
    run = next((r for r in records if r["type"] == "run"), None)
    if run is None:
        raise ConfigError(f"{path}: not a crazycall transcript (no run record)")
    try:
        conv = conversation_from_json(run.get("conversation"))
        added = [message_from_json(r.get("message")) for r in records if r["type"] == "message"]
    except ValueError as exc:
        raise ConfigError(f"{path}: damaged transcript: {exc}") from None
    conv = conv.append(*added)
    run_id = str(run.get("id") or path.stem)
    return PriorRun(run_id, str(run.get("model", "")), str(run.get("protocol", "")), _closed(conv))


def _closed(conv: Conversation) -> Conversation:
    """Drop a trailing assistant turn whose tool calls never got results (the run ended between the two):
    every protocol refuses a new user message after unanswered calls (PROTOCOLS.md §1.3, §2.3, §3.3, §4.3)."""
    messages = conv.messages
    if messages and messages[-1].role == "assistant" and messages[-1].tool_calls:
        messages = messages[:-1]
    return Conversation(conv.system, messages)


def foreign_provider_data(conv: Conversation, protocol: str) -> list[str]:
    """The protocols, other than ``protocol``, whose provider-only data the conversation carries."""
    found: set[str] = set()
    for part in _parts(conv):
        data = getattr(part, "provider_data", None) or {}
        found.update(k for k in data if k != protocol)
    return sorted(found)


def _parts(conv: Conversation) -> Iterator[Part]:
    for message in conv.messages:
        yield from message.parts

"""Writing a transcript: one append-only JSONL file per run, written (and flushed) before each step.

Owns run ids (a sortable UTC timestamp and a short random suffix), where a new transcript goes, the record
shapes (listed in the package docstring), redaction of every record, and the hooks the transport (``observe``,
``flush``), the loop (``message``) and the event stream (``wrap``) call. It does not decide what a run does,
and it never talks to the network.

"Flushed before each step": every record is flushed as it is written, except stream events, which come by the
thousand per network read; they are written and flushed together just before the transport reads the network
again (``flush``), before any other record, and at ``close`` (Ctrl-C and errors included). A process killed
outright loses at most the events of the one network read it was working through.

Hostile content stays writable and bounded: text that is not valid Unicode (a lone surrogate) is written as a
JSON ``\\uXXXX`` escape, a line longer than ``max_record`` is cut with a ``...[cut: N more characters]``
marker. A failed write (a full disk) never leaves a torn line: the file is cut back to its last complete
line, the transcript stops, the run goes on, and ``error`` says why (stderr once, ``--json``'s
``transcript_error``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from crazycall import library_logs
from crazycall.conversation import Message
from crazycall.errors import UsageError
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
from crazycall.transcript.conversation_json import message_to_json
from crazycall.transcript.store import SUFFIX, transcripts_dir
from crazycall.transport_limits import DEFAULT_MAX_TRANSCRIPT_RECORD_BYTES

#: how json.dumps(..., ensure_ascii=False) writes a str
_encode: Callable[[str], str] = json.encoder.encode_basestring

#: events that make no record of their own (checked first: one of them arrives per delta)
_NOT_RECORDED = frozenset({TextDelta, ReasoningDelta, ToolCallStarted, ToolCallArgumentsDelta, ResponseCompleted})

FORMAT_VERSION = 1
DEFAULT_MAX_RECORD = DEFAULT_MAX_TRANSCRIPT_RECORD_BYTES
"""Characters of one transcript line (config ``max_transcript_record_bytes``); longer records are cut."""


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

    def __init__(self, err: TextIO | None = None) -> None:
        self.path: Path | None = None
        self.run_id = ""
        self.turn = 0
        self.max_record = DEFAULT_MAX_RECORD
        self.error: str | None = None
        """Why the transcript stopped early (a full disk), or None."""
        self._err = err
        self._file: BinaryIO | None = None
        """Unbuffered: each ``_append`` is whole lines in one write, so a failure knows what reached the file."""
        self._good = 0
        """The file's size after its last complete line."""
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
            self._file = path.open("ab", buffering=0)
            self._good = self._file.seek(0, os.SEEK_END)
        except OSError as exc:
            # exit 2 whether the path is the default or --transcript's: the remedy is a flag either way
            message = f"cannot write the transcript {path}: {exc.strerror or exc}; use --no-transcript to run without"
            raise UsageError(message) from None
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
        self._append(_line(record, self.max_record) + "\n")

    def _append(self, line: str) -> None:
        """Write ``line`` after the queued stream events, all in one write (unbuffered: flushed with it)."""
        assert self._file is not None
        text = self._event_lines() + line if self._events else line
        encoded = text.encode("utf-8", "backslashreplace")  # a lone surrogate becomes its \\uXXXX escape
        data = memoryview(encoded)
        try:
            while data:  # a raw write may take only part: the rest goes next (a full disk then raises)
                written = self._file.write(data)
                if not written:
                    raise OSError(errno.EIO, "no progress writing")
                data = data[written:]
        except OSError as exc:
            self._stop(exc)
            return
        self._good += len(encoded)

    def _stop(self, exc: OSError) -> None:
        """A write failed (disk full, file too large): cut the file back to its last complete line, stop
        writing, say so once; the run itself goes on."""
        assert self._file is not None
        with contextlib.suppress(OSError):
            os.ftruncate(self._file.fileno(), self._good)
        with contextlib.suppress(OSError):
            self._file.close()
        self._file, self._events = None, []
        self.error = f"transcript: {exc.strerror or exc} writing {self.path}; transcript stopped"
        if self._err is not None:
            self._err.write(f"crazycall: warning: {self.error}\n")
            self._err.flush()

    def flush(self) -> None:
        """Write out the queued stream events: the transport calls this (``on_wait``) before it reads the network."""
        if self._file is not None and self._events:
            self._append("")

    def close(self) -> None:
        if self._file is not None:
            try:
                self.flush()
            finally:
                if self._file is not None:  # flush may have stopped the transcript (and closed the file)
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
        room = max(self.max_record - 256, 64)  # what the record's other fields leave for the data
        if any(len(data) > room for data in datas):
            datas = [_cut_text(data, room) for data in datas]
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
                if self.error is not None and isinstance(event, (RunFinished, RunFailed)):
                    event = dataclasses.replace(event, transcript_error=self.error)
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
            usage = result.usage.as_dict()
            record.update(text=result.text, stop_reason=result.stop_reason, usage=usage)
            record.update(result.extra)  # cost_usd (prices:) and output (--schema), when the run has them
        self.write("end", record)


def _line(record: Mapping[str, Any], limit: int) -> str:
    """``record`` as one JSON line of at most about ``limit`` characters: long strings cut first (each with a
    marker), then, if the record is still too long, only its type, time, turn and the line's head."""
    try:
        line = json.dumps(record, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError) as exc:  # redact_data bounds JSON; default=str's str() may not
        line = json.dumps({**_head(record), "unwritable": f"{type(exc).__name__}: {exc}"}, default=str)
    if len(line) <= limit:
        return line
    cut = json.dumps(_cut_strings(record, max(limit // 8, 64)), ensure_ascii=False, default=str)
    if len(cut) <= limit:
        return cut
    return json.dumps({**_head(record), "cut": _cut_text(line, max(limit // 2, 64))}, ensure_ascii=False)


def _head(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in ("type", "time", "turn") if key in record}


def _cut_text(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    return f"{text[:keep]}...[cut: {len(text) - keep} more characters]"


def _cut_strings(value: Any, keep: int) -> Any:
    """``value`` with every string longer than ``keep`` cut (depth is bounded: redact_data ran first)."""
    if isinstance(value, str):
        return _cut_text(value, keep)
    if isinstance(value, dict):
        return {k: _cut_strings(v, keep) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cut_strings(v, keep) for v in value]
    return value

"""Where transcripts live and reading them back: ``logs``, ``--continue`` and ``--resume``.

Owns the folder (``$XDG_DATA_HOME/crazycall/transcripts``), finding a run by id, prefix or path, reading
records (a torn or foreign line is skipped), the run summary ``logs`` lists and the conversation a continued
run starts from. Writing, and the record shapes, are crazycall.transcript's (which re-exports these names).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crazycall.conversation import Conversation, Part
from crazycall.conversation_json import conversation_from_json, message_from_json
from crazycall.errors import ConfigError, UsageError

SUFFIX = ".jsonl"


def transcripts_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/crazycall/transcripts`` (``~/.local/share/...`` when the variable is unset)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "crazycall" / "transcripts"


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
        except (ValueError, RecursionError):  # RecursionError: a line nested deeper than the parser can go
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

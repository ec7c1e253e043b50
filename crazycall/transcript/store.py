"""Finding runs and reading them back: the transcript store that ``logs``, ``--continue`` and ``--resume`` use.

Owns the folder (``$XDG_DATA_HOME/crazycall/transcripts``), finding a run by id, prefix, path or ``last``,
reading records (a torn or foreign line is skipped) and the run summary ``logs`` lists. Writing is
``writer.py``'s, the conversation a continued run starts from ``resume.py``'s, the display ``render.py``'s.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crazycall.errors import UsageError

SUFFIX = ".jsonl"
LATEST = "last"
"""The run reference that means the latest run (``crazycall logs show last``)."""


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


def find_run(ref: str, env: Mapping[str, str] | None = None) -> Path:
    """``find_transcript``, plus ``last`` (the latest run) for ``logs show``."""
    if ref != LATEST:
        return find_transcript(ref, env)
    files = transcript_files(env)
    if not files:
        raise UsageError(f"no runs recorded yet in {transcripts_dir(env)}")
    return files[0]


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

"""Resuming a run: the conversation ``--continue`` / ``--resume`` start from, rebuilt from a transcript.

Owns rebuilding the neutral conversation (the ``run`` record's conversation plus every ``message`` record),
closing a turn whose tool calls never got results, and noticing echo data of other protocols.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crazycall.conversation import Conversation, Part
from crazycall.errors import ConfigError
from crazycall.transcript.conversation_json import conversation_from_json, message_from_json
from crazycall.transcript.store import read_records


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
    # A chat may have switched model or protocol mid-way: the conversation continues with the last ones.
    last = next((r for r in reversed(records) if r["type"] == "switch"), run)
    return PriorRun(run_id, str(last.get("model", "")), str(last.get("protocol", "")), _closed(conv))


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

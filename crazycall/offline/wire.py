"""Plumbing shared by the offline router's protocol modules: request view, replies, errors and memory.

Owns ``Incoming`` (one decoded HTTP request), ``Reply`` (a JSON body or a list of SSE events), ``WireError``
(an HTTP error that each protocol module renders in its own envelope) and ``RouterState`` (id counters and
the little the router must remember to check what clients echo back: Gemini thought signatures, Responses
reasoning items and stored responses, Anthropic thinking blocks, Chat ``reasoning_content``). It does no I/O.
Fault injection is ``faults.py``'s.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: ``created`` / ``created_at`` of every reply: the router answers deterministically.
CREATED = 1700000000


def dumps(value: Any) -> str:
    """Compact JSON with raw UTF-8, as the real servers write their bodies and SSE data."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Incoming:
    """One request as a protocol module sees it (headers lower-cased, body decoded)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    raw: bytes
    body: Any
    stream: bool
    request_id: str
    model: str = ""
    """Gemini only: the model named in the URL path."""
    bad_output: bool = False
    """The ``bad_output`` fault: a structured final answer must break its schema."""


@dataclass(frozen=True)
class Event:
    """One SSE event: ``event:`` name (None for data-only protocols) and the ``data:`` text."""

    data: str
    name: str | None = None
    raw: str | None = None
    """Sent verbatim instead of ``event:``/``data:`` lines (SSE noise a client must skip)."""


@dataclass(frozen=True)
class Reply:
    """A successful answer: ``body`` when not streaming, else ``events``."""

    body: Any = None
    events: tuple[Event, ...] | None = None
    cut_at: int = 0
    """How many events a ``cut`` fault sends before dropping the connection (mid tool-call arguments)."""
    json_array: bool = False
    """Gemini without ``alt=sse``: the events go out as one streamed JSON array (PROTOCOLS.md §4.1)."""
    line_end: str = "\n"
    """SSE line ending; Gemini's is CRLF (clients must accept both, PROTOCOLS.md §0)."""


class WireError(Exception):
    """An HTTP error; the protocol module that raised it renders the body in its own envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str | None = None,
        code: str | None = None,
        param: str | None = None,
        details: list[Any] | None = None,
        headers: Mapping[str, str] | None = None,
        raw: str | None = None,
    ) -> None:
        super().__init__(message)
        #: a body to send verbatim instead of the protocol's envelope (a fault's hand-written error body)
        self.raw = raw
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.param = param
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})


def encrypted_reasoning(rs_id: str) -> str:
    """The opaque ``encrypted_content`` of a reasoning item; derived from its id so echoes can be checked."""
    token = base64.urlsafe_b64encode(f"offline-reasoning:{rs_id}".encode()).decode()
    return "gAAAAA" + token


def thought_signature(response_id: str) -> str:
    """The opaque Gemini ``thoughtSignature`` of a response's first functionCall part."""
    return base64.b64encode(f"offline-thought-signature:{response_id}".encode()).decode()


@dataclass
class RouterState:
    """Counters and echo memory of one router; every method is thread-safe."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counters: dict[str, int] = field(default_factory=dict)
    _signatures: dict[str, set[str]] = field(default_factory=dict)
    _all_signatures: set[str] = field(default_factory=set)
    _reasoning_of: dict[str, str] = field(default_factory=dict)
    _stored_reasoning: set[str] = field(default_factory=set)
    _responses: dict[str, list[Any]] = field(default_factory=dict)
    _thoughts: dict[str, str] = field(default_factory=dict)

    def next_id(self, prefix: str, sep: str = "_") -> str:
        """``call_1``, ``call_2``, ...: one counter per prefix."""
        with self._lock:
            n = self._counters.get(prefix, 0) + 1
            self._counters[prefix] = n
        return f"{prefix}{sep}{n}"

    def remember_signature(self, key: str, signature: str) -> None:
        with self._lock:
            self._signatures.setdefault(key, set()).add(signature)
            self._all_signatures.add(signature)

    def signatures_for(self, key: str) -> frozenset[str]:
        """The signatures issued for a model turn with exactly these calls (empty: never signed)."""
        with self._lock:
            return frozenset(self._signatures.get(key, ()))

    def issued(self, signature: str) -> bool:
        with self._lock:
            return signature in self._all_signatures

    def remember_reasoning(self, rs_id: str, call_keys: list[str], stored: bool) -> None:
        """Calls (by item id and call_id) that must travel with reasoning item ``rs_id`` (§2.3)."""
        with self._lock:
            for key in call_keys:
                self._reasoning_of[key] = rs_id
            if stored:
                self._stored_reasoning.add(rs_id)

    def reasoning_for(self, key: str) -> str | None:
        with self._lock:
            return self._reasoning_of.get(key)

    def reasoning_stored(self, rs_id: str) -> bool:
        with self._lock:
            return rs_id in self._stored_reasoning

    def remember_thought(self, keys: list[str], value: str) -> None:
        """What must come back with each key: the reasoning text issued with a call id (Chat), the thinking
        signature issued with a tool_use id (Anthropic)."""
        with self._lock:
            for key in keys:
                self._thoughts[key] = value

    def thought_for(self, key: str) -> str | None:
        with self._lock:
            return self._thoughts.get(key)

    def store_response(self, response_id: str, items: list[Any]) -> None:
        with self._lock:
            self._responses[response_id] = list(items)

    def stored_response(self, response_id: str) -> list[Any] | None:
        with self._lock:
            items = self._responses.get(response_id)
            return None if items is None else list(items)


@dataclass(frozen=True)
class ProtocolSpec:
    """One protocol as the server dispatches it; each protocol module defines one ``SPEC``."""

    name: str
    authenticate: Callable[[Incoming, str | None], None]
    """Raise the protocol's own auth error; ``None`` accepts any non-empty key."""
    handle: Callable[[Incoming, RouterState, bool], Reply]
    """Validate and answer; the flag is the ``text`` fault (never call tools)."""
    render: Callable[[WireError, str], Any]
    """The error body for a request id."""
    fault_error: Callable[[int], WireError]
    bad_json: Callable[[], WireError]
    request_id_header: str = "x-request-id"

"""Plumbing shared by the offline router's protocol modules: request view, replies, errors and memory.

Owns ``Incoming`` (one decoded HTTP request), ``Reply`` (a JSON body or a list of SSE events), ``WireError``
(an HTTP error that each protocol module renders in its own envelope) and ``RouterState`` (id counters and
the little the router must remember to check what clients echo back: Gemini thought signatures, Responses
reasoning items and stored responses, Anthropic thinking blocks, Chat ``reasoning_content``). It does no I/O.

Also owns fault injection as data: ``Fault`` (one request's misbehaviour: a status, a delay, a raw body, a
cut after N bytes, SSE noise, unknown events, a missing terminator, corrupted tool calls, a repeated reply)
and the pure transforms of a ``Reply`` it asks for. Only ``corrupt_calls`` knows where each protocol keeps a
call's id, name and arguments; the server applies the rest to the bytes on the wire.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
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


# ---------------------------------------------------------------- fault injection


@dataclass(frozen=True)
class CallFault:
    """How to corrupt every tool call of a reply; ``None`` leaves that field as the router made it."""

    drop_id: bool = False
    """Remove the call id (chat ``id``, Responses ``call_id``, Anthropic ``id``, Gemini ``functionCall.id``)."""
    name: str | None = None
    """The name to send instead (``""`` for an empty one, or a tool that was never offered)."""
    arguments: str | None = None
    """The raw argument text to send instead (``""``, ``"null"``, ``"{oops"``, ``'{"city": 5}'``). Protocols
    whose arguments are objects (Anthropic ``input``, Gemini ``args``) get the parsed value when it is JSON and
    the string itself when it is not; streamed Anthropic ``partial_json`` carries the text as it is."""


@dataclass(frozen=True)
class Fault:
    """One request's misbehaviour. Fields combine; ``Fault()`` changes nothing."""

    mode: str | None = None
    """A named mode of ``FAULT_MODES`` handled by the server as before (``cut``, ``garbage``)."""
    status: int | None = None
    """Answer with this HTTP status in the protocol's own error envelope."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra response headers (``retry-after``, ``retry-after-ms``, ``x-should-retry``)."""
    delay: float = 0.0
    """Seconds to wait before the response starts."""
    event_delay: float = 0.0
    """Seconds to wait between stream events."""
    body: str | None = None
    """Sent verbatim as a 200 body (or as the whole event stream) instead of the reply; with ``status``, the
    error body sent instead of the protocol's envelope."""
    cut_after: int | None = None
    """Send only this many bytes of the body or stream, then hang up."""
    noise: bool = False
    """Put SSE lines a parser must skip (comments, unknown fields) between the events."""
    unknown_events: bool = False
    """Put an event of a type no client knows after the first one."""
    no_terminator: bool = False
    """Drop the stream's last event ([DONE], response.completed, message_stop, Gemini's finishReason chunk)."""
    calls: CallFault | None = None
    repeat: bool = False
    """Answer with this protocol's previous reply again (the same calls, ids and arguments) after validating."""
    text_only: bool = False
    """Answer in text, never calling tools."""


#: named modes (header ``x-offline-fault``, ``faults=``, ``offline-router --fault``)
NAMED_FAULTS: dict[str, Fault] = {
    "text": Fault(text_only=True),
    "http401": Fault(status=401),
    "http429": Fault(status=429),
    "http500": Fault(status=500),
    "http503": Fault(status=503),
    "http529": Fault(status=529),
    "cut": Fault(mode="cut"),
    "garbage": Fault(mode="garbage"),
    "noise": Fault(noise=True),
    "unknown_events": Fault(unknown_events=True),
    "no_terminator": Fault(no_terminator=True),
    "repeat": Fault(repeat=True),
    "no_call_id": Fault(calls=CallFault(drop_id=True)),
    "empty_name": Fault(calls=CallFault(name="")),
    "unknown_name": Fault(calls=CallFault(name="no_such_tool")),
    "args_empty": Fault(calls=CallFault(arguments="")),
    "args_null": Fault(calls=CallFault(arguments="null")),
    "args_not_json": Fault(calls=CallFault(arguments='{"city": "Par')),
    "args_invalid": Fault(calls=CallFault(arguments='{"city": 5}')),
}


class FaultScript:
    """Faults queued per protocol for the next requests, and the last reply sent (for ``repeat``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[tuple[str, Fault]] = []
        self._last_reply: dict[str, Reply] = {}

    def add(self, protocol: str, faults: list[Fault]) -> None:
        with self._lock:
            self._queue.extend((protocol, f) for f in faults)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def next(self, protocol: str) -> Fault | None:
        """The first queued fault for ``protocol`` (or for any), taken off the queue."""
        with self._lock:
            for i, (wanted, fault) in enumerate(self._queue):
                if wanted in ("*", protocol):
                    del self._queue[i]
                    return fault
        return None

    def replayed(self, protocol: str, reply: Reply, repeat: bool) -> Reply:
        with self._lock:
            if repeat and protocol in self._last_reply:
                return self._last_reply[protocol]
            self._last_reply[protocol] = reply
            return reply


NOISE = ": offline keep-alive\nnot-a-field\nx-unknown-field: ignored\n\n"
"""Lines every SSE parser skips: a comment, a line without a colon, an unknown field (no event dispatched)."""
UNKNOWN_EVENT = "offline.future_event"


GARBAGE = "this is not JSON {"


def shape_events(reply: Reply, fault: Fault) -> tuple[Event, ...]:
    """The events to send for ``fault``: cut short, garbage, terminator dropped, unknown events, noise."""
    events = list(reply.events or ())
    if fault.mode in ("cut", "garbage"):  # up to the middle of the first call's arguments
        following, events = events[reply.cut_at :], events[: reply.cut_at]
        if fault.mode == "garbage":  # named like the event it replaces, so a client cannot skip it as unknown
            events.append(Event(GARBAGE, following[0].name if following else None))
    if fault.no_terminator and events:
        events.pop()
    if fault.unknown_events and events:
        named = any(e.name for e in events)
        data = dumps({"type": UNKNOWN_EVENT} if named else {"object": UNKNOWN_EVENT})
        events.insert(1, Event(data, UNKNOWN_EVENT if named else None))
    if fault.noise and not reply.json_array:
        noise = Event("", raw=NOISE.replace("\n", reply.line_end))
        events = [e for event in events for e in (noise, event)] + [noise]
    return tuple(events)


def _as_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class _CallCorrupter:
    """Rewrites the tool calls in a body or a sequence of stream events (state: which fragments were seen)."""

    def __init__(self, fault: CallFault, streaming: bool) -> None:
        self.fault = fault
        self.streaming = streaming
        self._seen: set[Hashable] = set()

    def _arguments_once(self, key: Hashable) -> str:
        """The corrupt text for the first fragment of a call, ``""`` for the rest."""
        if key in self._seen:
            return ""
        self._seen.add(key)
        return self.fault.arguments or ""

    def walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            self._fix(value)
            for item in value.values():
                self.walk(item)
        elif isinstance(value, list):
            for item in value:
                self.walk(item)
        return value

    def _fix(self, d: dict[str, Any]) -> None:
        kind = d.get("type")
        fn = d.get("function")
        if isinstance(fn, dict) and ("index" in d or kind == "function"):  # chat §1.2 / §1.4
            self._rename(d, "id", fn)
            if self.fault.arguments is not None and "arguments" in fn:
                fn["arguments"] = self._arguments_once(("chat", d.get("index", id(d))))
        elif isinstance(kind, str) and ("function_call" in kind or kind == "tool_use"):
            self._fix_named(kind, d)
        elif kind == "content_block_delta" and isinstance(d.get("delta"), dict):  # messages §3.4
            delta = d["delta"]
            if self.fault.arguments is not None and delta.get("type") == "input_json_delta":
                delta["partial_json"] = self._arguments_once(("messages", d.get("index")))
        elif isinstance(d.get("functionCall"), dict):  # gemini §4.2
            call = d["functionCall"]
            self._rename(call, "id", call)
            if self.fault.arguments == "":
                call.pop("args", None)  # §4.6: args may be missing
            elif self.fault.arguments is not None:
                call["args"] = _as_value(self.fault.arguments)

    def _fix_named(self, kind: str, d: dict[str, Any]) -> None:
        """Responses items and argument events (§2.2, §2.4) and Anthropic ``tool_use`` blocks (§3.2)."""
        arguments = self.fault.arguments
        if kind == "function_call":
            self._rename(d, "call_id", d)
            if arguments is not None and d.get("arguments"):  # .added carries "" and stays so
                d["arguments"] = arguments
        elif kind == "response.function_call_arguments.delta" and arguments is not None:
            d["delta"] = self._arguments_once(("responses", d.get("output_index")))
        elif kind == "response.function_call_arguments.done":
            self._rename(d, None, d)
            if arguments is not None:
                d["arguments"] = arguments
        elif kind == "tool_use":  # a streamed block starts with input {} (§3.4): its deltas carry the text
            self._rename(d, "id", d)
            if arguments is not None and not self.streaming:
                d["input"] = _as_value(arguments)

    def _rename(self, d: dict[str, Any], id_key: str | None, named: dict[str, Any]) -> None:
        if self.fault.drop_id and id_key:
            d.pop(id_key, None)
        if self.fault.name is not None and "name" in named:
            named["name"] = self.fault.name


def corrupt_calls(reply: Reply, fault: CallFault) -> Reply:
    """``reply`` with every tool call's id, name or arguments corrupted as ``fault`` says."""
    corrupter = _CallCorrupter(fault, reply.events is not None)
    if reply.events is None:
        return replace(reply, body=corrupter.walk(copy.deepcopy(reply.body)))
    events: list[Event] = []
    for event in reply.events:
        try:
            data = json.loads(event.data)
        except ValueError:  # [DONE]
            events.append(event)
            continue
        events.append(Event(dumps(corrupter.walk(data)), event.name, event.raw))
    return replace(reply, events=tuple(events))

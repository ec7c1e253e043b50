"""The offline router's fault injection, as data: what may go wrong with one request, and the pure transforms
of a ``Reply`` it asks for.

Owns ``Fault`` (one request's misbehaviour: a status, a delay, a raw body, a cut after N bytes, SSE noise,
unknown events, a missing terminator, corrupted tool calls, a repeated reply), the named modes
(``NAMED_FAULTS``: ``text``, ``http401``/``429``/``500``/``503``/``529``, ``cut``, ``garbage``, ``noise``,
``unknown_events``, ``no_terminator``, ``repeat`` and the tool-call corruptions), and ``FaultScript``, which
picks each request's fault: the header ``x-offline-fault: MODE`` wins, then the script
(``router.script(Fault(status=503), "cut")``: each request takes the next scripted fault of its protocol),
then the configured mode per protocol (``faults={"chat": "cut"}``, ``"*"`` for all). Only ``corrupt_calls``
knows where each protocol keeps a call's id, name and arguments; the server applies the rest to the bytes on
the wire. Nothing here does I/O.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from crazycall.offline.wire import Event, Reply, WireError, dumps


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
    bad_output: bool = False
    """A structured final answer (``--schema``) that breaks its JSON Schema (a wrong type at a path)."""


#: named modes (header ``x-offline-fault``, ``faults=``, ``offline-router --fault``)
NAMED_FAULTS: dict[str, Fault] = {
    "text": Fault(text_only=True),
    "bad_output": Fault(bad_output=True),
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
FAULT_MODES = tuple(NAMED_FAULTS)


class FaultScript:
    """Faults queued per protocol for the next requests, and the last reply sent (for ``repeat``); thread-safe."""

    def __init__(self, configured: Mapping[str, str] | None = None) -> None:
        for protocol, mode in (configured or {}).items():
            if protocol not in ("*", "chat", "responses", "messages", "gemini"):
                raise ValueError(f"unknown protocol {protocol!r} in faults (chat, responses, messages, gemini or *)")
            if mode not in FAULT_MODES:
                raise ValueError(f"unknown fault mode {mode!r} (one of {', '.join(FAULT_MODES)})")
        self.configured = dict(configured or {})
        self._lock = threading.Lock()
        self._queue: list[tuple[str, Fault]] = []
        self._last_reply: dict[str, Reply] = {}

    def add(self, protocol: str, faults: list[Fault | str]) -> None:
        """Queue faults (or named modes) for the next requests of ``protocol`` (``"*"``: any)."""
        resolved = [NAMED_FAULTS[f] if isinstance(f, str) else f for f in faults]
        with self._lock:
            self._queue.extend((protocol, f) for f in resolved)

    def choose(self, protocol: str, headers: Mapping[str, str]) -> Fault:
        """One request's fault: the ``x-offline-fault`` header, else the script, else the configured mode."""
        header = headers.get("x-offline-fault")
        if header:
            if header not in NAMED_FAULTS:
                raise WireError(400, f"unknown x-offline-fault mode '{header}' (one of {', '.join(FAULT_MODES)})")
            return NAMED_FAULTS[header]
        scripted = self.next(protocol)
        if scripted is not None:
            return scripted
        mode = self.configured.get(protocol) or self.configured.get("*")
        return NAMED_FAULTS[mode] if mode else Fault()

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

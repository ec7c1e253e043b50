"""OpenAI Responses streams (PROTOCOLS.md §2.4): named SSE events -> neutral stream events.

Owns reading one event's data (JSON, with the ``type`` in it authoritative) and the end-of-stream rule: a stream
without ``response.completed``, ``response.incomplete`` or ``response.failed`` was cut short. What each event
means is ``response.Turn``'s, shared with the body path so both give the same result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from crazycall.errors import ProtocolViolation, TransportError
from crazycall.events import StreamEvent
from crazycall.protocols.base import SSE
from crazycall.protocols.jsonutil import truncate
from crazycall.protocols.openai_responses.request import NAME
from crazycall.protocols.openai_responses.response import Turn


def parse_stream(events: Iterable[SSE]) -> Iterator[StreamEvent]:
    turn = Turn()
    handlers = turn.handlers()
    for sse in events:
        data = _event_data(sse)
        if data is None:
            continue
        kind = data.get("type")
        if not isinstance(kind, str):
            kind = sse.event  # the type in the data is authoritative, the event: line a fallback (§2.4)
        handler = handlers.get(kind)
        if handler is not None:  # about 58 event types exist; the rest are ignored (§2.4)
            yield from handler(kind, data)
            if turn.done:
                return
    raise TransportError(
        f"{NAME}: stream ended before response.completed (no response.completed, response.incomplete "
        "or response.failed event arrived)"
    )


def _event_data(sse: SSE) -> Mapping[str, Any] | None:
    raw = sse.data
    if not raw.strip() or raw.strip() == "[DONE]":
        return None  # the spec has no [DONE], but a router may add one (§2.4)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolViolation(
            f"{NAME}: stream event {sse.event!r} carries data that is not JSON: {truncate(raw, 80)!r}"
        ) from None
    if not isinstance(value, Mapping):
        raise ProtocolViolation(f"{NAME}: stream event {sse.event!r} data is not a JSON object")
    return value

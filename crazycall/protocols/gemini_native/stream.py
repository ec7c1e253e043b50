"""Gemini streams (PROTOCOLS.md §4.4): ``streamGenerateContent?alt=sse`` data chunks -> neutral events.

Owns reading one SSE data line (JSON: a response object or an array of them) and the end-of-stream rule: the
stream ends at connection close, so one without a ``finishReason`` was cut short. What a chunk means is
``response.Turn``'s, shared with the body path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from crazycall.errors import ProtocolViolation, TransportError
from crazycall.events import ResponseCompleted, StreamEvent
from crazycall.protocols.base import SSE
from crazycall.protocols.gemini_native.request import STREAM_PATH
from crazycall.protocols.gemini_native.response import Turn


def parse_stream(events: Iterable[SSE]) -> Iterator[StreamEvent]:
    turn = Turn(STREAM_PATH)
    for sse in events:
        if sse.event not in ("", "message"):
            continue  # this wire has no event names; anything named is not ours
        data = sse.data.strip()
        if not data or data == "[DONE]":
            continue  # no [DONE] on this wire (§4.4), but a proxy adding one must not break the parse
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser can go
            raise ProtocolViolation(f"gemini: stream data is not JSON: {data[:80]!r}") from None
        for chunk in value if isinstance(value, list) else [value]:
            yield from turn.feed(chunk)
    if not turn.finished:
        # The stream ends at connection close (§4.4): without a finishReason it was cut short.
        raise TransportError("gemini: stream ended before a finishReason arrived (connection closed early)")
    yield ResponseCompleted(turn.response())

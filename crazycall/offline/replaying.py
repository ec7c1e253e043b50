"""``offline-router --replay``: the router answers from recordings (transcripts) instead of its own model.

Owns matching an incoming request against the recorded ones and turning the recorded answer back into the
server's ``Reply``. The matching is ``ask --replay``'s (``crazycall.replay.compare``: the request redacted as the
transcript would have recorded it, generated ids and cut strings allowed for), so a client that sends what
crazycall sent gets what crazycall got: the same body, the same stream events in order, the same HTTP error,
and a stream that was cut is cut again. Unlike ``ask --replay`` any client may send the requests, in any order:
each request is answered by the first recorded exchange it matches, looked for from where the last match of
that recording left off. A request that matches none gets a 400 in the protocol's own error envelope naming
the first difference from the closest recorded request. Neither import reaches ``crazycall.protocols``: the
router still answers nothing from the adapters.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from crazycall.offline.faults import Fault
from crazycall.offline.wire import Event, Incoming, Reply, WireError
from crazycall.replay.compare import Difference, first_difference, normalized
from crazycall.transcript.recording import Exchange, Recording

_FIELDS = ("method", "path", "query", "stream", "body")


class ReplayBook:
    """The recorded exchanges the router answers from; safe to share between the server's threads."""

    def __init__(self, recordings: Sequence[Recording]) -> None:
        self.recordings = list(recordings)
        self._next = [0] * len(self.recordings)
        self._lock = threading.Lock()

    def answer(self, protocol: str, inc: Incoming) -> tuple[Reply, Fault]:
        """The recorded answer to ``inc``; raises ``WireError`` when no recorded request matches it."""
        query = {k: v for k, v in inc.query.items() if k != "key"}  # Gemini's ?key= is never recorded
        now = normalized({"method": inc.method, "path": inc.path, "query": query, "stream": inc.stream})
        now["body"] = normalized(inc.body)
        with self._lock:
            found = self._find(protocol, now)
        if isinstance(found, tuple):
            index, exchange = found
            return _reply(self.recordings[index], exchange, inc, protocol)
        raise WireError(400, found, kind="invalid_request_error", code="replay_mismatch")

    def _find(self, protocol: str, now: Mapping[str, Any]) -> tuple[int, Exchange] | str:
        """The first matching exchange (from each recording's last match on), or why none matches."""
        closest: tuple[int, Recording, int, Difference] | None = None
        for index, recording in enumerate(self.recordings):
            if recording.protocol != protocol:
                continue
            exchanges = recording.exchanges
            start = self._next[index]
            for n in [*range(start, len(exchanges)), *range(start)]:
                difference = _difference(exchanges[n].request, now)
                if difference is None:
                    self._next[index] = n + 1
                    return index, exchanges[n]
                # the closest: one that differs only in its body, preferably the one expected next
                rank = 2 * (difference.path.split(".")[0].split("[")[0] not in _FIELDS) + (n == start)
                if closest is None or rank > closest[0]:
                    closest = (rank, recording, n, difference)
        if closest is None:
            return f"replay: nothing was recorded on the {protocol} protocol"
        _rank, recording, n, difference = closest
        where = f"request {n + 1} of {recording.source}"
        return f"replay: no recorded request matches; the closest, {where}, differs at {difference.describe()}"


def _difference(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> Difference | None:
    for key in _FIELDS:
        found = first_difference(recorded.get(key), now.get(key), "" if key == "body" else key)
        if found is not None:
            return found
    return None


def _reply(recording: Recording, exchange: Exchange, inc: Incoming, protocol: str) -> tuple[Reply, Fault]:
    """The recorded answer as the server sends it: a body verbatim, the events as received, errors as errors."""
    if exchange.status is None:  # refused or timed out when recorded: nothing came back
        message = str((recording.error or {}).get("message") or "no answer")
        raise WireError(502, f"replay: this request got no answer when it was recorded: {message}")
    if not 200 <= exchange.status < 300:
        raise WireError(exchange.status, "recorded error", raw=exchange.body or "")
    if not exchange.events and not inc.stream:
        return Reply(), Fault(body=exchange.body or "")
    events = tuple(Event(data, None if name == "message" else name) for name, data in exchange.events)
    json_array = protocol == "gemini" and inc.query.get("alt") != "sse"
    reply = Reply(events=events, cut_at=len(events), json_array=json_array, line_end="\r\n" if json_array else "\n")
    last = exchange is recording.exchanges[-1]
    cut = last and (recording.error or {}).get("error_type") == "transport_error"  # the stream ended early
    return reply, Fault(mode="cut") if cut else Fault()

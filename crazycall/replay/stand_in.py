"""The transport's stand-in: answers each request from the recording, after checking it is the recorded one.

``ReplayTransport`` has the transport's two calls (``send`` and ``stream``, see ``model.TurnTransport``), so an
ordinary ``HttpModel`` runs on it: the adapter builds the request and parses the answer exactly as it does
over HTTP, and nothing above the Model seam knows it is a replay. Like the transport it shows an ``observer``
(the new run's transcript) every request, response and event, so a replay's transcript is a recording too.
A recorded failure replays as the same error: an HTTP error body through the adapter's ``parse_error``, a
stream that ended early as a ``StreamCut``, no answer at all as the error the original run ended with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crazycall.errors import (
    CrazycallError,
    ProtocolViolation,
    ProviderError,
    ReplayMismatch,
    StreamCut,
    TransportError,
    UsageError,
)
from crazycall.events import StreamEvent
from crazycall.model import HttpModel
from crazycall.protocols.base import HttpRequest, ProtocolAdapter
from crazycall.replay.compare import first_difference, json_value, normalized
from crazycall.sse import ServerEvent
from crazycall.transcript.recording import Exchange, Recording, load_recording

Observer = Callable[[str, Mapping[str, Any]], None]


class ReplayTransport:
    """Serves a recording's exchanges in order, one per request."""

    def __init__(self, recording: Recording, observer: Observer | None = None) -> None:
        self.recording = recording
        self.requests_sent = 0
        self._observer = observer

    def send(self, adapter: ProtocolAdapter, request: HttpRequest) -> Any:
        exchange = self._answer(adapter, request)
        body = exchange.body or ""
        self._observe("response", {"status": exchange.status, "request_id": None, "body": body})
        self._check_status(adapter, request, exchange)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise ProtocolViolation(
                f"{adapter.name} {request.path}: response body is not JSON: {body[:120]!r}"
            ) from None

    def stream(self, adapter: ProtocolAdapter, request: HttpRequest) -> Iterator[StreamEvent]:
        exchange = self._answer(adapter, request)
        if exchange.status is not None and not 200 <= exchange.status < 300:
            self._observe("response", {"status": exchange.status, "request_id": None, "body": exchange.body or ""})
            self._check_status(adapter, request, exchange)
        self._observe("response", {"status": exchange.status, "request_id": None})
        try:
            yield from adapter.parse_stream(self._events(exchange))
        except ProviderError as err:  # an error event inside a 200 stream
            err.protocol, err.endpoint = adapter.name, request.path
            raise
        except TransportError as err:
            if type(err) is TransportError:  # the recorded stream ended before its terminal event
                raise StreamCut(self._cut_message(exchange, err.message)) from None
            raise

    def _cut_message(self, exchange: Exchange, message: str) -> str:
        """Why the stream stopped: the original run's own words when this was its last exchange and it ended
        in a transport error (the peer closed the connection), else the adapter's (no terminal event)."""
        error = self.recording.error or {}
        last = exchange is self.recording.exchanges[-1]
        if last and error.get("error_type") == TransportError.kind and isinstance(error.get("message"), str):
            return str(error["message"])
        return message

    def _events(self, exchange: Exchange) -> Iterator[ServerEvent]:
        for name, data in exchange.events:
            self._observe("event", {"event": name, "data": data})
            yield ServerEvent(name, data)

    def _answer(self, adapter: ProtocolAdapter, request: HttpRequest) -> Exchange:
        """The recorded exchange for this request, after comparing the two; raises when they differ."""
        number = self.requests_sent = self.requests_sent + 1
        record: dict[str, Any] = {"method": request.method, "path": request.path, "query": dict(request.query)}
        record.update(stream=request.stream, attempt=1, body=request.body)
        self._observe("request", record)
        exchanges = self.recording.exchanges
        if number > len(exchanges):
            message = f"replay: request {number} was not recorded ({self.recording.source} holds {len(exchanges)})"
            raise ReplayMismatch(message, number)
        exchange = exchanges[number - 1]
        if not isinstance(exchange.request.get("path"), str):
            source = self.recording.source
            raise UsageError(
                f"replay: request {number} of {source} was cut whole by the transcript's record limit"
                " (max_transcript_record_bytes in the config file); record the run again with a larger one"
            )
        recorded, now = exchange.request, normalized(record)
        for key in ("method", "path", "query", "stream", "body"):
            found = first_difference(recorded.get(key), now.get(key), "" if key == "body" else key)
            if found is not None:
                raise ReplayMismatch(
                    f"replay: request {number} differs at {found.describe()}",
                    number,
                    found.path,
                    json_value(found.recorded),
                    json_value(found.now),
                )
        if exchange.status is None:
            raise _recorded_failure(self.recording, number)
        return exchange

    @staticmethod
    def _check_status(adapter: ProtocolAdapter, request: HttpRequest, exchange: Exchange) -> None:
        status = exchange.status or 0
        if 200 <= status < 300:
            return
        err = adapter.parse_error(status, (exchange.body or "").encode("utf-8"), {})
        err.protocol, err.endpoint = adapter.name, request.path
        raise err

    def _observe(self, kind: str, record: Mapping[str, Any]) -> None:
        if self._observer is not None:
            self._observer(kind, record)


def _recorded_failure(recording: Recording, number: int) -> CrazycallError:
    """The original run's request got no answer (refused, timed out): its error again, as a transport error
    (the only kind of failure that leaves no response; every such error shares the kind and exit code 5)."""
    message = str((recording.error or {}).get("message") or "")
    return TransportError(message or f"replay: request {number} got no answer when it was recorded")


def replay_model(recording: Recording, observer: Observer | None = None) -> HttpModel:
    """A Model answering from ``recording``: its model name, protocol and stream mode."""
    from crazycall.protocols import get_adapter

    return HttpModel(
        get_adapter(recording.protocol), ReplayTransport(recording, observer), recording.model, stream=recording.stream
    )


def model_from_transcript(path: Path, observer: Observer | None = None) -> HttpModel:
    """``replay_model`` of the transcript at ``path`` (for ``chat --replay`` and ``eval --replay``)."""
    return replay_model(load_recording(path), observer)

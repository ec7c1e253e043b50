"""The only module that talks HTTP (httpx + httpx-sse).

Owns the base URL, auth placement (headers or query, as the adapter says), the exchange over the process's
shared client for that base URL (crazycall.transport_clients: keep-alive across turns and conversations),
timeouts (connect, read, and a deadline for a whole model request, stream and retries included), retries
(when and how long to wait: crazycall.transport_retry), status -> ProviderError (through the adapter's
``parse_error``), httpx exceptions -> TransportError by kind (timeout, connect, a cut body or stream), the
``observer`` hook that shows a transcript every raw request, response body and stream event, the ``on_wait``
hook that runs whenever a stream is about to wait for the network (so buffered output can be flushed then,
not once per delta), and redaction at the boundary (httpx puts the full URL, Gemini's ``?key=`` included,
into its exception messages). It knows nothing about any protocol's payloads; the SSE grammar is
crazycall.sse's. Bodies are read within size limits (decompressed and counted by crazycall.transport_limits
while they arrive): a body past its limit is a ProtocolViolation, never retried.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from crazycall import transport_clients
from crazycall.errors import (
    ConnectFailed,
    CrazycallError,
    DeadlineExceeded,
    ProtocolViolation,
    ProviderError,
    StreamCut,
    TransportError,
    TransportTimeout,
)
from crazycall.events import StreamEvent
from crazycall.protocols.base import HttpRequest, ProtocolAdapter
from crazycall.protocols.jsonutil import fix_surrogates
from crazycall.redact import redact
from crazycall.settings import DEFAULT_MAX_RETRIES
from crazycall.sse import EventTooLarge, ServerEvent, read_events
from crazycall.transport_deadline import Attempt as _Attempt
from crazycall.transport_limits import (
    DEFAULT_MAX_ERROR_BYTES,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_STREAM_BYTES,
    BodyRefused,
    BodyTooLarge,
    decoded_chunks,
    decoded_text,
    read_body,
    size,
)
from crazycall.transport_retry import RETRY_STATUSES as RETRY_STATUSES
from crazycall.transport_retry import retryable, wait_before

transport_clients.no_httpx_cli()

import httpx  # noqa: E402  (after the stand-in for httpx's command-line client)

Observer = Callable[[str, Mapping[str, Any]], None]
"""``observer(kind, record)`` with kind ``request``, ``response``, ``event`` or ``retry`` (see Transport)."""


@dataclass(frozen=True)
class TransportOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    """Generous: thinking models can stall for minutes between bytes."""
    deadline: float | None = None
    """Seconds for a whole model request (stream and retries included); None = no overall limit."""
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_wait: float = 60.0
    """A server-stated wait longer than this is cut down to it."""
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    max_error_bytes: int = DEFAULT_MAX_ERROR_BYTES
    max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES


class Transport:
    """One conversation's requests, over the shared client for its base URL. Use as a context manager.

    ``connections`` is how many conversations may run at once against this base URL: the shared keep-alive
    pool keeps that many connections. ``close`` returns the client to the process (the last user closes it)
    and hangs up this Transport's requests still waiting, so another thread's blocked read ends.

    ``observer`` (optional) sees every raw exchange before anything is parsed, so a transcript keeps what
    arrived even when parsing then fails: ``request`` (method, path, query without auth, stream, body,
    attempt), ``response`` (status, request_id, body text), ``event`` (event, data) and ``retry``
    (attempt, wait, error). ``on_wait`` (optional) runs before each read of a stream's body that may block:
    what the observer and the renderer buffered is flushed then, before the process idles.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        options: TransportOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        observer: Observer | None = None,
        on_wait: Callable[[], None] | None = None,
        connections: int = 1,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or ""
        self.options = options or TransportOptions()
        self._sleep = sleep
        self._jitter = jitter
        self._observer = observer
        self._on_wait = on_wait
        self._lease: transport_clients.Lease | None = transport_clients.acquire(self.base_url, connections)
        self._client = self._lease.client
        self._lock = threading.Lock()
        self._attempts: set[_Attempt] = set()
        #: number of HTTP requests built (retries included)
        self.requests_sent = 0

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            lease, self._lease = self._lease, None
            attempts = list(self._attempts)
        for attempt in attempts:
            attempt.hang_up()
        if lease is not None:
            lease.release()

    def _begin(self, deadline_at: float | None) -> _Attempt:
        attempt = _Attempt(deadline_at)
        with self._lock:
            if self._lease is None:
                raise TransportError(f"{self.base_url}: the transport is closed")
            self._attempts.add(attempt)
        return attempt

    def _end(self, attempt: _Attempt) -> None:
        attempt.cancel()
        with self._lock:
            self._attempts.discard(attempt)

    # ------------------------------------------------------------------ public

    def send(self, adapter: ProtocolAdapter, request: HttpRequest) -> Any:
        """POST a non-streaming request; return the decoded JSON body."""
        deadline_at = self._deadline_at()
        attempt_no = 0
        while True:
            attempt = self._begin(deadline_at)
            try:
                return self._send_once(adapter, request, attempt, attempt_no)
            except CrazycallError as err:
                attempt_no = self._before_retry(err, attempt_no, attempt)
            finally:
                self._end(attempt)

    def stream(self, adapter: ProtocolAdapter, request: HttpRequest) -> Iterator[StreamEvent]:
        """POST a streaming request and yield the adapter's neutral events as SSE arrives.

        A failure before the first event is retried like any other; once an event has been delivered a break
        is reported (the caller keeps what it already received).
        """
        deadline_at = self._deadline_at()
        attempt_no = 0
        while True:
            delivered = False
            attempt = self._begin(deadline_at)
            try:
                events = self._stream_once(adapter, request, attempt, attempt_no)
                first = next(events, None)
                if first is None:
                    return
                delivered = True
                yield first
                yield from events  # delegated: one generator layer less per delta
                return
            except CrazycallError as err:
                if delivered:
                    raise
                attempt_no = self._before_retry(err, attempt_no, attempt)
            finally:
                self._end(attempt)

    # ------------------------------------------------------------------ one attempt

    def _send_once(self, adapter: ProtocolAdapter, request: HttpRequest, attempt: _Attempt, attempt_no: int) -> Any:
        try:
            response = self._client.send(self._build(adapter, request, attempt, attempt_no), stream=True)
            try:
                attempt.watch(response)
                body = self._read(adapter, request, response)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise self._transport_error(adapter, request, exc, attempt) from None
        self._observe_response(response, body)
        self._check_status(adapter, request, response.status_code, body, response.headers)
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser can go
            what = "nested too deeply to read" if isinstance(exc, RecursionError) else "not JSON"
            snippet = body[:120].decode("utf-8", "replace")
            raise ProtocolViolation(f"{adapter.name} {request.path}: response body is {what}: {snippet!r}") from None

    def _read(
        self, adapter: ProtocolAdapter, request: HttpRequest, response: httpx.Response, cut: bool = False
    ) -> bytes:
        """The whole body within its limit (an error body's is smaller); past it a ProtocolViolation, never
        retried: the same answer would come again. With ``cut``, the part within the limit (for a snippet)."""
        ok = 200 <= response.status_code < 300 and not cut
        limit = self.options.max_response_bytes if ok else self.options.max_error_bytes
        what = "the response body" if ok else f"the HTTP {response.status_code} body"
        encoding = response.headers.get("content-encoding", "")
        try:
            return read_body(response.iter_raw(), encoding, limit, what, cut=cut)
        except BodyRefused as exc:
            self._observe("response", {"status": response.status_code, "request_id": _request_id(response)})
            setting = "max_response_bytes" if ok else "max_error_bytes"
            hint = f" ({setting} in the config file)" if isinstance(exc, BodyTooLarge) else ""
            raise self._refused(adapter, request, f"{exc}{hint}") from None

    @staticmethod
    def _refused(adapter: ProtocolAdapter, request: HttpRequest, reason: str) -> ProtocolViolation:
        return ProtocolViolation(f"{adapter.name} {request.path}: {reason}; not retried")

    def _stream_once(
        self, adapter: ProtocolAdapter, request: HttpRequest, attempt: _Attempt, attempt_no: int
    ) -> Iterator[StreamEvent]:
        try:
            response = self._client.send(self._build(adapter, request, attempt, attempt_no), stream=True)
            try:
                attempt.watch(response)
                if not 200 <= response.status_code < 300:
                    body = self._read(adapter, request, response)
                    self._observe_response(response, body)
                    self._check_status(adapter, request, response.status_code, body, response.headers)
                ctype = response.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    body = self._read(adapter, request, response, cut=True)
                    self._observe_response(response, body)
                    raise ProtocolViolation(
                        f"{adapter.name} {request.path}: expected an event stream, got {ctype or 'no content-type'}"
                        f": {body[:120].decode('utf-8', 'replace')!r}"
                    )
                self._observe("response", {"status": response.status_code, "request_id": _request_id(response)})
                sse = self._observed(response, adapter, request, attempt)
                yield from adapter.parse_stream(sse)
                _drain(sse)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise self._transport_error(adapter, request, exc, attempt) from None
        except EventTooLarge as exc:
            reason = f"one stream event exceeds the {size(exc.limit)} limit (max_event_bytes in the config file)"
            raise self._refused(adapter, request, reason) from None
        except BodyRefused as exc:
            hint = " (max_stream_bytes in the config file)" if isinstance(exc, BodyTooLarge) else ""
            raise self._refused(adapter, request, f"{exc}{hint}") from None
        except TransportError as err:
            if attempt.expired():  # the watchdog's hang-up looks like a cut stream to the adapter
                raise self._deadline_error(adapter, request) from None
            if type(err) is TransportError:  # the adapter saw the stream end before its terminal event
                raise StreamCut(err.message) from None
            raise
        except ProviderError as err:  # an error event inside a 200 stream
            err.protocol, err.endpoint = adapter.name, request.path
            raise

    def _observed(
        self, response: httpx.Response, adapter: ProtocolAdapter, request: HttpRequest, attempt: _Attempt
    ) -> Iterator[ServerEvent]:
        """The response's events, each shown to the observer first; the deadline is checked before each read
        (a stream that keeps arriving is stopped there; one that stalls, by the watchdog's hang-up)."""

        def before_read() -> None:
            if self._on_wait is not None:
                self._on_wait()
            if attempt.expired():
                raise self._deadline_error(adapter, request)

        # Each event has a limit, and so has the whole stream (a generous one: a long answer is long).
        encoding = response.headers.get("content-encoding", "")
        limit = self.options.max_stream_bytes
        chunks = decoded_chunks(response.iter_raw(), encoding, limit, "the stream")
        return read_events(decoded_text(chunks), before_read, self._observer, self.options.max_event_bytes)

    # ------------------------------------------------------------------ internals

    def _build(self, adapter: ProtocolAdapter, request: HttpRequest, attempt: _Attempt, attempt_no: int) -> Any:
        auth = adapter.auth(self.api_key)
        headers = {"content-type": "application/json", **request.headers, **auth.headers}
        if request.stream:
            headers["accept"] = "text/event-stream"
        params = {**request.query, **auth.query}
        self.requests_sent += 1
        record = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),  # without auth: the key never reaches an observer
            "stream": request.stream,
            "attempt": attempt_no + 1,
            "body": request.body,
        }
        self._observe("request", record)
        return self._client.build_request(
            request.method,
            self.base_url + request.path,
            params=params or None,
            headers=headers,
            content=_encode_body(request.body),
            timeout=self._timeout(attempt),
        )

    def _timeout(self, attempt: _Attempt) -> httpx.Timeout:
        """The configured timeouts, none of them longer than what is left of the deadline."""
        o = self.options
        left = attempt.remaining()
        if left is None:
            return httpx.Timeout(o.read_timeout, connect=o.connect_timeout)
        left = max(left, 0.001)
        return httpx.Timeout(min(o.read_timeout, left), connect=min(o.connect_timeout, left))

    def _observe(self, kind: str, record: Mapping[str, Any]) -> None:
        if self._observer is not None:
            self._observer(kind, record)

    def _observe_response(self, response: httpx.Response, body: bytes) -> None:
        text = body.decode("utf-8", "replace")
        self._observe("response", {"status": response.status_code, "request_id": _request_id(response), "body": text})

    def _check_status(
        self, adapter: ProtocolAdapter, request: HttpRequest, status: int, body: bytes, headers: Any
    ) -> None:
        if 200 <= status < 300:
            return
        try:
            err = adapter.parse_error(status, body, headers)
        except ProtocolViolation as exc:  # an error body no router sends (JSON nested too deeply)
            raise self._refused(adapter, request, f"HTTP {status}: {exc}") from None
        err.protocol = adapter.name
        err.endpoint = request.path  # the real path (an adapter knows only its template, e.g. Gemini's {model})
        raise err

    def _deadline_at(self) -> float | None:
        return None if self.options.deadline is None else time.monotonic() + self.options.deadline

    def _before_retry(self, err: CrazycallError, attempt_no: int, attempt: _Attempt) -> int:
        """Sleep before the next attempt and return its number, or re-raise ``err`` when it must not be retried."""
        o = self.options
        if not retryable(err) or attempt_no >= o.max_retries:
            raise err
        wait = wait_before(
            err, attempt_no, base=o.backoff_base, cap=o.backoff_cap, max_wait=o.max_retry_wait, jitter=self._jitter
        )
        left = attempt.remaining()
        if left is not None and wait >= left:  # sleeping past the deadline would only fail later
            raise err
        self._observe("retry", {"attempt": attempt_no + 1, "wait": round(wait, 3), "error": str(err)})
        self._sleep(wait)
        return attempt_no + 1

    def _deadline_error(self, adapter: ProtocolAdapter, request: HttpRequest) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"{adapter.name} {request.path}: no complete answer within the {self.options.deadline:g} s deadline "
            "(--timeout)"
        )

    def _transport_error(
        self, adapter: ProtocolAdapter, request: HttpRequest, exc: Exception, attempt: _Attempt
    ) -> TransportError:
        if attempt.expired():
            return self._deadline_error(adapter, request)
        kind = type(exc).__name__
        detail = redact(str(exc)) or kind
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            url = httpx.URL(self.base_url)  # the address only: a key in the URL's query never gets here
            port = url.port or (443 if url.scheme == "https" else 80)
            detail = f"cannot connect to {url.host}:{port}: {detail}"
        return _error_class(exc, attempt.responded)(f"{adapter.name} {request.path}: {kind}: {detail}")


def _error_class(exc: Exception, responded: bool) -> type[TransportError]:
    """The kind of an httpx failure: a timeout (connect included), no connection, or a body that broke off
    after the headers arrived; anything else (e.g. the server hung up before answering) is plain."""
    if isinstance(exc, httpx.TimeoutException):
        return TransportTimeout
    if isinstance(exc, httpx.ConnectError):
        return ConnectFailed
    return StreamCut if responded else TransportError


def _drain(events: Iterator[Any], limit: int = 16) -> None:
    """Read what follows the terminal event (the chunked body's end, a stray ``[DONE]``): a response closed
    with bytes unread cannot go back to the pool, and the next turn would pay for a new connection."""
    try:
        for n, _ in enumerate(events):
            if n >= limit:  # a server that keeps talking after the end: hang up instead
                return
    except (CrazycallError, httpx.HTTPError):  # the answer is complete: a failure after it costs only the connection
        return


def _encode_body(body: Any) -> bytes:
    """The request body as UTF-8 JSON. A lone surrogate (in a model's arguments, a tool's result, a prompt)
    cannot be UTF-8: it is sent as U+FFFD, as any router would read it, instead of failing the run."""
    text = json.dumps(body, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return fix_surrogates(text).encode("utf-8")


def _request_id(response: httpx.Response) -> str | None:
    value: str | None = response.headers.get("request-id") or response.headers.get("x-request-id")
    return value

"""The only module that talks HTTP (httpx + httpx-sse).

Owns: the base URL, auth placement (headers or query, as the adapter says), one connection pool for the whole
run (keep-alive across turns), timeouts, retries with backoff, status -> ProviderError (through the adapter's
``parse_error``), httpx exceptions -> TransportError, and redaction at the boundary (httpx puts the full URL,
Gemini's ``?key=`` included, into its exception messages). It knows nothing about any protocol's payloads.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from crazycall import __version__
from crazycall.errors import CrazycallError, ProtocolViolation, ProviderError, TransportError
from crazycall.events import StreamEvent
from crazycall.protocols.base import HttpRequest, ProtocolAdapter
from crazycall.redact import redact

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class TransportOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    """Generous: thinking models can stall for minutes between bytes."""
    deadline: float | None = None
    """Seconds for a whole request (stream included); None = no overall limit."""
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_wait: float = 60.0
    """A server-stated wait longer than this is cut down to it."""


class Transport:
    """One httpx.Client for a whole run. Use as a context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        options: TransportOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or ""
        self.options = options or TransportOptions()
        self._sleep = sleep
        o = self.options
        self._client = httpx.Client(
            timeout=httpx.Timeout(o.read_timeout, connect=o.connect_timeout),
            headers={"user-agent": f"crazycall/{__version__}"},
            follow_redirects=False,
        )
        #: number of HTTP requests built (retries included)
        self.requests_sent = 0

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ public

    def send(self, adapter: ProtocolAdapter, request: HttpRequest) -> Any:
        """POST a non-streaming request; return the decoded JSON body."""

        def attempt() -> Any:
            response = self._client.send(self._build(adapter, request))
            try:
                body = response.read()
            finally:
                response.close()
            self._check_status(adapter, request, response.status_code, body, response.headers)
            try:
                return json.loads(body)
            except ValueError:
                snippet = body[:120].decode("utf-8", "replace")
                raise ProtocolViolation(
                    f"{adapter.name} {request.path}: response body is not JSON: {snippet!r}"
                ) from None

        return self._with_retries(adapter, request, attempt)

    def stream(self, adapter: ProtocolAdapter, request: HttpRequest) -> Iterator[StreamEvent]:
        """POST a streaming request and yield the adapter's neutral events as SSE arrives.

        A failure before the first event is retried like any other; once an event has been delivered a break
        is reported (the caller keeps what it already received).
        """
        attempt_no = 0
        while True:
            delivered = False
            try:
                for event in self._stream_once(adapter, request):
                    delivered = True
                    yield event
                return
            except CrazycallError as err:
                if delivered or not self._retryable(err) or attempt_no >= self.options.max_retries:
                    raise
                self._sleep(self._wait(err, attempt_no))
                attempt_no += 1

    # ------------------------------------------------------------------ internals

    def _build(self, adapter: ProtocolAdapter, request: HttpRequest) -> httpx.Request:
        auth = adapter.auth(self.api_key)
        headers = {"content-type": "application/json", **request.headers, **auth.headers}
        if request.stream:
            headers["accept"] = "text/event-stream"
        params = {**request.query, **auth.query}
        self.requests_sent += 1
        return self._client.build_request(
            request.method,
            self.base_url + request.path,
            params=params or None,
            headers=headers,
            content=json.dumps(request.body, ensure_ascii=False).encode("utf-8"),
        )

    def _check_status(
        self, adapter: ProtocolAdapter, request: HttpRequest, status: int, body: bytes, headers: Any
    ) -> None:
        if 200 <= status < 300:
            return
        err = adapter.parse_error(status, body, headers)
        if not err.endpoint:
            err.endpoint = request.path
        raise err

    def _stream_once(self, adapter: ProtocolAdapter, request: HttpRequest) -> Iterator[StreamEvent]:
        from httpx_sse import EventSource

        deadline = self._deadline()
        try:
            with self._open_stream(adapter, request) as response:
                if not 200 <= response.status_code < 300:
                    body = response.read()
                    self._check_status(adapter, request, response.status_code, body, response.headers)
                ctype = response.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    body = response.read()
                    raise ProtocolViolation(
                        f"{adapter.name} {request.path}: expected an event stream, got {ctype or 'no content-type'}"
                        f": {body[:120].decode('utf-8', 'replace')!r}"
                    )
                yield from adapter.parse_stream(self._timed(EventSource(response).iter_sse(), deadline))
        except httpx.HTTPError as exc:
            raise self._transport_error(adapter, request, exc) from None

    def _open_stream(self, adapter: ProtocolAdapter, request: HttpRequest) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def opened() -> Iterator[httpx.Response]:
            response = self._client.send(self._build(adapter, request), stream=True)
            try:
                yield response
            finally:
                response.close()

        return opened()

    def _timed(self, events: Iterator[Any], deadline: float | None) -> Iterator[Any]:
        if deadline is None:
            yield from events
            return
        for event in events:
            if time.monotonic() > deadline:
                raise TransportError(f"request took longer than the {self.options.deadline:g} s deadline")
            yield event

    def _deadline(self) -> float | None:
        return None if self.options.deadline is None else time.monotonic() + self.options.deadline

    def _with_retries(self, adapter: ProtocolAdapter, request: HttpRequest, attempt: Callable[[], Any]) -> Any:
        attempt_no = 0
        while True:
            try:
                try:
                    return attempt()
                except httpx.HTTPError as exc:
                    raise self._transport_error(adapter, request, exc) from None
            except CrazycallError as err:
                if not self._retryable(err) or attempt_no >= self.options.max_retries:
                    raise
                self._sleep(self._wait(err, attempt_no))
                attempt_no += 1

    @staticmethod
    def _retryable(err: CrazycallError) -> bool:
        if isinstance(err, ProviderError):
            if err.retryable is not None:
                return err.retryable
            return err.status in RETRY_STATUSES
        return isinstance(err, TransportError)

    def _wait(self, err: CrazycallError, attempt_no: int) -> float:
        o = self.options
        stated = err.retry_after if isinstance(err, ProviderError) else None
        if stated is not None:
            return min(stated, o.max_retry_wait)
        backoff = min(o.backoff_base * float(2**attempt_no), o.backoff_cap)
        return backoff * (0.75 + random.random() * 0.25)  # jitter: spread clients that failed together

    def _transport_error(self, adapter: ProtocolAdapter, request: HttpRequest, exc: Exception) -> TransportError:
        kind = type(exc).__name__
        detail = redact(str(exc)) or kind
        return TransportError(f"{adapter.name} {request.path}: {kind}: {detail}")

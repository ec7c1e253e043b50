"""Transport against the offline router on 127.0.0.1: retries, waits, timeouts, the deadline, keep-alive.

Every fault is scripted per request (``router.script``), so each test states exactly which requests fail and
how; sleeps are recorded instead of slept (``Transport(sleep=...)``) and jitter is fixed.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from crazycall.conversation import Conversation, ToolSpec
from crazycall.errors import (
    AuthenticationError,
    DeadlineExceeded,
    ProtocolViolation,
    ProviderError,
    RateLimitError,
    ServerError,
    TransportError,
)
from crazycall.events import ResponseCompleted, ToolCallStarted
from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter
from crazycall.protocols import get_adapter
from crazycall.protocols.base import HttpRequest, ProtocolAdapter, RequestOptions
from crazycall.transport import RETRY_STATUSES, Transport, TransportOptions

KEY = "sk-transport-test-0001"
WEATHER = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
MODELS = {"chat": "gpt-4o", "responses": "gpt-4.1", "messages": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash"}
PROMPT = "What is the weather in Paris?"


@pytest.fixture
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as running:
        yield running


def request(protocol: str, stream: bool = False, prompt: str = PROMPT) -> tuple[ProtocolAdapter, HttpRequest]:
    adapter = get_adapter(protocol)
    opts = RequestOptions(MODELS[protocol], stream=stream)
    return adapter, adapter.build_request(Conversation.start(prompt), [WEATHER], opts)


class Recorder:
    """Sleeps that were asked for, and everything the observer saw."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def observe(self, kind: str, record: Any) -> None:
        self.seen.append((kind, dict(record)))


def transport(url: str, rec: Recorder, jitter: float = 1.0, **options: Any) -> Transport:
    return Transport(
        url, KEY, TransportOptions(**options), sleep=rec.sleeps.append, jitter=lambda: jitter, observer=rec.observe
    )


def full_stream(t: Transport, protocol: str) -> list[Any]:
    adapter, req = request(protocol, stream=True)
    return list(t.stream(adapter, req))


# ---------------------------------------------------------------- what is retried


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retryable_status_then_success(router: OfflineRouter, status: int) -> None:
    router.script(Fault(status=status))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec) as t:
        body = t.send(adapter, req)
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert len(router.requests) == 2 and t.requests_sent == 2
    # 429 says retry-after: 0; the others have no hint: the first backoff, 0.5 s with jitter at its top
    assert rec.sleeps == ([0.0] if status == 429 else [0.5])


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_4xx_are_never_retried(router: OfflineRouter, status: int) -> None:
    router.script(Fault(status=status))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec) as t, pytest.raises(ProviderError) as caught:
        t.send(adapter, req)
    assert caught.value.status == status
    assert len(router.requests) == 1 and rec.sleeps == []


def test_anthropic_529_overloaded_is_retried(router: OfflineRouter) -> None:
    router.script(Fault(status=529), Fault(status=529))
    rec = Recorder()
    adapter, req = request("messages")
    with transport(router.url, rec, jitter=0.0) as t:
        body = t.send(adapter, req)
    assert body["stop_reason"] == "tool_use"
    assert rec.sleeps == [0.375, 0.75]  # 0.5 s doubling, jitter at its bottom (x0.75)


def test_retries_stop_at_max_retries_with_the_last_error(router: OfflineRouter) -> None:
    router.script(*[Fault(status=503)] * 4)
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec, max_retries=2) as t, pytest.raises(ServerError) as caught:
        t.send(adapter, req)
    assert caught.value.status == 503
    assert len(router.requests) == 3
    assert rec.sleeps == [0.5, 1.0]
    assert router.pending_faults() == 1


def test_backoff_doubles_up_to_its_cap(router: OfflineRouter) -> None:
    router.script(*[Fault(status=500)] * 7)
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec, max_retries=7) as t:
        t.send(adapter, req)
    assert rec.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_spreads_the_wait_between_three_quarters_and_all_of_it(router: OfflineRouter) -> None:
    router.script(Fault(status=502))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec, jitter=0.5) as t:
        t.send(adapter, req)
    assert rec.sleeps == [0.5 * (0.75 + 0.5 * 0.25)]


def test_max_retries_zero_sends_once(router: OfflineRouter) -> None:
    router.script(Fault(status=503))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec, max_retries=0) as t, pytest.raises(ServerError):
        t.send(adapter, req)
    assert len(router.requests) == 1


# ---------------------------------------------------------------- server-stated waits


def test_retry_after_ms_wins_over_retry_after(router: OfflineRouter) -> None:
    router.script(Fault(status=503, headers={"retry-after-ms": "250", "retry-after": "7"}))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec) as t:
        t.send(adapter, req)
    assert rec.sleeps == [0.25]


def test_retry_after_seconds(router: OfflineRouter) -> None:
    router.script(Fault(status=503, headers={"retry-after": "3"}))
    rec = Recorder()
    adapter, req = request("messages")
    with transport(router.url, rec) as t:
        t.send(adapter, req)
    assert rec.sleeps == [3.0]


def test_retry_after_http_date(router: OfflineRouter) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    router.script(Fault(status=429, headers={"retry-after": when}))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec) as t:
        t.send(adapter, req)
    assert len(rec.sleeps) == 1 and 27.0 <= rec.sleeps[0] <= 30.0


def test_a_stated_wait_is_capped(router: OfflineRouter) -> None:
    router.script(Fault(status=429, headers={"retry-after": "3600"}))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec, max_retry_wait=60.0) as t:
        t.send(adapter, req)
    assert rec.sleeps == [60.0]


def test_gemini_retry_info_in_the_body(router: OfflineRouter) -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}],
        }
    }
    router.script(Fault(status=429, body=json.dumps(body)))  # no retry-after header: the body is the only hint
    rec = Recorder()
    adapter, req = request("gemini")
    with transport(router.url, rec) as t:
        t.send(adapter, req)
    assert rec.sleeps == [1.5]


def test_x_should_retry_overrides_the_status(router: OfflineRouter) -> None:
    router.script(
        Fault(status=400, headers={"x-should-retry": "true"}), Fault(status=503, headers={"x-should-retry": "false"})
    )
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec) as t, pytest.raises(ServerError):
        t.send(adapter, req)  # 400 retried, then the 503 that says "do not retry" ends it
    assert len(router.requests) == 2 and rec.sleeps == [0.5]


def test_insufficient_quota_429_is_not_retried(router: OfflineRouter) -> None:
    body = {
        "error": {
            "message": "You exceeded your current quota.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
    }
    router.script(Fault(status=429, body=json.dumps(body)))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec) as t, pytest.raises(RateLimitError):
        t.send(adapter, req)
    assert len(router.requests) == 1


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rec = Recorder()
    adapter, req = request("gemini")
    with transport(f"http://127.0.0.1:{port}", rec, jitter=0.0) as t, pytest.raises(TransportError) as caught:
        t.send(adapter, req)
    assert t.requests_sent == 3 and rec.sleeps == [0.375, 0.75]
    assert str(caught.value).startswith("gemini /v1beta/models/gemini-2.5-flash:generateContent: ConnectError: ")
    assert KEY not in str(caught.value)


# ---------------------------------------------------------------- streams


def test_stream_that_breaks_before_any_event_is_retried(router: OfflineRouter) -> None:
    router.script(Fault(cut_after=10))  # ten bytes of the first event, then the connection drops
    rec = Recorder()
    with transport(router.url, rec) as t:
        events = full_stream(t, "messages")
    assert isinstance(events[-1], ResponseCompleted)
    assert events[-1].response.message.tool_calls[0].name == "get_weather"
    assert len(router.requests) == 2 and rec.sleeps == [0.5]


def test_stream_that_breaks_after_an_event_is_reported_not_retried(router: OfflineRouter) -> None:
    router.script(Fault(mode="cut"))  # cut in the middle of the tool call's arguments
    rec = Recorder()
    adapter, req = request("chat", stream=True)
    received: list[Any] = []
    with transport(router.url, rec) as t, pytest.raises(TransportError) as caught:
        for event in t.stream(adapter, req):
            received.append(event)
    assert any(isinstance(e, ToolCallStarted) for e in received)  # the caller kept what arrived
    assert not any(isinstance(e, ResponseCompleted) for e in received)
    assert len(router.requests) == 1 and rec.sleeps == []
    assert str(caught.value).startswith("chat /v1/chat/completions: RemoteProtocolError: ")


def test_stream_error_status_is_retried_like_a_body(router: OfflineRouter) -> None:
    router.script(Fault(status=503), protocol="responses")
    rec = Recorder()
    with transport(router.url, rec) as t:
        events = full_stream(t, "responses")
    assert isinstance(events[-1], ResponseCompleted)
    assert len(router.requests) == 2


def test_a_non_json_body_is_a_protocol_violation_and_not_retried(router: OfflineRouter) -> None:
    router.script(Fault(body="{not json"))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec) as t, pytest.raises(ProtocolViolation, match="response body is not JSON"):
        t.send(adapter, req)
    assert len(router.requests) == 1


# ---------------------------------------------------------------- timeouts and the deadline


def test_read_timeout_is_a_transport_error(router: OfflineRouter) -> None:
    router.script(Fault(delay=1.5))
    rec = Recorder()
    adapter, req = request("chat")
    started = time.monotonic()
    with transport(router.url, rec, read_timeout=0.3, max_retries=0) as t, pytest.raises(TransportError) as caught:
        t.send(adapter, req)
    assert time.monotonic() - started < 1.4
    assert "ReadTimeout" in str(caught.value) and not isinstance(caught.value, DeadlineExceeded)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose accept queue is full: a new connection's SYN is dropped, so connect() hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for s in [*fillers, server]:
        s.close()


def test_connect_timeout(unanswered_port: int) -> None:
    rec = Recorder()
    adapter, req = request("chat")
    started = time.monotonic()
    url = f"http://127.0.0.1:{unanswered_port}"
    with transport(url, rec, connect_timeout=0.3, max_retries=0) as t, pytest.raises(TransportError) as caught:
        t.send(adapter, req)
    assert time.monotonic() - started < 2.0
    expected = f"chat /v1/chat/completions: ConnectTimeout: cannot connect to 127.0.0.1:{unanswered_port}: timed out"
    assert str(caught.value) == expected


def test_deadline_bounds_the_connect_too(unanswered_port: int) -> None:
    rec = Recorder()
    adapter, req = request("chat")
    started = time.monotonic()
    url = f"http://127.0.0.1:{unanswered_port}"
    with transport(url, rec, deadline=0.3) as t, pytest.raises(DeadlineExceeded):
        t.send(adapter, req)  # connect_timeout is 10 s; the deadline wins
    assert time.monotonic() - started < 2.0 and rec.sleeps == []


def test_deadline_bounds_the_wait_for_the_response(router: OfflineRouter) -> None:
    router.script(Fault(delay=2.0))
    rec = Recorder()
    adapter, req = request("chat")
    started = time.monotonic()
    with transport(router.url, rec, deadline=0.4) as t, pytest.raises(DeadlineExceeded) as caught:
        t.send(adapter, req)
    assert time.monotonic() - started < 1.8
    assert str(caught.value) == "chat /v1/chat/completions: no complete answer within the 0.4 s deadline (--timeout)"
    assert len(router.requests) == 1  # the deadline is not retried


def test_deadline_covers_a_slow_stream(router: OfflineRouter) -> None:
    router.script(Fault(event_delay=0.3))  # each event arrives in time; the whole stream does not
    rec = Recorder()
    started = time.monotonic()
    with transport(router.url, rec, deadline=0.8) as t, pytest.raises(DeadlineExceeded):
        full_stream(t, "messages")  # ~16 events x 0.3 s
    assert time.monotonic() - started < 2.5
    assert any(kind == "event" for kind, _ in rec.seen)


def test_no_retry_wait_past_the_deadline(router: OfflineRouter) -> None:
    router.script(Fault(status=503), Fault(status=503))
    rec = Recorder()
    adapter, req = request("chat")
    with transport(router.url, rec, deadline=0.3, backoff_base=0.5) as t, pytest.raises(ServerError):
        t.send(adapter, req)
    assert rec.sleeps == [] and len(router.requests) == 1


# ---------------------------------------------------------------- pool, observer, errors


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("protocol", list(MODELS))
def test_one_connection_for_many_requests(router: OfflineRouter, protocol: str, stream: bool) -> None:
    rec = Recorder()
    with transport(router.url, rec) as t:
        for _ in range(3):
            adapter, req = request(protocol, stream=stream)
            if stream:
                assert isinstance(list(t.stream(adapter, req))[-1], ResponseCompleted)
            else:
                t.send(adapter, req)
    assert len(router.requests) == 3
    assert router.connections == 1


def test_observer_sees_raw_exchanges_without_the_key(router: OfflineRouter) -> None:
    rec = Recorder()
    with transport(router.url, rec) as t:
        full_stream(t, "gemini")
    kinds = [kind for kind, _ in rec.seen]
    assert kinds[:2] == ["request", "response"]
    assert kinds[2:] == ["event"] * (len(kinds) - 2) and len(kinds) > 2
    sent = rec.seen[0][1]
    assert sent["query"] == {"alt": "sse"} and sent["stream"] is True and sent["attempt"] == 1
    assert sent["body"]["contents"][0]["parts"][0]["text"] == PROMPT
    assert router.requests[0].query["key"] == KEY  # the key went on the wire, but never to the observer
    assert KEY not in json.dumps(rec.seen)
    assert json.loads(rec.seen[-1][1]["data"])["candidates"][0]["finishReason"] == "STOP"


def test_observer_sees_error_bodies_and_retries(router: OfflineRouter) -> None:
    router.script(Fault(status=401))
    rec = Recorder()
    adapter, req = request("messages")
    with transport(router.url, rec) as t, pytest.raises(AuthenticationError):
        t.send(adapter, req)
    response = next(record for kind, record in rec.seen if kind == "response")
    assert response["status"] == 401 and response["request_id"] == "req_1"
    assert json.loads(response["body"])["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("protocol", "line"),
    [
        (
            "chat",
            "chat /v1/chat/completions: HTTP 500 server_error: The server had an error while processing your "
            "request. Sorry about that! (request id req_1)",
        ),
        (
            "responses",
            "responses /v1/responses: HTTP 500 server_error: The server had an error while processing your "
            "request. Sorry about that! (request id req_1)",
        ),
        ("messages", "messages /v1/messages: HTTP 500 api_error: Internal server error (request id req_1)"),
        (
            "gemini",
            "gemini /v1beta/models/gemini-2.5-flash:generateContent: HTTP 500 INTERNAL: An internal error has "
            "occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting "
            "(request id req_1)",
        ),
    ],
)
def test_provider_error_is_one_exact_line(router: OfflineRouter, protocol: str, line: str) -> None:
    """PROTOCOLS.md §5: protocol, endpoint, HTTP status, the provider's error type and message, request id."""
    router.script(Fault(status=500))
    adapter, req = request(protocol)
    with transport(router.url, Recorder(), max_retries=0) as t, pytest.raises(ServerError) as caught:
        t.send(adapter, req)
    assert str(caught.value) == line

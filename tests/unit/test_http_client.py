"""One HTTP client per process and base URL, and transport errors by kind (issue 13).

Against the offline router and small hostile sockets on 127.0.0.1: Transports to one base URL share one
client (closed with its last user), the CA bundle is loaded only for https and only once, the keep-alive pool
follows the concurrency, one Transport's close hangs up only its own request, and every httpx failure comes
out as the TransportError subclass of its kind (exit 5 and ``kind`` unchanged).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from crazycall import errors, transport_clients
from crazycall.conversation import Conversation, ToolSpec
from crazycall.errors import (
    EXIT_TRANSPORT,
    ConnectFailed,
    DeadlineExceeded,
    StreamCut,
    TransportError,
    TransportTimeout,
)
from crazycall.offline.server import OfflineRouter
from crazycall.protocols import get_adapter
from crazycall.protocols.base import HttpRequest, ProtocolAdapter, RequestOptions
from crazycall.transport import Transport, TransportOptions

KEY = "sk-http-client-test-0001"
WEATHER = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


@pytest.fixture
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as running:
        yield running


def chat(stream: bool = False) -> tuple[ProtocolAdapter, HttpRequest]:
    adapter = get_adapter("chat")
    opts = RequestOptions("gpt-4o", stream=stream)
    return adapter, adapter.build_request(Conversation.start("What is the weather in Paris?"), [WEATHER], opts)


def no_retry(url: str, **options: Any) -> Transport:
    return Transport(url, KEY, TransportOptions(max_retries=0, **options))


def client_of(t: Transport) -> httpx.Client:
    client: httpx.Client = t._client
    return client


# ---------------------------------------------------------------- one client per process and base URL


def test_transports_to_one_base_url_share_one_client_closed_with_its_last_user(router: OfflineRouter) -> None:
    before = transport_clients.open_clients()
    first, second = Transport(router.url, KEY), Transport(router.url + "/", KEY)
    other = Transport("http://127.0.0.1:9", KEY)
    assert client_of(first) is client_of(second) is not client_of(other)
    assert transport_clients.open_clients() == before + 2
    adapter, req = chat()
    first.send(adapter, req)
    second.send(adapter, req)
    assert router.connections == 1  # the second conversation reused the first one's connection
    shared = client_of(first)
    first.close()
    assert not shared.is_closed  # the second Transport still uses it
    second.close()
    other.close()
    assert shared.is_closed and transport_clients.open_clients() == before


def test_a_shared_block_keeps_the_client_and_its_connection_between_conversations(router: OfflineRouter) -> None:
    adapter, req = chat()
    with transport_clients.shared(router.url, 4):
        for _ in range(3):  # one after the other, as smoke runs its cases at --concurrency 1
            with Transport(router.url, KEY) as t:
                t.send(adapter, req)
    assert router.connections == 1


def test_the_keep_alive_pool_follows_the_concurrency(router: OfflineRouter) -> None:
    with Transport(router.url, KEY, connections=8) as small, Transport(router.url, KEY, connections=32) as large:
        pools = [client_of(t)._transport._pool for t in (small, large)]  # type: ignore[attr-defined]
        assert [p._max_keepalive_connections for p in pools] == [8, 32]
        with Transport(router.url, KEY, connections=4) as joined:
            assert client_of(joined) is client_of(large)  # a big enough pool is joined, not rebuilt


def test_the_ca_bundle_is_loaded_once_and_only_for_https(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[object] = []
    real: Callable[..., Any] = httpx.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    monkeypatch.setattr(transport_clients, "_contexts", {})
    with Transport("http://127.0.0.1:9", KEY), Transport("http://127.0.0.1:10", KEY):
        assert loads == []
    with Transport("https://127.0.0.1:9", KEY), Transport("https://127.0.0.1:10", KEY):
        pass
    assert len(loads) == 1


def test_closing_one_transport_hangs_up_only_its_own_request(
    router: OfflineRouter, hostile: Callable[[Callable[[socket.socket], None]], str]
) -> None:
    chunk = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"

    def one_event_then_silence(conn: socket.socket) -> None:
        conn.sendall(head + b"%x\r\n%s\r\n" % (len(chunk), chunk))
        time.sleep(5)

    url = hostile(one_event_then_silence)
    stuck = Transport(url, KEY, TransportOptions(max_retries=0))
    other = Transport(url, KEY)
    first = threading.Event()
    caught: list[BaseException] = []

    def read() -> None:
        try:
            for _ in stuck.stream(*chat(stream=True)):
                first.set()
        except BaseException as exc:  # whatever ends the read is the test's result
            caught.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    assert first.wait(timeout=5)  # the read now blocks on a server that says nothing more
    stuck.close()
    reader.join(timeout=3)
    assert not reader.is_alive() and caught and isinstance(caught[0], TransportError), caught
    assert not client_of(other).is_closed  # the other conversation's client is still open
    other.close()


def test_a_closed_transport_refuses_new_requests(router: OfflineRouter) -> None:
    t = Transport(router.url, KEY)
    t.close()
    with pytest.raises(TransportError, match="closed"):
        t.send(*chat())


# ---------------------------------------------------------------- transport errors by kind


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A one-connection-at-a-time server on 127.0.0.1 whose behaviour is a function of the accepted socket."""
    servers: list[socket.socket] = []

    def start(behave: Callable[[socket.socket], None]) -> str:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)
                    behave(conn)

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{server.getsockname()[1]}"

    yield start
    for server in servers:
        server.close()


def test_a_refused_connection_is_connect_failed() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with no_retry(f"http://127.0.0.1:{port}") as t, pytest.raises(ConnectFailed) as caught:
        t.send(*chat())
    assert f"cannot connect to 127.0.0.1:{port}" in str(caught.value)
    assert (caught.value.exit_code, caught.value.kind) == (EXIT_TRANSPORT, "transport_error")


def test_a_read_timeout_is_a_transport_timeout(hostile: Callable[[Callable[[socket.socket], None]], str]) -> None:
    url = hostile(lambda conn: time.sleep(1.0))
    with no_retry(url, read_timeout=0.2) as t, pytest.raises(TransportTimeout) as caught:
        t.send(*chat())
    assert "ReadTimeout" in str(caught.value) and not isinstance(caught.value, DeadlineExceeded)


def test_the_deadline_is_a_timeout_too() -> None:
    assert issubclass(DeadlineExceeded, TransportTimeout)


def test_a_hang_up_before_any_answer_is_no_cut(hostile: Callable[[Callable[[socket.socket], None]], str]) -> None:
    url = hostile(lambda conn: None)  # closes without a status line
    with no_retry(url) as t, pytest.raises(TransportError) as caught:
        t.send(*chat())
    assert type(caught.value) is TransportError, caught.value
    assert "RemoteProtocolError" in str(caught.value)


def test_a_body_cut_short_is_a_stream_cut(hostile: Callable[[Callable[[socket.socket], None]], str]) -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n"
    url = hostile(lambda conn: conn.sendall(head + b'{"id": "x", "choi'))
    with no_retry(url) as t, pytest.raises(StreamCut) as caught:
        t.send(*chat())
    assert str(caught.value).startswith("chat /v1/chat/completions: ")
    assert caught.value.exit_code == EXIT_TRANSPORT


def test_a_stream_cut_mid_event_is_a_stream_cut(router: OfflineRouter) -> None:
    router.script("cut")
    with no_retry(router.url) as t, pytest.raises(StreamCut):
        list(t.stream(*chat(stream=True)))


def test_a_stream_that_ends_cleanly_before_its_terminal_event_is_a_stream_cut(
    hostile: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    chunk = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    url = hostile(lambda conn: conn.sendall(head + b"content-length: %d\r\n\r\n%s" % (len(chunk), chunk)))
    with no_retry(url) as t, pytest.raises(StreamCut, match=r"stream ended before data: \[DONE\]"):
        list(t.stream(*chat(stream=True)))


def test_every_deliberate_error_lives_in_the_drawn_tree() -> None:
    from crazycall import transport_deadline
    from crazycall.smoke import main as smoke_main
    from crazycall.tools import plugins

    assert transport_deadline.DeadlineExceeded is errors.DeadlineExceeded
    assert smoke_main.SmokeFailed is errors.SmokeFailed
    assert plugins.PluginImportError is errors.PluginImportError
    drawn = errors.__doc__ or ""
    for name in ("DeadlineExceeded", "SmokeFailed", "PluginImportError", "TransportTimeout", "ConnectFailed"):
        assert name in drawn and issubclass(getattr(errors, name), errors.CrazycallError)
    assert "StreamCut" in drawn


# ---------------------------------------------------------------- one watchdog for every deadline


class FakeSocket:
    def __init__(self) -> None:
        self.shut = threading.Event()

    def shutdown(self, how: int) -> None:
        self.shut.set()


class FakeResponse:
    """What Attempt.watch asks a response for: its socket, through httpcore's network stream."""

    def __init__(self, sock: FakeSocket) -> None:
        stream = type("Stream", (), {"get_extra_info": lambda _self, name: sock if name == "socket" else None})()
        self.extensions = {"network_stream": stream}


def test_one_watchdog_thread_hangs_up_what_is_due_and_nothing_that_ended() -> None:
    from crazycall.transport_deadline import Attempt

    due, ended = FakeSocket(), FakeSocket()
    attempts = [Attempt(time.monotonic() + 0.05), Attempt(time.monotonic() + 0.05)]
    attempts[0].watch(FakeResponse(due))
    attempts[1].watch(FakeResponse(ended))
    attempts[1].cancel()  # its body was read in time
    many = [Attempt(time.monotonic() + 60) for _ in range(32)]
    for attempt in many:
        attempt.watch(FakeResponse(FakeSocket()))
    watchdogs = [t for t in threading.enumerate() if t.name == "crazycall-deadlines"]
    assert len(watchdogs) == 1  # not a timer thread per request
    assert due.shut.wait(timeout=5) and attempts[0].fired and attempts[0].expired()
    assert not ended.shut.is_set() and not attempts[1].fired
    for attempt in many:
        attempt.cancel()

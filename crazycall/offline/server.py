"""The offline router's HTTP server: stdlib ``ThreadingHTTPServer`` on 127.0.0.1 speaking all four protocols.

Owns the routes of PROTOCOLS.md §0, reading and recording requests, auth and faults, and the bytes on the
wire: JSON bodies with Content-Length, streams as chunked SSE (or Gemini's streamed JSON array without
``alt=sse``), request-id headers. What a reply *says* is decided elsewhere: replies.py (the deterministic
model) and one module per protocol (chat.py, responses.py, messages.py, gemini.py), all written by hand from
PROTOCOLS.md. Nothing here or there imports ``crazycall.protocols``.

Faults (``faults.py``: ``Fault`` and the named modes) come per protocol (``faults={"chat": "cut"}``), per request
(header ``x-offline-fault: MODE``) or scripted (``router.script(...)``); this module applies them to the bytes.
``router.connections`` counts accepted TCP connections (keep-alive checks).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from crazycall.offline import chat, gemini, messages, responses
from crazycall.offline.faults import GARBAGE, Fault, FaultScript, corrupt_calls, shape_events
from crazycall.offline.wire import Event, Incoming, ProtocolSpec, Reply, RouterState, WireError, dumps

if TYPE_CHECKING:
    from crazycall.offline.replaying import ReplayBook

_ROUTES = {"/v1/chat/completions": chat.SPEC, "/v1/responses": responses.SPEC, "/v1/messages": messages.SPEC}
_GEMINI = re.compile(r"^/v1beta/models/([^/:]+):(generateContent|streamGenerateContent)$")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received; ``protocol`` is ``unknown`` for a path no protocol serves."""

    protocol: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names, values as sent (keys included: this record stays in the test process)."""
    body: Any
    """The decoded JSON, or None when the body was not JSON."""
    stream: bool


def route(path: str) -> tuple[ProtocolSpec | None, str, bool]:
    """The protocol serving a path, the Gemini model named in it, and whether it is Gemini's stream method."""
    spec = _ROUTES.get(path)
    if spec is not None:
        return spec, "", False
    match = _GEMINI.match(path)
    if match:
        return gemini.SPEC, unquote(match.group(1)), match.group(2) == "streamGenerateContent"
    return None, "", False


class OfflineRouter:
    """A deterministic router for all four protocols; ``with OfflineRouter() as router: router.url``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        faults: Mapping[str, str] | None = None,
        stream_chunk_delay: float = 0.0,
        log: Callable[[str], None] | None = None,
        replay: ReplayBook | None = None,
    ) -> None:
        self._script = FaultScript(faults)  # checks the configured modes first
        self.host = host
        self.port = port
        self.api_key = api_key
        self.faults = self._script.configured
        self.stream_chunk_delay = stream_chunk_delay
        #: called with one line per request answered (``offline-router -v``); None: quiet
        self.log = log
        #: ``offline-router --replay``: answer from these recordings instead of the deterministic model
        self.replay = replay
        self.requests: list[RecordedRequest] = []
        self.state = RouterState()
        #: TCP connections accepted so far (one per client when keep-alive works)
        self.connections = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OfflineRouter:
        """Bind and serve in a daemon thread (idempotent). Raises OSError when the address is taken."""
        if self._server is None:
            server = _Server((self.host, self.port), self)
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="crazycall-offline", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> OfflineRouter:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the offline router is not running; call start() first")
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def script(self, *faults: Fault | str, protocol: str = "*") -> None:
        """Queue faults (or named modes) for the next requests of ``protocol`` (``"*"``: any), one per request.

        ``router.script(*[Fault(status=503)] * 2)`` fails the next two requests with a 503; a ``Fault()`` in
        the queue lets one request through untouched.
        """
        self._script.add(protocol, list(faults))

    def pending_faults(self) -> int:
        """How many scripted faults are still waiting for a request."""
        return self._script.pending()

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def fault_for(self, protocol: str, headers: Mapping[str, str]) -> Fault:
        """The fault for one request: the ``x-offline-fault`` header, else the script, else the configured one."""
        return self._script.choose(protocol, headers)

    def replayed(self, protocol: str, reply: Reply, repeat: bool) -> Reply:
        """The reply to send: the previous one again for a ``repeat`` fault; remembers the last one sent."""
        return self._script.replayed(protocol, reply, repeat)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 makes the 6th simultaneous client wait ~1 s for a SYN retry
    # (ListenOverflows); eval and smoke open many connections at once.
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], router: OfflineRouter) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.router = router
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing its kept-alive connection (normal at the end of every run) is not an error worth a
        # traceback on the user's terminal; anything else still is.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Drop kept-alive connections so no request is served after stop()."""
        with self.connections_lock:
            open_now, self.connections = self.connections, set()
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _decode(raw: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False, None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "crazycall-offline"
    timeout = 120
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stall

    @property
    def router(self) -> OfflineRouter:
        return cast(_Server, self.server).router

    def setup(self) -> None:
        super().setup()
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)
        server.router.count_connection()

    def finish(self) -> None:
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and ``crazycall ask --offline`` must not print access logs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per request for ``offline-router -v``: method, path (never the query: Gemini's ``?key=``
        is there), status and the protocol that served it."""
        log = self.router.log
        if log is None:
            return
        path = urlsplit(self.path).path
        spec = route(path)[0]
        shown = "".join(c if c.isprintable() else "?" for c in path[:200])  # a hostile path stays one short line
        log(f"{self.command} {shown} {code} {spec.name if spec else 'unknown'}")

    def do_POST(self) -> None:
        self._dispatch()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def _dispatch(self) -> None:
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # a bug here must reach the client as one clear 500, not a hang
            self.close_connection = True
            body = {"error": {"message": f"offline router bug: {type(err).__name__}: {err}", "type": "server_error"}}
            self._send_bytes(500, dumps(body).encode(), {})

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537).strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self._read_body()
        spec, model, gemini_stream = route(url.path)
        parsed, body = _decode(raw)
        stream = gemini_stream if spec is gemini.SPEC else isinstance(body, dict) and body.get("stream") is True
        request_id = self.router.state.next_id("req")
        name = spec.name if spec else "unknown"
        self.router.record(RecordedRequest(name, self.command, url.path, query, headers, body, stream))
        if spec is None or self.command != "POST":
            self._not_found(url.path, request_id)
            return
        inc = Incoming(self.command, url.path, query, headers, raw, body, stream, request_id, model)
        try:
            spec.authenticate(inc, self.router.api_key)
            fault = self._fault(spec, headers)
            if not parsed:
                raise spec.bad_json()
            if self.router.replay is not None:  # offline-router --replay: a recording answers (replaying.py)
                reply, fault = self.router.replay.answer(spec.name, inc)
            else:
                inc = replace(inc, bad_output=True) if fault.bad_output else inc
                reply = self.router.replayed(
                    spec.name, spec.handle(inc, self.router.state, fault.text_only), fault.repeat
                )
        except WireError as err:
            error = spec.render(err, request_id)
            if spec is gemini.SPEC and stream and query.get("alt") != "sse":
                error = [error]  # §4.5: a non-SSE stream wraps the error in a JSON array
            data = dumps(error) if err.raw is None else err.raw
            self._send_bytes(err.status, data.encode(), {spec.request_id_header: request_id, **err.headers})
            return
        if fault.calls is not None:
            reply = corrupt_calls(reply, fault.calls)
        self._send_reply(spec, reply, request_id, fault)

    def _fault(self, spec: ProtocolSpec, headers: Mapping[str, str]) -> Fault:
        """This request's fault, after its delay; a status fault is raised as the protocol's error."""
        fault = self.router.fault_for(spec.name, headers)
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status is not None:
            failure = spec.fault_error(fault.status)
            failure.headers.update(fault.headers)
            failure.raw = fault.body
            raise failure
        return fault

    def _not_found(self, path: str, request_id: str) -> None:
        if path.startswith("/v1beta"):
            error: Any = {
                "error": {"code": 404, "message": f"Method not found: {self.command} {path}", "status": "NOT_FOUND"}
            }
        else:
            message = f"Invalid URL ({self.command} {path})"
            error = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
        self._send_bytes(404, dumps(error).encode(), {"x-request-id": request_id})

    def _send_bytes(
        self, status: int, data: bytes, headers: Mapping[str, str], *, cut_after: int | None = None, ctype: str = ""
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if cut_after is not None and cut_after < len(data):  # promise the whole body, send part, hang up
            self.wfile.write(data[:cut_after])
            self.close_connection = True
            return
        self.wfile.write(data)

    def _send_reply(self, spec: ProtocolSpec, reply: Reply, request_id: str, fault: Fault) -> None:
        headers = {spec.request_id_header: request_id, **fault.headers}
        if reply.events is None:
            if fault.mode == "garbage":
                self._send_bytes(200, GARBAGE.encode(), headers)
            elif fault.body is not None:
                self._send_bytes(200, fault.body.encode(), headers, cut_after=fault.cut_after)
            else:
                cut = len(dumps(reply.body).encode()) // 2 if fault.mode == "cut" else fault.cut_after
                self._send_bytes(200, dumps(reply.body).encode(), headers, cut_after=cut)
            return
        self.send_response(200)
        content_type = "application/json; charset=UTF-8" if reply.json_array else "text/event-stream; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if fault.body is not None:  # the whole stream as the fault wrote it
            reply = replace(reply, events=(Event("", raw=fault.body),), json_array=False)
        self._write_events(reply, fault)

    def _write_events(self, reply: Reply, fault: Fault) -> None:
        events = shape_events(reply, fault)
        budget = fault.cut_after
        for n, event in enumerate(events):
            delay = fault.event_delay or self.router.stream_chunk_delay
            if n and delay:
                time.sleep(delay)
            data = self._encode(reply, event, n)
            if budget is not None and len(data) >= budget:
                if budget:
                    self._chunk(data[:budget])
                self.close_connection = True  # no terminating chunk: the client sees the stream end early
                return
            budget = None if budget is None else budget - len(data)
            self._chunk(data)
        if fault.mode == "cut":  # no terminating chunk: the client sees the stream end mid-call
            self.close_connection = True
            return
        if reply.json_array:
            self._chunk(b"]" if events else b"[]")
        self.wfile.write(b"0\r\n\r\n")

    @staticmethod
    def _encode(reply: Reply, event: Event, n: int) -> bytes:
        if event.raw is not None:
            return event.raw.encode()
        end = reply.line_end
        if reply.json_array:
            return (("[" if n == 0 else f",{end}") + event.data).encode()
        head = f"event: {event.name}{end}" if event.name else ""
        return f"{head}data: {event.data}{end}{end}".encode()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

"""Serving the registry over streamable HTTP: a bearer token on every request, loopback unless told otherwise.

Every HTTP request must carry ``Authorization: Bearer <token>``; a missing or wrong one gets 401 before the
SDK sees the request (compared in constant time). The token is ``--token``'s, or one generated at start and
printed once to stderr. The SDK's DNS-rebinding protection (Host/Origin checks) stays on for loopback hosts.
uvicorn (a dependency of the SDK's HTTP server) serves the app on a socket bound here, so ``--port 0`` works
and the address printed is the real one.
"""

from __future__ import annotations

import hmac
import secrets
import signal
import socket
import sys
from typing import Any

from crazycall.errors import UsageError
from crazycall.mcp_serve.calls import Calls
from crazycall.redact import remember

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PATH = "/mcp"


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


class BearerToken:
    """ASGI middleware: HTTP requests without the right bearer token are answered 401 and go no further."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and not self._authorized(scope):
            body = b'{"error": "unauthorized: send the bearer token crazycall mcp-serve printed or was given"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="crazycall"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Any) -> bool:
        values = [v for k, v in scope.get("headers") or [] if k.lower() == b"authorization"]
        return len(values) == 1 and hmac.compare_digest(values[0], self.expected)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a usage error naming the address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _type, _proto, _name, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # listening now: a client that connects as soon as the address is printed waits in the backlog
        sock.listen(128)
    except OSError as exc:
        raise UsageError(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve_http(calls: Calls, host: str, port: int, token: str | None) -> None:
    """Serve until interrupted."""
    try:
        import uvicorn
    except ImportError:
        from crazycall.mcp_serve import INSTALL_HINT

        raise UsageError(f"--http needs uvicorn (part of the MCP SDK's server extra): {INSTALL_HINT}") from None
    from crazycall.mcp_serve.server import build_server

    sock = bind(host, port)
    if token is None:
        token = new_token()
        sys.stderr.write(f"crazycall: mcp-serve: bearer token (shown once): {token}\n")
    remember(token)  # from now on masked in every log line and transcript record
    app = build_server(calls).streamable_http_app(streamable_http_path=PATH, host=host)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    sys.stderr.write(f"crazycall: mcp-serve: serving {len(calls.registry)} tools at http://{shown}:{bound[1]}{PATH}\n")
    sys.stderr.flush()
    config = uvicorn.Config(BearerToken(app, token), log_level="warning", lifespan="on")
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM, re-raised by uvicorn once it has shut down: leave through the ``finally`` blocks (upstream MCP
    servers stopped, transcript ended) with the status a process killed by SIGTERM has."""
    raise SystemExit(128 + signum)

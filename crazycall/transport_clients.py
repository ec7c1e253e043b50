"""One HTTP client per process and base URL, shared by every conversation that goes there.

Owns the ``httpx.Client`` instances (crazycall.transport owns what is sent through them): one per base URL,
built on first use with a keep-alive pool sized to the concurrency asked for, and the process's SSL context,
built once and only for https (loading the CA bundle costs tens of milliseconds of CPU; an http:// client
gets a context that trusts nothing, so it could never talk TLS unverified). A client is closed when the last
lease on it is returned (the end of a command, whose Transports and ``shared`` blocks hold the leases) and,
for anything left, at exit. httpx.Client is thread-safe: concurrent conversations share one; each keeps its
own deadline, retries and observer in its Transport. httpx is imported inside the functions: the only
caller, crazycall.transport, has imported it already, behind the stand-in for httpx's command-line client
that ``no_httpx_cli`` puts in place first.
"""

from __future__ import annotations

import atexit
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from crazycall import __version__
from crazycall.transport_limits import ACCEPT_ENCODING

if TYPE_CHECKING:
    import ssl

    import httpx

_lock = threading.Lock()
_leases: dict[str, Lease] = {}
"""base URL -> the lease new Transports join (an older, smaller pool lives on until its users are done)."""
_contexts: dict[bool, ssl.SSLContext] = {}
"""https? -> the process's SSL context for it."""


class Lease:
    """One shared client and how many users hold it; ``release`` once per ``acquire``."""

    def __init__(self, base_url: str, client: httpx.Client, connections: int) -> None:
        self.base_url = base_url
        self.client = client
        self.connections = connections
        self.users = 0

    def release(self) -> None:
        with _lock:
            self.users -= 1
            if self.users > 0:
                return
            if _leases.get(self.base_url) is self:
                del _leases[self.base_url]
        self.client.close()


def no_httpx_cli() -> None:
    """Keep httpx's command-line client out of the process.

    ``httpx/__init__`` runs ``from ._main import main``, and ``httpx._main`` imports click, pygments and half of
    Rich (progress bars, syntax highlighting) whenever click is installed, as it is next to the MCP SDK: about
    90 ms of every run, for a CLI we never call. A stand-in module registered first is what that import then
    finds. Done only when httpx is not imported yet (a plugin or a test may have imported the real thing).
    """
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stub = types.ModuleType("httpx._main", "Stand-in for httpx's command-line client (crazycall.transport_clients).")

    def main() -> None:
        raise RuntimeError("httpx's command-line client is not available inside crazycall")

    stub.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stub


def acquire(base_url: str, connections: int = 1) -> Lease:
    """The shared client for ``base_url`` (no trailing slash), its pool keeping at least ``connections``
    connections alive; a pool too small for the concurrency asked for is replaced for the newcomers."""
    connections = max(1, connections)
    with _lock:
        lease = _leases.get(base_url)
        if lease is None or lease.connections < connections:
            lease = _leases[base_url] = Lease(base_url, _new_client(base_url, connections), connections)
        lease.users += 1
        return lease


@contextmanager
def shared(base_url: str, connections: int) -> Iterator[None]:
    """Keep ``base_url``'s client (and its warm connections) for a whole run of many conversations, so one
    that ends does not close what the next one would open again."""
    lease = acquire(base_url.rstrip("/"), connections)
    try:
        yield
    finally:
        lease.release()


def _new_client(base_url: str, connections: int) -> httpx.Client:
    from importlib import import_module

    import_module("crazycall.transport")  # first: httpx comes in behind its stand-in for the command-line client
    import httpx

    # No cap on open connections: each conversation holds at most one at a time, and a cap would only add a
    # wait (PoolTimeout) where there was none; the keep-alive pool is what the concurrency sizes.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=connections)
    return httpx.Client(
        verify=_ssl_context(base_url.lower().startswith("https:")),
        limits=limits,
        headers={"user-agent": f"crazycall/{__version__}", "accept-encoding": ACCEPT_ENCODING},
        follow_redirects=False,
    )


def _ssl_context(https: bool) -> ssl.SSLContext:
    """Built once per process (called with the lock held): httpx's default for https (certifi, or
    SSL_CERT_FILE / SSL_CERT_DIR), for plain http one that verifies against no CA at all."""
    context = _contexts.get(https)
    if context is None:
        import ssl

        import httpx

        context = httpx.create_ssl_context() if https else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        _contexts[https] = context
    return context


def open_clients() -> int:
    """How many shared clients are open (for tests)."""
    with _lock:
        return len(_leases)


@atexit.register
def _close_all() -> None:
    with _lock:
        leases = list(_leases.values())
        _leases.clear()
    for lease in leases:
        lease.client.close()

"""Opening one MCP session (stdio or streamable HTTP) and listing its tools: the only code that calls the SDK's
transports. Runs on the hub's event loop (``hub.py``).

The session introduces itself as ``crazycall`` and its version. The SDK's stdio shutdown grace (stdin closed,
then SIGTERM, then SIGKILL, 2 s each by default) is shortened so that stopping a server, even one stuck in a
call, fits in the bounds ``hub.py`` documents. An HTTP server's last error status is remembered, so that a
server at a wrong path reads "http://host/x answered HTTP 404 Not Found" rather than the SDK's "Not Found".
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any, TextIO

from crazycall.errors import ConfigError
from crazycall.tools.command import expand_env
from crazycall.tools.mcp.config import ServerConfig
from crazycall.tools.registry import ToolFailed

STOP_GRACE = 0.25
"""Seconds a stdio server gets to exit once its stdin is closed, then again after SIGTERM, before SIGKILL."""
STOP_BUDGET = 0.75
"""Seconds stopping a stdio server can take (both graces, plus a little for the loop to notice)."""


def tune_sdk() -> None:
    """Shorter termination graces in the SDK's stdio transport (module constants it reads at each shutdown)."""
    from mcp.client import stdio

    for name in ("PROCESS_TERMINATION_TIMEOUT", "FORCE_KILL_TIMEOUT"):
        if hasattr(stdio, name):
            setattr(stdio, name, STOP_GRACE)


def client_info() -> Any:
    import mcp

    from crazycall import __version__

    return mcp.types.Implementation(name="crazycall", version=__version__)


class HttpStatus:
    """The last HTTP error status an HTTP server answered (a response hook on the SDK's client)."""

    def __init__(self) -> None:
        self.last: str | None = None

    async def __call__(self, response: Any) -> None:
        # POSTs only: a 405 to the optional GET stream is normal and says nothing about a failed start
        if response.status_code >= 400 and response.request.method == "POST":
            from crazycall.redact import redact

            url = redact(str(response.request.url))
            self.last = f"{url} answered HTTP {response.status_code} {response.reason_phrase}"


async def open_session(
    config: ServerConfig, stack: AsyncExitStack, errlog: TextIO, status: HttpStatus, **session_options: Any
) -> Any:
    from mcp import ClientSession

    if config.url is not None:
        streams = await stack.enter_async_context(await _http_transport(config, stack, status))
    else:
        from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client

        # Only the SDK's short list of safe variables plus the configured ones: the router key stays here.
        env = {**get_default_environment(), **expanded(config.env, config)}
        params = StdioServerParameters(command=config.command or "", args=list(config.args), env=env, cwd=config.cwd)
        streams = await stack.enter_async_context(stdio_client(params, errlog=errlog))
    if takes(ClientSession.__init__, "client_info"):  # early 1.x SDKs always said "mcp"
        session_options["client_info"] = client_info()
    session = await stack.enter_async_context(ClientSession(streams[0], streams[1], **session_options))
    await session.initialize()
    return session


async def _http_transport(config: ServerConfig, stack: AsyncExitStack, status: HttpStatus) -> Any:
    """The streamable-HTTP transport of whichever SDK is installed (1.x takes headers, 2.x an HTTP client)."""
    from mcp.client import streamable_http

    headers = expanded(config.headers, config)
    url = config.url or ""
    if hasattr(streamable_http, "streamable_http_client"):
        from mcp.shared._httpx_utils import create_mcp_http_client

        # The SDK leaves a client it was given open: entered here, it is closed after the transport.
        client = await stack.enter_async_context(create_mcp_http_client(headers=headers))
        client.event_hooks["response"].append(status)
        return streamable_http.streamable_http_client(url, http_client=client)
    return getattr(streamable_http, "streamablehttp_client")(url, headers=headers)  # noqa: B009 (1.x only)


def takes(function: Any, parameter: str) -> bool:
    """Whether the installed SDK's ``function`` has ``parameter`` (``mcp>=1.0`` is allowed; some came later)."""
    import inspect

    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def expanded(values: Mapping[str, str], config: ServerConfig) -> dict[str, str]:
    import os

    try:
        return expand_env(values, os.environ)
    except ToolFailed as exc:
        raise ConfigError(f"{config.source}: MCP server {config.name!r}: {exc}") from None


async def list_tools(session: Any) -> list[dict[str, Any]]:
    """Every tool the server lists, following pagination cursors (as wire JSON)."""
    import inspect

    import mcp

    tools: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):  # a server that never stops paginating is not waited on forever
        if cursor is None:
            page = await session.list_tools()
        elif "params" in inspect.signature(session.list_tools).parameters:
            page = await session.list_tools(params=mcp.types.PaginatedRequestParams(cursor=cursor))
        else:  # SDK 1.x before PaginatedRequestParams
            page = await session.list_tools(cursor=cursor)
        data = page.model_dump(mode="json", by_alias=True, exclude_none=True)
        tools += [t for t in data.get("tools") or [] if isinstance(t, dict)]
        cursor = data.get("nextCursor")
        if not cursor:
            break
    return tools

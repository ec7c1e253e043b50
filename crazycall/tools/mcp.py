"""MCP servers as a tool source: one session per server, open for the whole run, called from tool threads.

A tools.yaml ``mcp_servers:`` entry names a local server (``command`` + ``args``, ``env``, ``cwd``: stdio) or a
remote one (``url``, ``headers``: streamable HTTP). Its tools join the registry as ``<prefix><tool>``, where the
prefix defaults to ``<server>__`` (PROTOCOLS.md §0 allows no ``.`` in portable names); characters outside
``[a-zA-Z0-9_-]`` become ``_`` and a name longer than 64 characters is cut and ends in a hash of the full one.
``include``/``exclude`` pick tools by their server-side names; ``startup_timeout`` bounds starting the server
and listing its tools; ``timeout`` is each call's (default: the run's tool timeout); ``confirm`` is true, false
or a list of the server's tool names that need approval.

The SDK is async and the rest of crazycall is not (DESIGN.md principle 6), so ``McpHub`` runs one event loop in
a background thread: each server's session lives in one task there (the SDK's context managers must be entered
and left in the same task) from start-up to ``close()``, and tool threads hand calls to it with
``asyncio.run_coroutine_threadsafe``. Results: ``structuredContent`` when the server sends it, else the text
of the content blocks; ``isError`` is an error result. The ``mcp`` package is imported only here, only when a
tools.yaml has ``mcp_servers`` (it is the optional extra ``crazycall[mcp]``).

This module does not parse YAML (``yaml_file.py`` type-checks the entry) or decide the order of tools
(``loader.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from crazycall.conversation import ToolSpec
from crazycall.errors import ConfigError
from crazycall.tools.command import expand_env
from crazycall.tools.registry import Tool, ToolFailed
from crazycall.tools.yaml_file import McpServerEntry

DEFAULT_STARTUP_TIMEOUT = 30.0
CLOSE_TIMEOUT = 10.0
NAME_LIMIT = 64
_NOT_PORTABLE = re.compile(r"[^a-zA-Z0-9_-]")
_INSTALL_HINT = "pip install 'crazycall[mcp]'"


@dataclass(frozen=True)
class ServerConfig:
    name: str
    source: str
    """``tools.yaml:LINE`` of the server's entry."""
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    prefix: str = ""
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    timeout: float | None = None
    confirm: bool | tuple[str, ...] = False

    def needs_confirm(self, tool: str) -> bool:
        return self.confirm if isinstance(self.confirm, bool) else tool in self.confirm


def server_config(entry: McpServerEntry) -> ServerConfig:
    """The checked configuration of one ``mcp_servers`` entry (paths relative to its tools.yaml)."""
    v = entry.values
    cwd = Path(v["cwd"]) if "cwd" in v else None
    command = v.get("command")
    if command is not None and ("/" in command or "\\" in command) and not Path(command).is_absolute():
        command = str(entry.file.parent / command)  # like a command tool's program: relative to tools.yaml
    return ServerConfig(
        name=entry.name,
        source=entry.source,
        command=command,
        args=tuple(v.get("args", ())),
        env=dict(v.get("env", {})),
        cwd=(cwd if cwd.is_absolute() else entry.file.parent / cwd) if cwd is not None else None,
        url=v.get("url"),
        headers=dict(v.get("headers", {})),
        prefix=v.get("prefix", f"{entry.name}__"),
        include=tuple(v["include"]) if "include" in v else None,
        exclude=tuple(v.get("exclude", ())),
        startup_timeout=v.get("startup_timeout", DEFAULT_STARTUP_TIMEOUT),
        timeout=v.get("timeout"),
        confirm=v.get("confirm", False),
    )


def portable_name(prefix: str, tool: str) -> str:
    """``prefix + tool`` within ``^[a-zA-Z0-9_-]{1,64}$`` (PROTOCOLS.md §0), stable for a given input."""
    full = prefix + tool
    name = _NOT_PORTABLE.sub("_", full) or "_"
    if len(name) > NAME_LIMIT:
        digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:8]
        name = f"{name[: NAME_LIMIT - 9]}_{digest}"
    return name


def result_value(data: Mapping[str, Any]) -> Any:
    """A ``CallToolResult`` (as wire JSON) -> the tool's value; ``isError`` -> ToolFailed with its text."""
    text = "\n".join(_block_text(block) for block in data.get("content") or [])
    if data.get("isError"):
        raise ToolFailed(text or "the MCP tool reported an error without a message")
    structured = data.get("structuredContent")
    return structured if structured is not None else text


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind in ("image", "audio"):
        size = len(str(block.get("data", ""))) * 3 // 4
        return f"[{kind} {block.get('mimeType', '')}, about {size} bytes, not shown]"
    if kind == "resource":
        resource = block.get("resource") or {}
        if "text" in resource:
            return str(resource["text"])
        return f"[resource {resource.get('uri', '')} {resource.get('mimeType', '')}, binary, not shown]"
    if kind == "resource_link":
        return f"[resource link {block.get('uri', '')} {block.get('name', '')}]".replace(" ]", "]")
    return f"[{kind} content, not shown]"


def _import_sdk(source: str) -> Any:
    try:
        import mcp
    except ImportError:
        raise ConfigError(f"{source}: MCP servers need the MCP SDK, which is not installed: {_INSTALL_HINT}") from None
    return mcp


class _Server:
    """One server's session task: started by ``McpHub.start``, ended by ``McpHub.close``."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.ready: concurrent.futures.Future[list[dict[str, Any]]] = concurrent.futures.Future()
        self.finished: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.closing: asyncio.Event | None = None
        self.session: Any = None
        self.task: concurrent.futures.Future[None] | None = None
        # the server's stderr: kept out of our output, quoted when it fails to start; closed by McpHub.close
        self.errlog: TextIO = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115

    async def serve(self) -> None:
        self.closing = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                self.session = await _open_session(self.config, stack, self.errlog)
                self.ready.set_result(await _list_tools(self.session))
                await self.closing.wait()
        except BaseException as exc:  # reported through ready (start-up) or dropped (shutdown)
            if not self.ready.done():
                self.ready.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self.finished.set_result(None)

    def stderr_tail(self, lines: int = 10) -> str:
        try:
            self.errlog.seek(0)
            text = self.errlog.read()[-4000:]
        except (OSError, ValueError):
            return ""
        tail = "\n".join(text.rstrip().splitlines()[-lines:])
        return f"; its stderr:\n{tail}" if tail else ""


async def _open_session(config: ServerConfig, stack: AsyncExitStack, errlog: TextIO) -> Any:
    from mcp import ClientSession

    if config.url is not None:
        streams = await stack.enter_async_context(await _http_transport(config, stack))
    else:
        from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client

        # Only the SDK's short list of safe variables plus the configured ones: the router key stays here.
        env = {**get_default_environment(), **_expanded(config.env, config)}
        params = StdioServerParameters(command=config.command or "", args=list(config.args), env=env, cwd=config.cwd)
        streams = await stack.enter_async_context(stdio_client(params, errlog=errlog))
    session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
    await session.initialize()
    return session


async def _http_transport(config: ServerConfig, stack: AsyncExitStack) -> Any:
    """The streamable-HTTP transport of whichever SDK is installed (1.x takes headers, 2.x an HTTP client)."""
    from mcp.client import streamable_http

    headers = _expanded(config.headers, config)
    url = config.url or ""
    if hasattr(streamable_http, "streamable_http_client"):
        from mcp.shared._httpx_utils import create_mcp_http_client

        # The SDK leaves a client it was given open: entered here, it is closed after the transport.
        client = await stack.enter_async_context(create_mcp_http_client(headers=headers))
        return streamable_http.streamable_http_client(url, http_client=client)
    return getattr(streamable_http, "streamablehttp_client")(url, headers=headers)  # noqa: B009 (1.x only)


def _expanded(values: Mapping[str, str], config: ServerConfig) -> dict[str, str]:
    import os

    try:
        return expand_env(values, os.environ)
    except ToolFailed as exc:
        raise ConfigError(f"{config.source}: MCP server {config.name!r}: {exc}") from None


async def _list_tools(session: Any) -> list[dict[str, Any]]:
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
        tools += data.get("tools") or []
        cursor = data.get("nextCursor")
        if not cursor:
            break
    return tools


class McpHub:
    """The event loop thread and the sessions of one run. ``start`` servers, ``tools()`` of each, ``close``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="crazycall-mcp", daemon=True)
        self.thread.start()
        self.servers: list[_Server] = []

    def start(self, configs: Sequence[ServerConfig]) -> list[Tool]:
        """Start every server at once, then wait for each (its own start-up timeout); their tools in order."""
        for config in configs:
            _import_sdk(config.source)
            _check_command(config)
        started = [self._start(config) for config in configs]
        tools: list[Tool] = []
        for server in started:
            tools += self._tools(server, self._wait_ready(server))
        return tools

    def _start(self, config: ServerConfig) -> _Server:
        server = _Server(config)
        self.servers.append(server)
        server.task = asyncio.run_coroutine_threadsafe(server.serve(), self.loop)
        return server

    def _wait_ready(self, server: _Server) -> list[dict[str, Any]]:
        config = server.config
        where = f"{config.source}: MCP server {config.name!r}"
        try:
            return server.ready.result(timeout=config.startup_timeout)
        except concurrent.futures.TimeoutError:
            raise ConfigError(
                f"{where} did not start within {config.startup_timeout:g} s (startup_timeout){server.stderr_tail()}"
            ) from None
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"{where} did not start: {_describe(exc)}{server.stderr_tail()}") from None

    def _tools(self, server: _Server, listed: list[dict[str, Any]]) -> list[Tool]:
        config = server.config
        names = [str(t.get("name", "")) for t in listed]
        _check_names(config, names)
        tools = []
        for data, original in zip(listed, names, strict=True):
            if (config.include is not None and original not in config.include) or original in config.exclude:
                continue
            call = McpCall(self, server, original)
            schema = data.get("inputSchema") or {"properties": {}}
            spec = ToolSpec(
                name=portable_name(config.prefix, original),
                description=str(data.get("description") or data.get("title") or ""),
                # MCP requires type object; a server that leaves the type out means it (the loader checks the rest)
                parameters=schema if "type" in schema else {"type": "object", **schema},
            )
            source = f"{config.source} (MCP {config.name}: {original})"
            confirm = config.needs_confirm(original)
            tools.append(Tool(spec, call, source, config.timeout, confirm=confirm, kind="mcp", invoke=call.run))
        return tools

    def close(self) -> None:
        """End every session (each server process is stopped by the SDK), then the loop and its thread."""
        for server in self.servers:
            if server.ready.done() and server.closing is not None:
                self.loop.call_soon_threadsafe(server.closing.set)
            elif server.task is not None:  # still starting (a start-up timeout): nothing to finish politely
                server.task.cancel()
        for server in self.servers:
            try:
                server.finished.result(timeout=CLOSE_TIMEOUT)
            except concurrent.futures.TimeoutError:
                if server.task is not None:
                    server.task.cancel()
            server.errlog.close()
        # let what the sessions left (transports closing, HTTP streams) finish before the loop stops
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(_drain(), self.loop).result(CLOSE_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(CLOSE_TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()

    def __enter__(self) -> McpHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _drain() -> None:
    """Cancel the tasks still on the loop and wait for them, then give close callbacks a turn."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()
    await asyncio.sleep(0.01)


class McpCall:
    """Calls one MCP tool through its server's session (from any thread)."""

    def __init__(self, hub: McpHub, server: _Server, name: str) -> None:
        self.hub, self.server, self.name = hub, server, name

    def __call__(self, **arguments: Any) -> Any:
        from crazycall.tools.registry import DEFAULT_TOOL_TIMEOUT

        return self.run(arguments, self.server.config.timeout or DEFAULT_TOOL_TIMEOUT)

    def run(self, arguments: Mapping[str, Any], timeout: float) -> Any:
        server = self.server.config.name
        session = self.server.session
        if session is None or self.server.finished.done():
            raise ToolFailed(f"MCP server {server} is not running{self.server.stderr_tail()}")
        future = asyncio.run_coroutine_threadsafe(session.call_tool(self.name, dict(arguments)), self.hub.loop)
        try:
            result = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolFailed(f"MCP tool {self.name} on server {server} timed out after {timeout:g} s") from None
        except Exception as exc:
            raise ToolFailed(f"MCP server {server} failed to run {self.name}: {_describe(exc)}") from None
        return result_value(result.model_dump(mode="json", by_alias=True, exclude_none=True))


def _check_names(config: ServerConfig, names: list[str]) -> None:
    """Every name in include, exclude and a confirm list is one of the server's tools (a typo must not leave a
    destructive tool unconfirmed); checked once the server has listed them."""
    from crazycall.tools.registry import unknown_names

    confirm = config.confirm if not isinstance(config.confirm, bool) else ()
    for key, given in (("include", config.include or ()), ("exclude", config.exclude), ("confirm", confirm)):
        if problem := unknown_names(given, names, label=f" ({key}); it has"):
            raise ConfigError(f"{config.source}: MCP server {config.name!r} has no tool(s) {problem}")


def _check_command(config: ServerConfig) -> None:
    """A missing local server program is a clear error before anything starts."""
    program = config.command
    if program is None or "/" in program or "\\" in program:
        return
    if shutil.which(program) is None:
        raise ConfigError(f"{config.source}: MCP server {config.name!r}: command not found: {program!r} is not on PATH")


def _describe(exc: BaseException) -> str:
    """One line for an exception, looking inside the exception groups anyio raises."""
    while (inner := getattr(exc, "exceptions", None)) and isinstance(inner, Sequence) and inner:
        exc = inner[0]
    text = str(exc) or type(exc).__name__
    if type(exc).__module__.split(".")[0] == "mcp" or text == type(exc).__name__:
        return text  # the SDK's own errors read well alone (and their class names differ between versions)
    return f"{type(exc).__name__}: {text}"

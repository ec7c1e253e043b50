"""The MCP sessions of one run: one event loop thread, one session task per server, calls from tool threads.

The SDK is async and the rest of crazycall is not (DESIGN.md principle 6), so ``McpHub`` runs one event loop in
a background thread: each server's session lives in one task there (the SDK's context managers must be entered
and left in the same task) from start-up to ``close()``, and tool threads hand calls to it with
``asyncio.run_coroutine_threadsafe``.

Bounds are for a whole step: ``startup_timeout`` covers starting the server, listing its tools and, when it
does not get that far in time, stopping it again; a call's timeout covers the call (the request is cancelled);
``close`` stops every server within ``CLOSE_BUDGET`` seconds together, a server stuck in a call included.
Each call sends a progress token; the server's progress notifications go to the runner's progress reporter
(``runner.progress_reporter``), which shows them on the running tool's spinner and as ``tool_progress`` events.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any, TextIO

from crazycall.conversation import ToolSpec
from crazycall.errors import ConfigError
from crazycall.tools.mcp import connect
from crazycall.tools.mcp.config import ServerConfig, check_command, check_names, left_out_reason, portable_name
from crazycall.tools.mcp.content import split_result
from crazycall.tools.mcp.logs import LogRouter
from crazycall.tools.registry import Tool, ToolFailed

CLOSE_BUDGET = 2.0
"""Seconds ``close`` may take for all servers together (each stops within ``connect.STOP_BUDGET``)."""
MESSAGE_LIMIT = 200
"""Characters of a progress message passed on."""
_INSTALL_HINT = "pip install 'crazycall[mcp]'"


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
        self.progress = False
        """The SDK can ask for progress (early 1.x SDKs cannot)."""
        self.began = time.monotonic()
        """When it was started: its ``startup_timeout`` counts from here (servers start side by side)."""
        self.http = connect.HttpStatus()
        # the server's stderr: kept out of our output, quoted when it fails to start; closed by McpHub.close
        self.errlog: TextIO = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115

    async def serve(self) -> None:
        self.closing = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                self.session = await connect.open_session(self.config, stack, self.errlog, self.http)
                self.progress = connect.takes(self.session.call_tool, "progress_callback")
                self.ready.set_result(await connect.list_tools(self.session))
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


class McpHub:
    """The event loop thread and the sessions of one run. ``start`` servers, ``tools()`` of each, ``close``.

    ``verbose`` (or ``CRAZYCALL_VERBOSE=1``): the SDK's log lines and the tools left out are told on stderr.
    """

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose or os.environ.get("CRAZYCALL_VERBOSE") == "1"
        self.logs = LogRouter(self.verbose)
        self.logs.install()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="crazycall-mcp", daemon=True)
        self.thread.start()
        self.servers: list[_Server] = []
        self.left_out: list[dict[str, Any]] = []
        """Listed tools that are not offered because crazycall cannot call them (``tools list --json``)."""

    def start(self, configs: Sequence[ServerConfig]) -> list[Tool]:
        """Start every server at once, then wait for each (its own start-up timeout); their tools in order."""
        for config in configs:
            _import_sdk(config.source)
            check_command(config)
        connect.tune_sdk()
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
        config, began = server.config, server.began
        where = f"{config.source}: MCP server {config.name!r}"
        limit = config.startup_timeout
        # stopping a server that did not start in time is part of its start-up: leave room for it
        wait = max(limit - connect.STOP_BUDGET, limit / 2) - (time.monotonic() - began)
        try:
            return server.ready.result(timeout=max(wait, 0.0))
        except concurrent.futures.TimeoutError:
            self._stop(server, deadline=began + limit)
            raise ConfigError(
                f"{where} did not start within {limit:g} s (startup_timeout){server.stderr_tail()}"
            ) from None
        except ConfigError:
            raise
        except Exception as exc:
            reason = server.http.last or _describe(exc)
            raise ConfigError(f"{where} did not start: {reason}{self._details(server)}") from None

    def _details(self, server: _Server) -> str:
        """The server's stderr, or else what the SDK logged about it (one line each)."""
        tail = server.stderr_tail()
        if tail or not self.logs.lines:
            return tail
        return "; the MCP SDK logged: " + " | ".join(list(self.logs.lines)[-3:])

    def _stop(self, server: _Server, deadline: float) -> None:
        """Cancel a server still starting and wait (until ``deadline``) for its process to be stopped."""
        if server.task is not None:
            server.task.cancel()
        with contextlib.suppress(concurrent.futures.TimeoutError):
            server.finished.result(timeout=max(deadline - time.monotonic(), 0.0))

    def _tools(self, server: _Server, listed: list[dict[str, Any]]) -> list[Tool]:
        config = server.config
        names = [str(t.get("name", "")) for t in listed]
        check_names(config, names)
        tools = []
        for data, original in zip(listed, names, strict=True):
            if (config.include is not None and original not in config.include) or original in config.exclude:
                continue
            if (reason := left_out_reason(data)) is not None:
                if config.include is not None:  # named in include: asked for, and it cannot be had
                    where = f"{config.source}: MCP server {config.name!r}"
                    raise ConfigError(f"{where}: tool {original} (include) cannot be offered: {reason}")
                self._leave_out(config, original, reason)
                continue
            tools.append(self._tool(server, data, original))
        return tools

    def _tool(self, server: _Server, data: Mapping[str, Any], original: str) -> Tool:
        config = server.config
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
        return Tool(spec, call, source, config.timeout, confirm=confirm, kind="mcp", invoke=call.run)

    def _leave_out(self, config: ServerConfig, original: str, reason: str) -> None:
        name = portable_name(config.prefix, original)
        self.left_out.append(
            {"name": name, "source": f"{config.source} (MCP {config.name}: {original})", "left_out": reason}
        )
        if self.verbose:
            import sys

            sys.stderr.write(f"crazycall: note: MCP server {config.name}: tool {original} is not offered: {reason}\n")

    def close(self) -> None:
        """End every session (each server process is stopped by the SDK), then the loop and its thread, all within
        ``CLOSE_BUDGET`` seconds."""
        try:
            self._close()
        finally:
            self.logs.uninstall()

    def _close(self) -> None:
        deadline = time.monotonic() + CLOSE_BUDGET
        for server in self.servers:
            if server.ready.done() and server.closing is not None:
                self.loop.call_soon_threadsafe(server.closing.set)
            elif server.task is not None:  # still starting: nothing to finish politely
                server.task.cancel()
        for server in self.servers:
            try:
                server.finished.result(timeout=max(deadline - time.monotonic(), 0.0))
            except concurrent.futures.TimeoutError:
                if server.task is not None:
                    server.task.cancel()
            server.errlog.close()
        # let what the sessions left (transports closing, HTTP streams) finish before the loop stops
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(_drain(), self.loop).result(max(deadline - time.monotonic(), 0.1))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(max(deadline - time.monotonic(), 0.1))
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
        progress = {"progress_callback": _progress_callback()} if self.server.progress else {}
        request = session.call_tool(self.name, dict(arguments), **progress)
        future = asyncio.run_coroutine_threadsafe(request, self.hub.loop)
        try:
            result = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolFailed(f"MCP tool {self.name} on server {server} timed out after {timeout:g} s") from None
        except Exception as exc:
            raise ToolFailed(f"MCP server {server} failed to run {self.name}: {_describe(exc)}") from None
        import sys

        value, user_text, is_error = split_result(result.model_dump(mode="json", by_alias=True, exclude_none=True))
        if user_text:  # the runner shows what a tool writes as its output: to the user, never to the model
            sys.stderr.write(user_text + "\n")
        if is_error:
            raise ToolFailed(value)
        return value


def mcp_server_record(tool: Tool) -> dict[str, Any]:
    """``tools list --json``'s ``mcp_server`` of an MCP tool: server name, tool name, and ``cwd`` or ``url``."""
    call = tool.func
    if not isinstance(call, McpCall):
        return {}
    config = call.server.config
    record: dict[str, Any] = {"name": config.name, "tool": call.name}
    if config.url is not None:
        from crazycall.redact import redact

        record["url"] = redact(config.url)
    else:
        record["cwd"] = str(config.cwd)
    return record


def _progress_callback() -> Callable[[float, float | None, str | None], Any]:
    """The call's progress callback (its presence makes the SDK send a progress token): reports to the runner's
    reporter of the calling tool thread, when there is one (``tools call`` has none)."""
    from crazycall.tools.runner import progress_reporter

    report = progress_reporter()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if report is not None:
            report(progress, total, message[:MESSAGE_LIMIT] if message else None)

    return on_progress


def _describe(exc: BaseException) -> str:
    """One line for an exception, looking inside the exception groups anyio raises."""
    while (inner := getattr(exc, "exceptions", None)) and isinstance(inner, Sequence) and inner:
        exc = inner[0]
    text = str(exc) or type(exc).__name__
    if type(exc).__module__.split(".")[0] == "mcp" or text == type(exc).__name__:
        return text  # the SDK's own errors read well alone (and their class names differ between versions)
    return f"{type(exc).__name__}: {text}"

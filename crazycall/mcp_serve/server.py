"""The SDK's low-level ``Server`` over the registry, and serving it on stdio.

``tools/list`` answers every served tool with the name, description and input schema ``tools list --json``
shows. ``tools/call`` hands the call to ``calls.Calls`` in a worker thread; the result is the text the model
would get in ``ask`` as a text block, plus ``structuredContent`` when the tool returned a JSON object, with
``isError`` for every failure. A ``confirm`` call asks the client through elicitation (``ctx.session``) from
that worker thread, back on the server's event loop.

On stdio, fd 1 is protected for the whole session (``capture.protect_stdout``): the MCP messages go to a
duplicate of the real stdout, and whatever a tool or plugin writes to fd 1 (``print``, a child process,
``os.write``) is collected as the call's output or passed to stderr, never into the JSON-RPC stream. fd 0 is
pointed at /dev/null while serving (the server reads a duplicate), so no tool can swallow a client's message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crazycall import __version__
from crazycall.conversation import ToolCall
from crazycall.mcp_serve.calls import Calls, not_permitted_text
from crazycall.tools.approval import NOT_PERMITTED, describe_call
from crazycall.tools.runner import SELF_TIMEOUT_GRACE, CallOutcome

ELICIT_TIMEOUT = 600.0
"""Seconds a confirmation asked through the client may take before the call is declined."""


class InFlight:
    """The calls being answered (on the server's event loop), so that end of input can wait for them."""

    def __init__(self) -> None:
        import anyio

        self.count = 0
        self.idle = anyio.Event()
        self.idle.set()

    def start(self) -> None:
        import anyio

        if self.count == 0:
            self.idle = anyio.Event()
        self.count += 1

    def done(self) -> None:
        self.count -= 1
        if self.count == 0:
            self.idle.set()


class DrainingLines:
    """The server's input lines; at end of input it waits (bounded) for the calls still running, so a client that
    sends a call and closes stdin still gets its answer."""

    def __init__(self, lines: Any, in_flight: InFlight, limit: float) -> None:
        self.lines, self.in_flight, self.limit = lines, in_flight, limit

    async def __aiter__(self) -> Any:
        import anyio

        async for line in self.lines:
            yield line
        with anyio.move_on_after(self.limit):
            await self.in_flight.idle.wait()
            # the handler has returned; its reply is written by the SDK a few steps later
            await anyio.sleep(0.1)


def drain_limit(calls: Calls) -> float:
    """Seconds the longest call can still take: its timeout, the runner's grace, and a second to answer."""
    longest = max((t.timeout or calls.tool_timeout for t in calls.registry), default=calls.tool_timeout)
    return longest + SELF_TIMEOUT_GRACE + 1.0


def build_server(calls: Calls, in_flight: InFlight | None = None) -> Any:
    """The low-level MCP server whose tools are ``calls.registry``."""
    import anyio
    from mcp import types
    from mcp.server.lowlevel import Server

    tools = [
        types.Tool(name=t.name, description=t.spec.description or None, input_schema=dict(t.spec.parameters))
        for t in calls.registry
    ]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: Any) -> Any:
        ask = _elicitor(ctx) if _can_elicit(ctx) else None
        if in_flight is not None:
            in_flight.start()
        try:
            outcome = await anyio.to_thread.run_sync(calls.run, params.name, params.arguments, ask)
        finally:
            if in_flight is not None:
                in_flight.done()
        return call_result(outcome, askable=ask is not None)

    return Server("crazycall", version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)


def call_result(outcome: CallOutcome, *, askable: bool) -> Any:
    """The MCP ``CallToolResult`` of one outcome: text always, structured content for a JSON object."""
    from mcp import types

    result = outcome.result
    text = result.content
    if outcome.declined == NOT_PERMITTED and not askable:
        text = not_permitted_text(result.name)
    structured = outcome.value if isinstance(outcome.value, dict) and not result.is_error else None
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=structured, is_error=result.is_error
    )


def _can_elicit(ctx: Any) -> bool:
    from mcp import types

    session = ctx.session
    try:
        capable = session.check_client_capability(types.ClientCapabilities(elicitation=types.ElicitationCapability()))
    except Exception:  # an SDK that words capabilities differently: treat the client as not askable
        return False
    return bool(capable) and bool(getattr(session, "can_send_request", True))


def _elicitor(ctx: Any) -> Any:
    """Asks the client's user about one call, from a worker thread started by ``anyio.to_thread``."""
    import anyio.from_thread

    def ask(call: ToolCall) -> bool:
        message = f"{describe_call(call).strip()}\nAllow crazycall to run it?"

        async def elicit() -> Any:
            with anyio.fail_after(ELICIT_TIMEOUT):
                schema = {"type": "object", "properties": {}}
                return await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)

        try:
            answer = anyio.from_thread.run(elicit)
        except Exception as exc:  # the client failed to answer: nobody approved the call
            sys.stderr.write(f"crazycall: mcp-serve: asking the client about {call.name} failed: {exc}\n")
            return False
        return getattr(answer, "action", None) == "accept"

    return ask


def serve_stdio(calls: Calls) -> None:
    """Serve until the client closes stdin."""
    import anyio

    from crazycall.tools.capture import protect_stdout

    with protect_stdout() as stdout, _stdin_for_server() as stdin_fd:
        out = os.fdopen(os.dup(stdout.fileno()), "w", encoding="utf-8", newline="\n")
        inp = os.fdopen(stdin_fd, "r", encoding="utf-8", errors="replace", newline="\n")
        try:
            anyio.run(_serve_streams, calls, inp, out)
        finally:
            out.close()
            inp.close()


async def _serve_streams(calls: Calls, inp: Any, out: Any) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    in_flight = InFlight()
    server = build_server(calls, in_flight)
    lines: Any = DrainingLines(anyio.wrap_file(inp), in_flight, drain_limit(calls))
    async with stdio_server(lines, anyio.wrap_file(out)) as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


@contextmanager
def _stdin_for_server() -> Iterator[int]:
    """A duplicate of fd 0 for the server to read; fd 0 itself reads /dev/null until the block ends."""
    try:
        saved = os.dup(0)
    except OSError:
        from crazycall.errors import UsageError

        raise UsageError(
            "stdin is closed: mcp-serve on stdio reads the client's messages from it (or use --http)"
        ) from None
    reader = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        yield reader
    finally:
        os.dup2(saved, 0)
        os.close(saved)

"""Starting ``mcp-serve``: load the registry (plugins imported behind the stdout guard), apply the allow/deny
lists, open the session's transcript, and serve on stdio or HTTP until the client leaves or Ctrl-C."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from crazycall.errors import UsageError
from crazycall.mcp_serve import INSTALL_HINT, ServeOptions
from crazycall.tools.registry import unknown_names

if TYPE_CHECKING:
    from crazycall.mcp_serve.calls import Calls


def check_sdk() -> None:
    """A usage error (exit 2) with the install command when the optional MCP SDK is missing."""
    try:
        import mcp.server.lowlevel  # noqa: F401
    except ImportError:
        raise UsageError(f"crazycall mcp-serve needs the MCP SDK, which is not installed: {INSTALL_HINT}") from None


def serve(options: ServeOptions) -> None:
    from crazycall.mcp_serve.calls import Calls
    from crazycall.tools.capture import protect_stdout
    from crazycall.tools.loader import open_registry
    from crazycall.transcript.writer import Transcript, new_run_id

    check_sdk()
    if not options.http:
        _check_stdin()
    transcript = Transcript(err=sys.stderr)
    # fd 1 is guarded before any plugin is imported: on stdio it is the MCP transport
    with protect_stdout(), open_registry(options.tool_files, options.plugin_paths, verbose=options.verbose) as loaded:
        if problem := unknown_names(options.approve, loaded.names()):
            raise UsageError(f"--approve: unknown tool(s): {problem}")
        registry = loaded.restrict(options.allow, options.deny)
        if options.transcript is not None:
            header = {"command": "mcp-serve", "transport": "http" if options.http else "stdio"}
            transcript.start(options.transcript, new_run_id(), header, explicit=True)
        if not len(loaded):
            _note_no_tools(options)
        calls = Calls(
            registry,
            approve=options.approve,
            yes=options.yes,
            tool_timeout=options.tool_timeout,
            transcript=transcript,
            verbose=options.verbose,
        )
        outcome = "ok"
        try:
            _serve(calls, options)
        except BaseException as exc:
            outcome = "interrupted" if isinstance(exc, (KeyboardInterrupt, SystemExit)) else type(exc).__name__
            raise
        finally:
            transcript.write("end", {"outcome": outcome})
            transcript.close()


def _note_no_tools(options: ServeOptions) -> None:
    from crazycall.tools.loader import looked_in

    where = looked_in(options.tool_files, options.plugin_paths)
    sys.stderr.write(f"crazycall: note: no tools were loaded (looked in {where}); see -t/--tools, --plugins\n")


def _check_stdin() -> None:
    """Before anything opens a file (which would take descriptor 0 if it were free)."""
    import os

    try:
        os.fstat(0)
    except OSError:
        raise UsageError(
            "stdin is closed: mcp-serve on stdio reads the client's messages from it (or use --http)"
        ) from None


def _serve(calls: Calls, options: ServeOptions) -> None:
    if options.http:
        from crazycall.mcp_serve.http import serve_http

        serve_http(calls, options.host, options.port, options.token)
        return
    from crazycall.mcp_serve.server import serve_stdio

    sys.stderr.write(f"crazycall: mcp-serve: serving {len(calls.registry)} tools on stdio\n")
    sys.stderr.flush()
    serve_stdio(calls)

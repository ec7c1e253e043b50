"""The ``mcp-serve`` command's flags (a contract, README "crazycall mcp-serve"); the work is in
``crazycall/mcp_serve/``. Only typer is imported here: ``crazycall --help`` never imports the MCP SDK."""

from __future__ import annotations

from pathlib import Path

import typer

from crazycall.commands.tools import PluginsOption, ToolsOption


def mcp_serve(
    tools: ToolsOption = None,
    plugins: PluginsOption = None,
    allow_tools: list[str] = typer.Option([], "--allow-tools", help="Serve only these tools (a,b; repeatable)."),
    deny_tools: list[str] = typer.Option([], "--deny-tools", help="Never serve these tools (a,b; repeatable)."),
    approve: list[str] = typer.Option([], "--approve", help="Pre-approve a confirm: tool (repeatable)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Pre-approve every tool that needs confirmation."),
    tool_timeout: float | None = typer.Option(None, "--tool-timeout", help="Per-tool timeout (60 s)."),
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="--http: address to listen on (loopback)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="--http: port (0: any free one)."),
    token: str | None = typer.Option(
        None, "--token", envvar="CRAZYCALL_MCP_TOKEN", help="--http: bearer token (default: generated, shown once)."
    ),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="--http: allow a non-loopback --host."),
    transcript: Path | None = typer.Option(None, "--transcript", help="Record the session's calls here (JSONL)."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Tracebacks for errors."),
) -> None:
    """Serve your tools (tools.yaml, plugins, MCP servers) to any MCP client, on stdio or streamable HTTP."""
    from crazycall.commands.ask import split_names
    from crazycall.errors import UsageError
    from crazycall.mcp_serve import ServeOptions
    from crazycall.mcp_serve.http import is_loopback
    from crazycall.mcp_serve.run import serve
    from crazycall.settings import check_number

    if not http and (allow_remote or host != "127.0.0.1"):
        raise UsageError("--host and --allow-remote apply to --http only")
    if http and not is_loopback(host) and not allow_remote:
        raise UsageError(f"--host {host} is not a loopback address; add --allow-remote to serve it to the network")
    if token is not None and len(token) < 16:
        raise UsageError("--token: use at least 16 characters (or leave it out to get a generated one)")
    if tool_timeout is not None and (problem := check_number("tool_timeout", tool_timeout)):
        raise UsageError(f"--tool-timeout: {problem}")
    serve(
        ServeOptions(
            tool_files=tuple(tools or ()),
            plugin_paths=tuple(plugins or ()),
            allow=split_names(",".join(allow_tools)) if allow_tools else None,
            deny=split_names(",".join(deny_tools)),
            approve=tuple(approve),
            yes=yes,
            tool_timeout=tool_timeout,
            http=http,
            host=host,
            port=port,
            token=token,
            transcript=transcript,
            verbose=verbose,
        )
    )


def register(app: typer.Typer) -> None:
    from crazycall.commands._handling import handled

    app.command("mcp-serve")(handled(mcp_serve))

"""The ``tools`` command group: ``tools list``, ``tools show NAME`` and ``tools call NAME ARGS``.

Owns how the registry is shown and how one tool is run by hand. Loading and checking tools is
``crazycall.tools.loader``'s job. Only typer is imported at module level; ``tools list`` in particular must
never import jsonschema or httpx (start-up speed, checked by a test), so it loads with ``check_schemas=False``
unless ``--check`` is given; the tables are ``render/tables.py``'s (Rich stays under ``render/``). MCP
servers named in tools.yaml are started for the command's duration (their tools are listed, shown and callable
like any other); that, and only that, imports the MCP SDK.

``ToolsOption`` and ``PluginsOption`` are the ``-t/--tools`` and ``--plugins`` flags every command that loads
tools takes; other command modules reuse them so the flags read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from crazycall.tools.registry import Tool, ToolRegistry

ToolsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--tools",
        "-t",
        metavar="FILE",
        help="A tools.yaml file (repeatable). Default: ./tools.yaml when it exists.",
    ),
]
PluginsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--plugins",
        metavar="PATH",
        help="A plugin .py file or folder of them (repeatable). Default: ./plugins when it exists.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]

CheckOption = Annotated[
    bool, typer.Option("--check", help="Also check every schema against the JSON Schema meta-schema.")
]
NameArgument = Annotated[str, typer.Argument(help="The tool's name.")]
ArgumentsArgument = Annotated[str, typer.Argument(help="Arguments as a JSON object; '-' reads stdin.")]


@contextmanager
def open_tools(
    tools: list[Path] | None, plugins: list[Path] | None, *, check_schemas: bool = True, check_derived: bool = False
) -> Iterator[ToolRegistry]:
    """The registry for ``-t/--tools`` and ``--plugins`` (defaults from the working directory), MCP included."""
    from crazycall.tools.loader import open_registry
    from crazycall.tools.session import kill_commands

    try:
        with open_registry(tools or (), plugins or (), check_schemas=check_schemas, check_derived=check_derived) as reg:
            yield reg
    finally:  # Ctrl-C during `tools call`: the command's group dies here, not only at interpreter exit
        kill_commands()


def tool_record(tool: Tool) -> dict[str, Any]:
    """The ``--json`` shape of one tool (``function_source`` only for tools.yaml entries backed by a function)."""
    record = {
        "name": tool.name,
        "description": tool.spec.description,
        "source": tool.source,
        "parameters": dict(tool.spec.parameters),
        "timeout": tool.timeout,
        "kind": tool.kind,
        "confirm": tool.confirm,
    }
    if tool.function_source is not None:
        record["function_source"] = tool.function_source
    if tool.kind == "mcp":
        from crazycall.tools.mcp import mcp_server_record

        record["mcp_server"] = mcp_server_record(tool)
    return record


def where(tool: Tool) -> str:
    """The Source cell: ``tools.yaml:3`` (``, def plugins/x.py:9`` for a function it names or refines), with
    ``(command)`` and ``(confirm)`` when they apply."""
    tags = ["command"] if tool.kind == "command" else []
    tags += ["confirm"] if tool.confirm else []
    function = f", def {tool.function_source}" if tool.function_source else ""
    return tool.source + function + "".join(f" ({tag})" for tag in tags)


def _get_tool(registry: ToolRegistry, name: str) -> Tool:
    from crazycall.errors import UsageError

    found = registry.get(name)
    if found is None:
        raise UsageError(f"unknown tool {name!r}; known: {', '.join(registry.names()) or 'none'}")
    return found


def list_tools(
    tools: ToolsOption = None, plugins: PluginsOption = None, json_out: JsonOption = False, check: CheckOption = False
) -> None:
    """List the loaded tools: name, parameters and where each is defined."""

    with open_tools(tools, plugins, check_schemas=check, check_derived=check) as registry:
        _print_list(registry, json_out)


def _print_list(registry: ToolRegistry, json_out: bool) -> None:
    import json

    if json_out:
        records = [tool_record(t) for t in registry] + registry.left_out
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not len(registry):
        typer.echo("no tools found (looked for ./tools.yaml and ./plugins; see -t/--tools, --plugins)", err=True)
        return
    from crazycall.render import tables
    from crazycall.render.sanitize import visible_line
    from crazycall.tools.schema import summarize

    rows = [
        [
            visible_line(cell)
            for cell in (tool.name, summarize(tool.spec.parameters), where(tool), tool.spec.description)
        ]
        for tool in registry
    ]
    if not tables.stdout_is_terminal():  # a pipe or a file: one tool per line, tab-separated, nothing squeezed
        typer.echo("\n".join("\t".join(row) for row in rows))
        _print_mcp_notes(registry, err=True)
        return
    tables.print_tool_table(rows)
    _print_mcp_notes(registry, err=False)


def _print_mcp_notes(registry: ToolRegistry, err: bool) -> None:
    """Under the table: the folder (or URL) each MCP server was given, and the tools it listed but not offered
    (on stderr when stdout is a pipe, which gets tab-separated tool lines only)."""
    from crazycall.tools.mcp import mcp_server_record

    servers = [mcp_server_record(t) for t in registry if t.kind == "mcp"]
    for server in {s["name"]: s for s in servers}.values():
        place = f"runs in {server['cwd']}" if "cwd" in server else f"at {server['url']}"
        typer.echo(f"MCP server {server['name']} {place}", err=err)
    for left in registry.left_out:
        typer.echo(f"not offered: {left['name']} ({left['source']}): {left['left_out']}", err=err)


def show_tool(
    name: NameArgument, tools: ToolsOption = None, plugins: PluginsOption = None, json_out: JsonOption = False
) -> None:
    """Show one tool's description, source, timeout and parameter schema."""
    import json

    with open_tools(tools, plugins) as registry:
        tool = _get_tool(registry, name)
    if json_out:
        typer.echo(json.dumps(tool_record(tool), indent=2, ensure_ascii=False))
        return
    from crazycall.render.tables import print_tool

    schema_text = json.dumps(dict(tool.spec.parameters), indent=2, ensure_ascii=False)
    print_tool(f"{tool.name}  ({where(tool)})", tool.spec.description or "(no description)", tool.timeout, schema_text)


YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Run a tool that needs confirmation without asking (as ask --yes).")
]


def call_tool(
    name: NameArgument,
    arguments: ArgumentsArgument = "{}",
    tools: ToolsOption = None,
    plugins: PluginsOption = None,
    yes: YesOption = False,
) -> None:
    """Run one tool by hand and print its result as JSON (what the tool prints goes to stderr)."""
    import json
    import sys

    from crazycall.errors import UsageError
    from crazycall.tools.capture import protect_stdout

    text = sys.stdin.read() if arguments == "-" else arguments
    try:
        args = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"arguments for tool {name!r} are not valid JSON: {exc}") from None
    if not isinstance(args, dict):
        raise UsageError(f"arguments for tool {name!r} must be a JSON object, got {type(args).__name__}")
    # stdout is for the result alone (`| jq`): fd 1 is protected from plugin imports, the tool and its children.
    with protect_stdout() as stdout, open_tools(tools, plugins) as registry:
        tool = _get_tool(registry, name)
        problems = tool.validate(args)
        if problems:
            raise UsageError(f"invalid arguments for tool {name!r}: {'; '.join(problems)}")
        result = run_tool(registry, tool, args, yes=yes, stdout=stdout)
        stdout.write(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
        stdout.flush()


def run_tool(registry: ToolRegistry, tool: Tool, args: dict[str, Any], *, yes: bool, stdout: Any) -> Any:
    """Run one call through the tool runner, as ``ask`` does (approval, thread, timeout, captured prints);
    the tool's return value, or ToolErrorsPresent / UsageError worded for a person at the command line."""
    import json
    import sys

    from crazycall.conversation import ToolCall
    from crazycall.errors import ToolErrorsPresent, UsageError
    from crazycall.tools.approval import NOT_PERMITTED, can_prompt
    from crazycall.tools.runner import ToolRunner
    from crazycall.tools.session import ToolOptions, make_approval

    interactive = can_prompt("plain", sys.stdin, stdout, sys.stderr)
    runner = ToolRunner(registry, approval=make_approval(ToolOptions(yes=yes, interactive=interactive)))
    (outcome,) = runner.run([ToolCall("tools-call", tool.name, args, json.dumps(args, ensure_ascii=False))])
    if outcome.output:  # what the tool printed is progress for the user, as in ask: stderr, never stdout
        sys.stderr.write(outcome.output)
        sys.stderr.flush()
    if outcome.declined == NOT_PERMITTED:
        raise UsageError(
            f"tool {tool.name} needs confirmation (confirm: true) and no terminal can ask for it; pass --yes to run it"
        )
    if outcome.declined is not None:
        raise ToolErrorsPresent(f"tool {tool.name} was not run: you declined")
    if outcome.timed_out:
        timeout = tool.timeout or runner.default_timeout
        raise ToolErrorsPresent(f"tool {tool.name} failed: TimeoutError: no result after {timeout:g}s")
    if outcome.result.is_error:
        raise ToolErrorsPresent(f"tool {tool.name} failed: {outcome.result.content}")
    return outcome.value


def register(app: typer.Typer) -> None:
    """Add the ``tools`` group to the root app."""
    from crazycall.commands._handling import handled

    tools_app = typer.Typer(
        name="tools",
        help="List, inspect and run the tools crazycall offers to the model.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    tools_app.command("list")(handled(list_tools))
    tools_app.command("show")(handled(show_tool))
    tools_app.command("call")(handled(call_tool))
    app.add_typer(tools_app)

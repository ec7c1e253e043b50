"""``load_registry``: tools.yaml files + plugin folders + entry points -> one checked ``ToolRegistry``.

Merge rules:

- Plugin folders (default ``cwd/plugins`` and the ``plugins`` folder next to each tools.yaml given) and
  ``crazycall.plugins`` entry points contribute their
  ``@tool`` functions. The same function object reached twice counts once; two different functions with
  one name are an error naming both sources.
- A tools.yaml entry (default ``cwd/tools.yaml``) with ``function:`` defines a tool; a file named there is
  imported like a plugin file but only the named callable is used. An entry with ``command:`` defines a command
  tool (``command.py``). An entry with neither overrides the description, parameters, timeout and confirm flag
  of the plugin function of the same name; without such a function, error.
- ``mcp_servers`` of every file are started by ``open_registry`` only (``load_registry`` leaves them out: it
  has no end at which to stop them); their tools come last, server by server in file order.
- Order: tools.yaml entries in file order, then the remaining plugin tools, then entry-point tools, then MCP.
- Every schema gets the fast structural check; ``check_schemas=True`` adds jsonschema's meta-schema check
  for the schemas written by hand (tools.yaml ``parameters``, MCP tools). Schemas derived from a signature are
  built by ``decorator.py`` from a handful of keywords and are valid by construction (its tests check them
  against the meta-schema), so a run with only Python tools never imports jsonschema at load time; they are
  checked too only with ``check_derived=True`` (``tools list --check``: every schema, as it says).
  ``tools list`` passes False so that it never imports jsonschema.

``Tool.source`` is the YAML entry's ``path:line`` or the plugin function's ``def`` line, relative to ``cwd``
when under it; a YAML entry backed by a Python function also records that function's ``def`` line
(``Tool.function_source``). This module does not parse YAML (``yaml_file.py``), import plugin files (``plugins.py``) or
derive schemas (``decorator.py``); it only decides which definition wins and reports where problems are.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crazycall.errors import ConfigError
from crazycall.tools import decorator, plugins, schema
from crazycall.tools.plugins import ModuleCache, PluginFunction, PluginImportError, display_path
from crazycall.tools.registry import Tool, ToolRegistry

if TYPE_CHECKING:  # yaml_file (and yaml) are imported only when there is a tools.yaml to read
    from crazycall.tools.yaml_file import McpServerEntry, ToolEntry

DEFAULT_TOOLS_FILE = "tools.yaml"
DEFAULT_PLUGIN_DIR = "plugins"


def load_registry(
    tool_files: Sequence[Path] = (),
    plugin_paths: Sequence[Path] = (),
    *,
    cwd: Path | None = None,
    entry_points: bool = True,
    check_schemas: bool = True,
    check_derived: bool = False,
) -> ToolRegistry:
    """Load, merge and check every tool but MCP servers' (see ``open_registry``); problems name ``file:line``."""
    return _load(tool_files, plugin_paths, cwd, entry_points, (check_schemas, check_derived))[0]


@contextmanager
def open_registry(
    tool_files: Sequence[Path] = (),
    plugin_paths: Sequence[Path] = (),
    *,
    cwd: Path | None = None,
    entry_points: bool = True,
    check_schemas: bool = True,
    check_derived: bool = False,
    verbose: bool = False,
) -> Iterator[ToolRegistry]:
    """Every tool, MCP servers' included: their sessions stay open until the ``with`` block ends."""
    registry, servers = _load(tool_files, plugin_paths, cwd, entry_points, (check_schemas, check_derived))
    if not servers:
        yield registry
        return
    from crazycall.tools.mcp import McpHub, collision_hint, server_config

    with McpHub(verbose) as hub:
        for tool in hub.start([server_config(s) for s in servers]):
            where = tool.source
            _check_parameters(tool.spec.parameters, check_schemas, lambda _p: where, tool.name)  # noqa: B023
            if (other := registry.get(tool.name)) is not None:
                hint = collision_hint(other.kind, tool.kind)
                raise ConfigError(f"tool {tool.name!r} is defined twice: {other.source} and {tool.source}; {hint}")
            registry.add(tool)
        registry.left_out = list(hub.left_out)
        yield registry


def _load(
    tool_files: Sequence[Path],
    plugin_paths: Sequence[Path],
    cwd: Path | None,
    entry_points: bool,
    checks: tuple[bool, bool],
) -> tuple[ToolRegistry, list[McpServerEntry]]:
    """``checks``: (meta-schema check of hand-written schemas, of derived schemas)."""
    cwd = Path.cwd() if cwd is None else cwd
    files = _given_or_default(tool_files, cwd, DEFAULT_TOOLS_FILE, Path.is_file)
    folders = _given_or_default(plugin_paths, cwd, DEFAULT_PLUGIN_DIR, Path.is_dir)
    if not plugin_paths:
        folders += _beside(files, folders, cwd)
    cache: ModuleCache = {}
    candidates = _collect(plugins.folder_tools(folders, cwd, cache))
    if entry_points:
        candidates = _collect(plugins.entry_point_tools(cwd), candidates)
    entries, servers = _entries(files)
    tools = [_entry_tool(e, candidates, cache, cwd, checks) for e in entries]
    claimed = {e.name for e in entries}
    tools += [_plugin_tool(c, checks[1]) for c in candidates.values() if c.name not in claimed]
    return ToolRegistry(tools), servers


def _given_or_default(
    given: Sequence[Path], cwd: Path, default: str, exists: Callable[[Path], bool]
) -> list[tuple[Path, str]]:
    """(absolute path, display) pairs: the given paths, or the default when it exists (missing is fine)."""
    if given:
        return [(p if p.is_absolute() else cwd / p, str(p)) for p in given]
    path = cwd / default
    return [(path, default)] if exists(path) else []


def _beside(
    files: Sequence[tuple[Path, str]], folders: Sequence[tuple[Path, str]], cwd: Path
) -> list[tuple[Path, str]]:
    """The ``plugins/`` folder next to each tools.yaml (``-t other/dir/tools.yaml`` finds other/dir/plugins
    wherever it is run from), unless it is one of ``folders`` already."""
    seen = {p.resolve() for p, _ in folders}
    found: list[tuple[Path, str]] = []
    for path, _ in files:
        folder = path.parent / DEFAULT_PLUGIN_DIR
        if folder.is_dir() and folder.resolve() not in seen:
            seen.add(folder.resolve())
            found.append((folder, display_path(folder, cwd)))
    return found


def looked_in(tool_files: Sequence[Path], plugin_paths: Sequence[Path], cwd: Path | None = None) -> str:
    """Where tools were looked for, in words (for "no tools were loaded")."""
    cwd = Path.cwd() if cwd is None else cwd
    files = [str(p) for p in tool_files] or [str(cwd / DEFAULT_TOOLS_FILE)]
    folders = [str(p) for p in plugin_paths] or [str(cwd / DEFAULT_PLUGIN_DIR)]
    return f"{', '.join(files)}, {', '.join(folders)} and crazycall.plugins entry points"


def _duplicate(name: str, first: str, second: str) -> ConfigError:
    # Same wording as ToolRegistry.add, which catches the cases that reach the registry.
    return ConfigError(f"tool {name!r} is defined twice: {first} and {second}; rename one of them")


def _collect(
    found: Iterable[PluginFunction], into: dict[str, PluginFunction] | None = None
) -> dict[str, PluginFunction]:
    result = dict(into or {})
    for candidate in found:
        existing = result.get(candidate.name)
        if existing is not None and existing.func is not candidate.func:
            raise _duplicate(candidate.name, existing.source, candidate.source)
        result.setdefault(candidate.name, candidate)
    return result


def _entries(files: Sequence[tuple[Path, str]]) -> tuple[list[ToolEntry], list[McpServerEntry]]:
    if not files:
        return [], []
    from crazycall.tools.yaml_file import read_tools_config

    entries: dict[str, ToolEntry] = {}
    servers: dict[str, McpServerEntry] = {}
    for path, display in files:
        config = read_tools_config(path, display)
        for entry in config.entries:
            if entry.name in entries:
                raise _duplicate(entry.name, entries[entry.name].source, entry.source)
            entries[entry.name] = entry
        for server in config.servers:
            if server.name in servers:
                first = servers[server.name].source
                raise ConfigError(f"MCP server {server.name!r} is defined twice: {first} and {server.source}")
            servers[server.name] = server
    return list(entries.values()), list(servers.values())


def _entry_tool(
    entry: ToolEntry,
    candidates: Mapping[str, PluginFunction],
    cache: ModuleCache,
    cwd: Path,
    checks: tuple[bool, bool],
) -> Tool:
    check, check_derived = checks
    candidate = candidates.get(entry.name)
    if entry.command is not None:
        if candidate is not None:
            raise _duplicate(entry.name, candidate.source, entry.source)
        return _command_tool(entry, check)
    if entry.function is not None:
        func = resolve_function(entry, cache, cwd)
        if candidate is not None and candidate.func is not func:
            raise _duplicate(entry.name, candidate.source, entry.source)
    elif candidate is not None:
        func = candidate.func
    else:
        raise ConfigError(
            f"{entry.source}: tool {entry.name!r} has no 'function:' and no plugin function is named "
            f"{entry.name!r}; add 'function: module:callable' or 'function: path/to/file.py:callable'"
        )
    # a schema derived from a plugin function is that function's business: point at its def line
    where = candidate.source if entry.function is None and candidate is not None else entry.source
    if entry.parameters is not None:
        parameters: Mapping[str, Any] = entry.parameters
        _check_parameters(parameters, check, lambda p: f"{entry.display}:{entry.line_of(p)}", entry.name)
        _check_signature(func, parameters, f"{entry.where('parameters')}: tool {entry.name!r}")
        call = func
    else:
        parameters = _derive(func, where, entry.name)
        _check_parameters(parameters, check_derived, lambda _p: where, entry.name)
        call = _fill_optional(func)
    options = decorator.options_of(func) or decorator.ToolOptions()
    description = entry.description if entry.description is not None else decorator.description_for(func)
    timeout = entry.timeout if entry.timeout is not None else options.timeout
    confirm = entry.confirm if entry.confirm is not None else options.confirm
    tool = _tool(entry.name, description, parameters, call, entry.source, timeout, confirm)
    tool.function_source = candidate.source if candidate is not None else plugins.function_source(func, cwd)
    return tool


def _command_tool(entry: ToolEntry, check: bool) -> Tool:
    from crazycall.tools.command import CommandRunner, command_tool

    if entry.parameters is not None:
        _check_parameters(entry.parameters, check, lambda p: f"{entry.display}:{entry.line_of(p)}", entry.name)
    spec, parameters = command_tool(entry, entry.parameters)
    runner = CommandRunner(spec)
    tool = _tool(entry.name, entry.description or "", parameters, runner, entry.source, entry.timeout, entry.confirm)
    tool.kind, tool.invoke = "command", runner.run
    return tool


def _plugin_tool(candidate: PluginFunction, check_derived: bool) -> Tool:
    func = candidate.func
    parameters = _derive(func, candidate.source, candidate.name)
    _check_parameters(parameters, check_derived, lambda _p: candidate.source, candidate.name)
    options = decorator.options_of(func) or decorator.ToolOptions()
    description = decorator.description_for(func)
    call = _fill_optional(func)
    return _tool(candidate.name, description, parameters, call, candidate.source, options.timeout, options.confirm)


def _tool(
    name: str,
    description: str,
    parameters: Mapping[str, Any],
    call: Callable[..., Any],
    source: str,
    timeout: float | None,
    confirm: bool | None = False,
) -> Tool:
    from crazycall.conversation import ToolSpec

    spec = ToolSpec(name=name, description=description, parameters=parameters)
    return Tool(spec=spec, func=call, source=source, timeout=timeout, confirm=bool(confirm))


def _derive(func: Callable[..., Any], where: str, name: str) -> dict[str, Any]:
    parameters: dict[str, Any] = _guard(lambda: dict(decorator.spec_for(func, name=name).parameters), where)
    return parameters


def _guard(make: Callable[[], Any], where: str) -> Any:
    """Run a derivation, prefixing its ConfigError with the source it concerns."""
    try:
        return make()
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


def _fill_optional(func: Callable[..., Any]) -> Callable[..., Any]:
    """Optional[T] parameters without a default receive None when the model leaves them out."""
    missing = decorator.optional_without_default(func)
    return functools.partial(func, **dict.fromkeys(missing)) if missing else func


def _check_parameters(
    parameters: Mapping[str, Any], full: bool, locate: Callable[[Sequence[str | int]], str], name: str
) -> None:
    try:
        problem = schema.structural_problem(parameters)
        if problem is None and full:
            problem = schema.meta_schema_problem(parameters)
    except RecursionError:  # an MCP server's schema nested thousands of levels deep
        problem = (), "nested too deeply"
    if problem is not None:
        path, message = problem
        raise ConfigError(
            f"{locate(path)}: tool {name!r}: parameters are not a valid JSON Schema "
            f"at {schema.json_path(path)}: {message}"
        )


def _check_signature(func: Callable[..., Any], parameters: Mapping[str, Any], where: str) -> None:
    """The schema's properties must be arguments the function accepts (a typo would fail every call)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return  # builtins and C callables: nothing to compare with
    kinds = {p.name: p for p in sig.parameters.values()}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in kinds.values()):
        return
    accepted = {n for n, p in kinds.items() if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    properties = parameters.get("properties") or {}
    unknown = [n for n in properties if n not in accepted]
    if unknown:
        raise ConfigError(f"{where}: schema properties {unknown} are not parameters of {_qualname(func)}")
    needed = [
        n
        for n, p in kinds.items()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    missing = [n for n in needed if n not in properties]
    if missing:
        raise ConfigError(
            f"{where}: parameters {missing} of {_qualname(func)} have no default and are not in the schema"
        )


def resolve_function(entry: ToolEntry, cache: ModuleCache, cwd: Path) -> Callable[..., Any]:
    """The callable a ``function:`` names: ``module:attr`` or ``path/to/file.py:attr`` (relative to the YAML)."""
    target = (entry.function or "").strip()
    where = f"{entry.where('function')}: tool {entry.name!r}"
    module_part, _, attr = target.rpartition(":")
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        file = Path(module_part) if Path(module_part).is_absolute() else entry.file.parent / module_part
        if not file.is_file():
            raise ConfigError(f"{where}: cannot import {target!r}: {display_path(file, cwd)} does not exist")
        try:
            obj: Any = plugins.load_module_file(file, display_path(file, cwd), cache)
        except PluginImportError as err:
            raise ConfigError(f"{where}: cannot import {target!r}: {err.detail}") from None
    else:
        try:
            obj = importlib.import_module(module_part)
        except Exception as exc:
            raise ConfigError(f"{where}: cannot import {target!r}: {plugins.exception_line(exc)}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{where}: cannot import {target!r}: {module_part} has no attribute {part!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"{where}: {target!r} is not callable (it is {type(obj).__name__})")
    if inspect.iscoroutinefunction(obj):
        raise ConfigError(f"{where}: {target!r} is async; tools must be plain functions")
    return obj  # type: ignore[no-any-return]


def _qualname(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", None) or func)

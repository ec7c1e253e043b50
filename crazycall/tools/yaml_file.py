"""Reading a tools.yaml file into ``ToolEntry`` and ``McpServerEntry`` records that remember their lines.

Format (the repository's own ``tools.yaml`` is a working example)::

    get_weather:                          # tool name, ^[a-zA-Z0-9_-]{1,64}$ (PROTOCOLS.md §0)
      description: Current weather for a city
      parameters: {type: object, ...}     # JSON Schema of type object
      function: plugins/weather.py:get_weather   # or an importable module:callable
      timeout: 10                         # seconds, > 0 (optional)
      confirm: true                       # every call needs the user's approval (optional)
    word_count:
      command: [wc, -w]                   # instead of function: an argv list, {param} placeholders
      stdin: "{text}"                     # optional, like cwd, env, allow_options, ok_exit_codes (command tools only)

The top level is a mapping of tool names to entries. The same mapping may instead sit under a top-level
``tools:`` key, next to an ``mcp_servers:`` section (server name -> ``command``/``args``/``env``/``cwd`` or
``url``/``headers``, plus ``prefix``, ``include``, ``exclude``, ``startup_timeout``, ``timeout``,
``confirm``). When either key is present the file is read in that sectioned form and any other top-level key
is an error; in the flat form ``tools`` and ``mcp_servers`` are therefore not usable as tool names. An empty
file declares nothing. Unknown keys are errors.

This module owns the YAML syntax, the type of each value and the line numbers (read from the composed node
tree, so every message names ``file:line``). It deliberately does not import functions, merge with plugins,
check placeholders against schemas (``command.py``), start MCP servers (``mcp/``) or check schemas against
the meta-schema: ``loader.py`` does, and asks ``ToolEntry.line_of`` where a schema problem sits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crazycall import yaml_read
from crazycall.errors import ConfigError
from crazycall.tools.decorator import TOOL_NAME_RE, check_timeout, check_tool_name

COMMAND_ONLY_KEYS = ("stdin", "cwd", "env", "allow_options", "ok_exit_codes")
ENTRY_KEYS = ("description", "parameters", "function", "command", *COMMAND_ONLY_KEYS, "timeout", "confirm")
SECTION_KEY = "tools"
MCP_SECTION_KEY = "mcp_servers"
SECTION_KEYS = (SECTION_KEY, MCP_SECTION_KEY)
SERVER_KEYS = (
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "prefix",
    "include",
    "exclude",
    "startup_timeout",
    "timeout",
    "confirm",
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ToolEntry:
    """One tool entry of a tools.yaml file."""

    name: str
    file: Path
    """The YAML file, absolute (``function: file.py:callable`` is resolved relative to its folder)."""
    display: str
    """The file as it is shown in messages (relative to the working directory when under it)."""
    line: int
    """1-based line of the entry's name."""
    description: str | None = None
    parameters: dict[str, Any] | None = None
    function: str | None = None
    timeout: float | None = None
    command: tuple[str, ...] | None = None
    """argv of a command tool (items may hold ``{param}`` placeholders); None for function tools."""
    stdin: str | None = None
    cwd: str | None = None
    env: dict[str, str] | None = None
    allow_options: bool | tuple[str, ...] | None = None
    """Parameters whose whole-item values may start with ``-`` (True: all); checked against them in command.py."""
    ok_exit_codes: tuple[int, ...] | None = None
    """Exit statuses that are not errors (None: only 0)."""
    confirm: bool | None = None
    """None: not given here (a plugin function's ``@tool(confirm=...)`` decides)."""
    lines: dict[str, int] = field(default_factory=dict)
    """Line of each key of the entry (``function``, ``parameters``, ...)."""
    parameters_node: yaml.Node | None = field(default=None, repr=False, compare=False)

    @property
    def source(self) -> str:
        return f"{self.display}:{self.line}"

    def where(self, key: str | None = None) -> str:
        """``file:line`` of the entry, or of one of its keys."""
        return f"{self.display}:{self.lines.get(key, self.line) if key else self.line}"

    def line_of(self, schema_path: Sequence[str | int]) -> int:
        """The line of the deepest node of ``parameters`` that ``schema_path`` reaches."""
        node = self.parameters_node
        line = self.lines.get("parameters", self.line)
        for part in schema_path:
            found = _child(node, part) if node is not None else None
            if found is None:
                break
            line, node = found
        return line


@dataclass(frozen=True)
class McpServerEntry:
    """One server of a tools.yaml ``mcp_servers:`` section, its values type-checked."""

    name: str
    file: Path
    display: str
    line: int
    values: dict[str, Any]
    """The keys given (of SERVER_KEYS); lists as lists, mappings as dicts of strings, numbers as floats."""
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"{self.display}:{self.line}"


@dataclass(frozen=True)
class ToolsFile:
    entries: list[ToolEntry]
    servers: list[McpServerEntry]


def read_tools_file(path: Path, display: str) -> list[ToolEntry]:
    """Parse one tools.yaml file's tool entries; every problem is a ConfigError naming ``display:line``."""
    return read_tools_config(path, display).entries


def read_tools_config(path: Path, display: str) -> ToolsFile:
    """Parse one tools.yaml file: tool entries and MCP servers."""
    text = yaml_read.read_text(path, display, "tools file")
    root = yaml_read.compose(text, display)
    if root is None or _is_null(root):
        return ToolsFile([], [])
    tools, servers_node = _sections(root, display)
    entries: dict[str, ToolEntry] = {}
    for key_node, value_node in tools.value if tools is not None else []:
        entry = _entry(key_node, value_node, path, display)
        if entry.name in entries:
            first = entries[entry.name]
            raise ConfigError(
                f"{entry.source}: tool {entry.name!r} is defined twice in this file (first at {first.source})"
            )
        entries[entry.name] = entry
    servers = [_server(k, v, path, display) for k, v in servers_node.value] if servers_node is not None else []
    return ToolsFile(list(entries.values()), servers)


def _sections(root: yaml.Node, display: str) -> tuple[yaml.MappingNode | None, yaml.MappingNode | None]:
    """(tool entries, MCP servers): the root itself in the flat form, or the ``tools``/``mcp_servers`` values."""
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(
            f"{display}:{_line(root)}: expected a mapping of tool names to tool entries, got {_node_kind(root)}"
        )
    keys = {_scalar(k): (k, v) for k, v in root.value}
    if not any(key in keys for key in SECTION_KEYS):
        return root, None
    for key_node, _ in root.value:
        if _scalar(key_node) not in SECTION_KEYS:
            raise ConfigError(
                f"{display}:{_line(key_node)}: unknown top-level key {_scalar(key_node)!r}; with sections the "
                f"top-level keys are 'tools' and 'mcp_servers' (tool entries go under 'tools:')"
            )
    found: list[yaml.MappingNode | None] = []
    for key, what in ((SECTION_KEY, "tool names to tool entries"), (MCP_SECTION_KEY, "server names to servers")):
        section = keys[key][1] if key in keys else None
        if section is not None and not _is_null(section) and not isinstance(section, yaml.MappingNode):
            raise ConfigError(f"{display}:{_line(section)}: {key!r} must be a mapping of {what}")
        found.append(section if isinstance(section, yaml.MappingNode) else None)
    return found[0], found[1]


def _entry(key_node: yaml.Node, value_node: yaml.Node, path: Path, display: str) -> ToolEntry:
    name = _scalar(key_node)
    line = _line(key_node)
    if name is None:
        raise ConfigError(f"{display}:{line}: a tool name must be a plain string, got {_node_kind(key_node)}")
    if reason := check_tool_name(name):
        raise ConfigError(f"{display}:{line}: {reason}")
    fields, lines, nodes = _fields(value_node, ENTRY_KEYS, display, line, f"tool {name!r}")
    if "function" in fields and "command" in fields:
        raise ConfigError(f"{display}:{lines['command']}: tool {name!r}: give either 'function' or 'command', not both")
    extra = next((k for k in COMMAND_ONLY_KEYS if k in fields and "command" not in fields), None)
    if extra is not None:
        raise ConfigError(f"{display}:{lines[extra]}: tool {name!r}: {extra!r} is only for tools with 'command:'")
    timeout = fields.get("timeout")
    return ToolEntry(
        name=name,
        file=path,
        display=display,
        line=line,
        description=fields.get("description"),
        parameters=fields.get("parameters"),
        function=fields.get("function"),
        timeout=None if timeout is None else float(timeout),
        command=fields.get("command"),
        stdin=fields.get("stdin"),
        cwd=fields.get("cwd"),
        env=fields.get("env"),
        allow_options=fields.get("allow_options"),
        ok_exit_codes=fields.get("ok_exit_codes"),
        confirm=fields.get("confirm"),
        lines=lines,
        parameters_node=nodes.get("parameters"),
    )


def _server(key_node: yaml.Node, value_node: yaml.Node, path: Path, display: str) -> McpServerEntry:
    name = _scalar(key_node)
    line = _line(key_node)
    if name is None or not TOOL_NAME_RE.match(name):
        raise ConfigError(
            f"{display}:{line}: invalid MCP server name {name!r}: names must match {TOOL_NAME_RE.pattern}"
        )
    fields, lines, _nodes = _fields(value_node, SERVER_KEYS, display, line, f"MCP server {name!r}")
    where = f"{display}:{line}: MCP server {name!r}"
    if ("command" in fields) == ("url" in fields):
        raise ConfigError(f"{where}: give either 'command' (a local server over stdio) or 'url' (streamable HTTP)")
    kind, others = ("url", ("args", "env", "cwd")) if "url" in fields else ("command", ("headers",))
    for key in (k for k in others if k in fields):
        raise ConfigError(f"{display}:{lines[key]}: MCP server {name!r}: {key!r} does not go with {kind!r}")
    return McpServerEntry(name=name, file=path, display=display, line=line, values=fields, lines=lines)


def _fields(
    value_node: yaml.Node, allowed: Sequence[str], display: str, line: int, what: str
) -> tuple[dict[str, Any], dict[str, int], dict[str, yaml.Node]]:
    """(checked values, line of each key, node of each value) of one entry's mapping."""
    if not isinstance(value_node, yaml.MappingNode):
        raise ConfigError(
            f"{display}:{line}: {what}: expected a mapping with keys {', '.join(allowed)}, got {_node_kind(value_node)}"
        )
    fields: dict[str, Any] = {}
    lines: dict[str, int] = {}
    nodes: dict[str, yaml.Node] = {}
    for k_node, v_node in value_node.value:
        key = _scalar(k_node)
        key_where = f"{display}:{_line(k_node)}: {what}"
        if key is None or key not in allowed:
            raise ConfigError(
                f"{key_where}: unknown key {key!r}{_suggest(key, allowed)}; allowed: {', '.join(allowed)}"
            )
        if key in fields:
            raise ConfigError(f"{key_where}: key {key!r} is given twice")
        lines[key] = _line(k_node)
        nodes[key] = v_node
        fields[key] = _checked(key, _construct(v_node, display), key_where, v_node, allowed is SERVER_KEYS)
    return fields, lines, nodes


def _checked(key: str, value: Any, where: str, node: yaml.Node, server: bool) -> Any:
    """``value`` in its normal form (lists of strings as tuples, numbers as floats); a ConfigError if wrong."""
    if key in ("timeout", "startup_timeout"):
        return _seconds(key, value, where)
    if key == "parameters":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: 'parameters' must be a JSON Schema mapping, got {_node_kind(node)}")
        if problem := _not_json(value, ()):
            raise ConfigError(f"{where}: 'parameters' must be plain JSON: {problem}")
        return value
    if key == "function" and (not isinstance(value, str) or ":" not in value.strip(":")):
        raise ConfigError(f"{where}: 'function' must be 'module:callable' or 'path/to/file.py:callable', got {value!r}")
    if key == "confirm":
        return _confirm(value, where, node, server)
    if key == "allow_options":
        return value if isinstance(value, bool) else _string_list(key, value, where, node)
    if key == "ok_exit_codes":
        return _exit_codes(value, where, node)
    if key in ("env", "headers"):
        return _string_map(key, value, where, node)
    if key in ("args", "include", "exclude") or (key == "command" and not server):
        items = _string_list(key, value, where, node)
        if key == "command" and not items:
            raise ConfigError(f"{where}: 'command' must not be empty: give the program and its arguments")
        return items
    non_empty = key in ("cwd", "url", "command")
    if not isinstance(value, str) or (non_empty and not value.strip()):
        raise ConfigError(
            f"{where}: {key!r} must be a {'non-empty ' if non_empty else ''}string, got {_node_kind(node)}"
        )
    return value


def _seconds(key: str, value: Any, where: str) -> float:
    """A timeout: a positive, finite number of seconds (.inf and 1e300 overflow the clocks)."""
    from crazycall.settings import check_number

    if reason := check_timeout(value):
        raise ConfigError(f"{where}: {reason.replace('timeout', key, 1)}")
    if reason := check_number("tool_timeout", value):
        raise ConfigError(f"{where}: {key} {reason}")
    return float(value)


def _confirm(value: Any, where: str, node: yaml.Node, server: bool) -> Any:
    if isinstance(value, bool):
        return value
    if server and isinstance(value, list):
        return _string_list("confirm", value, where, node)
    also = " or a list of the server's tool names" if server else ""
    raise ConfigError(f"{where}: 'confirm' must be true or false{also}, got {_node_kind(node)}")


def _exit_codes(value: Any, where: str, node: yaml.Node) -> tuple[int, ...]:
    """A non-empty list of exit statuses, each an integer 0-255."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: 'ok_exit_codes' must be a non-empty list of exit statuses, got {_node_kind(node)}")
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 255:
            raise ConfigError(f"{where}: 'ok_exit_codes' item {i} must be an integer from 0 to 255, got {item!r}")
    return tuple(value)


def _string_list(key: str, value: Any, where: str, node: yaml.Node) -> tuple[str, ...]:
    """A list of strings; numbers are accepted and kept as written (``[sleep, 5]``)."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key!r} must be a list of strings, got {_node_kind(node)}")
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigError(f"{where}: {key!r} item {i} must be a string, got {item!r}")
    return tuple(item if isinstance(item, str) else str(item) for item in value)


def _string_map(key: str, value: Any, where: str, node: yaml.Node) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be a mapping of names to strings, got {_node_kind(node)}")
    out: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or (key == "env" and not _ENV_NAME.match(name)):
            raise ConfigError(f"{where}: {key!r} has an invalid name {name!r}")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigError(f"{where}: {key}.{name} must be a string, got {item!r}")
        out[name] = item if isinstance(item, str) else str(item)
    return out


def _not_json(value: Any, path: tuple[str | int, ...]) -> str | None:
    """Why a constructed YAML value is not plain JSON (dates, non-string keys, ...), or None."""
    from crazycall.tools.schema import json_path

    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{json_path(path)} has a non-string key {k!r}"
            if problem := _not_json(v, (*path, k)):
                return problem
        return None
    if isinstance(value, list):
        return next((p for i, v in enumerate(value) if (p := _not_json(v, (*path, i)))), None)
    if value is None or isinstance(value, (str, int, float, bool)):
        return None
    return f"{json_path(path)} is a {type(value).__name__} (quote it to make it a string)"


def _construct(node: yaml.Node, display: str) -> Any:
    """The Python value of one node, built with the safe constructor."""
    return yaml_read.construct(node, display)


def _child(node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
    """(line, node) of a mapping value (the line of its key) or of a list item."""
    if isinstance(node, yaml.MappingNode):
        return next(((_line(k), v) for k, v in node.value if _scalar(k) == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return _line(item), item
    return None


_scalar = yaml_read.scalar
_is_null = yaml_read.is_null
_line = yaml_read.line
_node_kind = yaml_read.kind


def _suggest(key: str | None, allowed: Sequence[str] = ENTRY_KEYS) -> str:
    return yaml_read.suggest(key, allowed)

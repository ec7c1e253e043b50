"""Reading a tools.yaml file into ``ToolEntry`` records that remember their line numbers.

Format (the repository's own ``tools.yaml`` is a working example)::

    get_weather:                          # tool name, ^[a-zA-Z0-9_-]{1,64}$ (PROTOCOLS.md §0)
      description: Current weather for a city
      parameters: {type: object, ...}     # JSON Schema of type object
      function: plugins/weather.py:get_weather   # or an importable module:callable
      timeout: 10                         # seconds, > 0 (optional)

The top level is a mapping of tool names to entries. The same mapping may instead sit under a top-level
``tools:`` key (``tools: {get_weather: {...}}``) so that other sections (``mcp_servers``, ...) can be added
later without breaking files: when a ``tools`` key is present the file is read in that sectioned form and
any other top-level key is an error; in the flat form ``tools`` is therefore not usable as a tool name.
An empty file declares no tools. Unknown keys are errors.

This module owns the YAML syntax and the line numbers (read from the composed node tree, so every message
names ``file:line``). It deliberately does not import functions, merge with plugins or check schemas against
the meta-schema: ``loader.py`` does, and asks ``ToolEntry.line_of`` where a schema problem sits.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crazycall.errors import ConfigError
from crazycall.tools.decorator import check_timeout, check_tool_name

ENTRY_KEYS = ("description", "parameters", "function", "timeout")
SECTION_KEY = "tools"


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


def read_tools_file(path: Path, display: str) -> list[ToolEntry]:
    """Parse one tools.yaml file; every problem is a ConfigError naming ``display:line``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"tools file not found: {display}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read the tools file: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        # PyYAML reads "context, problem": "expected a single document in the stream, but found another document"
        detail = ", ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {detail}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{display}: invalid YAML: {exc}") from None
    if root is None or _is_null(root):
        return []
    tools = _tools_mapping(root, display)
    entries: dict[str, ToolEntry] = {}
    for key_node, value_node in tools.value if tools is not None else []:
        entry = _entry(key_node, value_node, path, display)
        if entry.name in entries:
            first = entries[entry.name]
            raise ConfigError(
                f"{entry.source}: tool {entry.name!r} is defined twice in this file (first at {first.source})"
            )
        entries[entry.name] = entry
    return list(entries.values())


def _tools_mapping(root: yaml.Node, display: str) -> yaml.MappingNode | None:
    """The mapping of tool entries: the root itself, or the value of a top-level ``tools:`` key."""
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(
            f"{display}:{_line(root)}: expected a mapping of tool names to tool entries, got {_node_kind(root)}"
        )
    keys = {_scalar(k): (k, v) for k, v in root.value}
    if SECTION_KEY not in keys:
        return root
    for key_node, _ in root.value:
        if _scalar(key_node) != SECTION_KEY:
            raise ConfigError(
                f"{display}:{_line(key_node)}: unknown top-level key {_scalar(key_node)!r}; "
                f"with a 'tools:' section the only top-level key is 'tools'"
            )
    section = keys[SECTION_KEY][1]
    if _is_null(section):
        return None
    if not isinstance(section, yaml.MappingNode):
        raise ConfigError(f"{display}:{_line(section)}: 'tools' must be a mapping of tool names to tool entries")
    return section


def _entry(key_node: yaml.Node, value_node: yaml.Node, path: Path, display: str) -> ToolEntry:
    name = _scalar(key_node)
    line = _line(key_node)
    if name is None:
        raise ConfigError(f"{display}:{line}: a tool name must be a plain string, got {_node_kind(key_node)}")
    if reason := check_tool_name(name):
        raise ConfigError(f"{display}:{line}: {reason}")
    where = f"{display}:{line}: tool {name!r}"
    if not isinstance(value_node, yaml.MappingNode):
        raise ConfigError(
            f"{where}: expected a mapping with keys {', '.join(ENTRY_KEYS)}, got {_node_kind(value_node)}"
        )
    fields: dict[str, Any] = {}
    lines: dict[str, int] = {}
    parameters_node: yaml.Node | None = None
    for k_node, v_node in value_node.value:
        key = _scalar(k_node)
        key_where = f"{display}:{_line(k_node)}: tool {name!r}"
        if key not in ENTRY_KEYS:
            raise ConfigError(f"{key_where}: unknown key {key!r}{_suggest(key)}; allowed: {', '.join(ENTRY_KEYS)}")
        if key in fields:
            raise ConfigError(f"{key_where}: key {key!r} is given twice")
        lines[key] = _line(k_node)
        fields[key] = _construct(v_node, display)
        if key == "parameters":
            parameters_node = v_node
        _check_field(key, fields[key], key_where, v_node)
    return ToolEntry(
        name=name,
        file=path,
        display=display,
        line=line,
        description=fields.get("description"),
        parameters=fields.get("parameters"),
        function=fields.get("function"),
        timeout=None if fields.get("timeout") is None else float(fields["timeout"]),
        lines=lines,
        parameters_node=parameters_node,
    )


def _check_field(key: str, value: Any, where: str, node: yaml.Node) -> None:
    if key == "description" and not isinstance(value, str):
        raise ConfigError(f"{where}: 'description' must be a string, got {_node_kind(node)}")
    if key == "function" and (not isinstance(value, str) or ":" not in value.strip(":")):
        raise ConfigError(f"{where}: 'function' must be 'module:callable' or 'path/to/file.py:callable', got {value!r}")
    if key == "timeout" and (reason := check_timeout(value)):
        raise ConfigError(f"{where}: {reason}")
    if key == "parameters":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: 'parameters' must be a JSON Schema mapping, got {_node_kind(node)}")
        problem = _not_json(value, ())
        if problem:
            raise ConfigError(f"{where}: 'parameters' must be plain JSON: {problem}")


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
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or node.start_mark
        raise ConfigError(f"{display}:{mark.line + 1}: invalid YAML value: {exc.problem or exc}") from None
    finally:
        loader.dispose()


def _child(node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
    """(line, node) of a mapping value (the line of its key) or of a list item."""
    if isinstance(node, yaml.MappingNode):
        return next(((_line(k), v) for k, v in node.value if _scalar(k) == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return _line(item), item
    return None


def _scalar(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) else None


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"


def _suggest(key: str | None) -> str:
    close = difflib.get_close_matches(key or "", ENTRY_KEYS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

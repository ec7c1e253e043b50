"""The tool registry: named tools with their spec, callable, source, timeout and approval flag.

Owns lookup, duplicate detection, argument validation (a jsonschema validator compiled once per tool) and the
call itself. A tool is one of three kinds: a Python function (called as ``func(**arguments)``), a command or an
MCP tool (both called through ``invoke(arguments, timeout)``, because they enforce the timeout themselves: a
command's process is killed, an MCP request is cancelled). Loading tools lives in ``loader.py``; running calls
concurrently with timeouts and approval lives in ``runner.py``. jsonschema is imported only when a call's
arguments are validated and the quick check (``quickcheck.py``) cannot vouch for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crazycall.conversation import ToolSpec
from crazycall.errors import ConfigError
from crazycall.settings import DEFAULT_TOOL_TIMEOUT as DEFAULT_TOOL_TIMEOUT  # re-exported for tool kinds

TOOL_KINDS = ("python", "command", "mcp")


def unknown_names(names: Iterable[str], known: Sequence[str], label: str = "; known") -> str | None:
    """``nope, Delete (did you mean 'delete'?); known: a, delete`` for the names not in ``known``, or None.

    The one wording of "that tool does not exist" for flags (--approve, --allow-tools, ...) and tools.yaml lists
    (an MCP server's include, exclude, confirm): a name that matches nothing must never be silently ignored.
    """
    import difflib

    missing = [n for n in dict.fromkeys(names) if n not in known]
    if not missing:
        return None
    parts = []
    for name in missing:
        close = [k for k in known if k.lower() == name.lower()] or difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name} (did you mean {close[0]!r}?)" if close else name)
    return f"{', '.join(parts)}{label}: {', '.join(known) or 'none'}"


class ToolFailed(Exception):
    """Raised by a tool to end its call in an error result whose text is exactly this message.

    Other exceptions become ``"TypeName: message"``; command and MCP tools raise this one so that the model
    reads "command exited with status 2: ..." rather than a Python class name.
    """


@dataclass
class Tool:
    spec: ToolSpec
    func: Callable[..., Any]
    source: str
    """Where the tool was defined, as ``path:line`` (shown by ``tools list`` and in duplicate errors)."""
    timeout: float | None = None
    """Seconds; None means the run's default."""
    confirm: bool = False
    """The user must approve each call (``confirm: true`` in tools.yaml, ``@tool(confirm=True)``)."""
    kind: str = "python"
    """One of ``TOOL_KINDS``: where the tool runs (shown by ``tools list``)."""
    function_source: str | None = None
    """``path:line`` of the Python function's ``def`` when ``source`` is a tools.yaml entry that names or refines it."""
    invoke: Callable[[Mapping[str, Any], float], Any] | None = field(default=None, repr=False, compare=False)
    """A call that enforces ``timeout`` itself (commands, MCP); None: ``func(**arguments)``."""
    _validator: Any = field(default=None, init=False, repr=False, compare=False)
    _quick: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def validator(self) -> Any:
        """The compiled jsonschema validator for this tool's parameters (built once)."""
        if self._validator is None:
            from jsonschema.validators import validator_for

            schema = dict(self.spec.parameters)
            cls = validator_for(schema)
            self._validator = cls(schema)
        return self._validator

    def validate(self, arguments: Mapping[str, Any]) -> list[str]:
        """Every schema violation of ``arguments`` as ``"$.path: message"``; empty when valid.

        Arguments that certainly fit a simple schema are let through by ``quickcheck`` (compiled once, like the
        validator) without importing jsonschema; jsonschema decides everything else and words every error.
        """
        if self._quick is None:
            from crazycall.tools.quickcheck import compile_check

            self._quick = compile_check(dict(self.spec.parameters)) or False
        if self._quick and self._quick(arguments):
            return []
        errors = sorted(self.validator().iter_errors(arguments), key=lambda e: list(e.absolute_path))
        return [f"{e.json_path}: {e.message}" for e in errors]

    def __call__(self, arguments: Mapping[str, Any], timeout: float | None = None) -> Any:
        """Run the tool. ``timeout`` reaches tools that enforce it themselves (default: the tool's own)."""
        if self.invoke is not None:
            return self.invoke(arguments, timeout or self.timeout or DEFAULT_TOOL_TIMEOUT)
        return self.func(**arguments)


class ToolRegistry:
    """An ordered set of tools with unique names."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self.left_out: list[dict[str, Any]] = []
        """Tools a source listed but that are not offered, each with its name, source and ``left_out`` reason."""
        for t in tools:
            self.add(t)

    def add(self, tool: Tool) -> None:
        existing = self._tools.get(tool.name)
        if existing is not None:
            raise ConfigError(
                f"tool {tool.name!r} is defined twice: {existing.source} and {tool.source}; rename one of them"
            )
        self._tools[tool.name] = tool

    def replace(self, tool: Tool) -> None:
        """Add or overwrite (used when tools.yaml overrides a plugin function of the same name)."""
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self._tools.values()]

    def names(self) -> list[str]:
        return list(self._tools)

    def restrict(self, allow: Iterable[str] | None = None, deny: Iterable[str] = ()) -> ToolRegistry:
        """A registry with only the allowed tools and none of the denied ones (unknown names are an error)."""
        allow_set = set(allow) if allow is not None else None
        deny_set = set(deny)
        for flag, names in (("--allow-tools", allow or ()), ("--deny-tools", deny)):
            if problem := unknown_names(names, self.names()):
                from crazycall.errors import UsageError

                raise UsageError(f"{flag}: unknown tool(s): {problem}")
        return ToolRegistry(
            t for n, t in self._tools.items() if (allow_set is None or n in allow_set) and n not in deny_set
        )

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

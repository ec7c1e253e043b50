"""The ``@tool`` decorator and the JSON Schema derived from a Python signature and docstring.

Owns the mapping from annotations to JSON Schema, the Google-style docstring reader and the tool-name rule.
It deliberately does not load files or build ``Tool`` objects (``loader.py`` does) and does not validate
arguments (``registry.py`` does). The decorator only attaches options: the schema is derived when the loader
asks for it (``spec_for``), so a plugin module's annotations may refer to names defined after the function.

Type rules (exact output in ``tests/unit/tools/test_decorator.py``)::

    str / int / float / bool     {"type": "string" | "integer" | "number" | "boolean"}
    list[T] (bare list)          {"type": "array", "items": <T>}   ({"type": "array"})
    dict[str, T] (bare dict)     {"type": "object", "additionalProperties": <T>}   ({"type": "object"})
    Literal["a", "b"]            {"type": "string", "enum": ["a", "b"]}  (type only when all values agree)
    Annotated[T, "text"]         <T> plus {"description": "text"}
    Optional[T], T | None        <T>, not required (top level only: null is not offered to the model)
    a default                    not required, recorded as "default" (a None default is not recorded)

A parameter documented in the docstring's ``Args:`` section gets that text as its description unless
``Annotated`` already gave one. Every derived schema has ``"additionalProperties": false``.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from crazycall.conversation import ToolSpec
from crazycall.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

#: PROTOCOLS.md §0: the portable subset of tool names every protocol accepts.
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
OPTIONS_ATTR = "__crazycall_tool__"

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_SUPPORTED = "str, int, float, bool, list[T], dict, Literal[...], Optional[T] or Annotated[T, 'description']"
_SECTION_RE = re.compile(r"^(Args|Arguments|Parameters|Returns?|Yields?|Raises|Examples?|Notes?|Attributes):\s*$")
_ARGS_HEADERS = ("Args:", "Arguments:", "Parameters:")
_ARG_RE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class ToolOptions:
    """What ``@tool(...)`` was given; None means "derive it from the function"."""

    name: str | None = None
    description: str | None = None
    timeout: float | None = None
    confirm: bool = False
    """Every call needs the user's approval (``--approve NAME``, ``--yes`` or a yes at the terminal)."""


def check_tool_name(name: str) -> str | None:
    """None when ``name`` is a valid tool name, else the reason (PROTOCOLS.md §0)."""
    if TOOL_NAME_RE.match(name):
        return None
    return f"invalid tool name {name!r}: names must match {TOOL_NAME_RE.pattern}"


def check_timeout(value: object) -> str | None:
    """None when ``value`` is a usable timeout (a number of seconds > 0), else the reason."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return f"timeout must be a number of seconds > 0, got {value!r}"
    return None


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None, confirm: bool = False
) -> Callable[[F], F]: ...
def tool(
    func: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    confirm: bool = False,
) -> Any:
    """Mark a function as a tool: ``@tool`` or ``@tool(name=..., description=..., timeout=..., confirm=...)``.

    Returns the function itself (still callable as before) with the options attached.
    """
    if name is not None and (reason := check_tool_name(name)):
        raise ConfigError(f"@tool(name=...): {reason}")
    if timeout is not None and (reason := check_timeout(timeout)):
        raise ConfigError(f"@tool(timeout=...): {reason}")
    if not isinstance(confirm, bool):
        raise ConfigError(f"@tool(confirm=...): must be True or False, got {confirm!r}")
    seconds = None if timeout is None else float(timeout)
    options = ToolOptions(name=name, description=description, timeout=seconds, confirm=confirm)

    def mark(target: F) -> F:
        if not callable(target):
            raise ConfigError(f"@tool can only decorate a function, not {type(target).__name__}")
        if inspect.iscoroutinefunction(target):
            raise ConfigError(f"@tool: function {_qualname(target)!r} is async; tools must be plain functions")
        setattr(target, OPTIONS_ATTR, options)
        return target

    return mark if func is None else mark(func)


def options_of(func: object) -> ToolOptions | None:
    """The options ``@tool`` attached to ``func``, or None when it is not decorated."""
    options = getattr(func, OPTIONS_ATTR, None)
    return options if isinstance(options, ToolOptions) else None


def tool_name(func: Callable[..., Any]) -> str:
    """The tool name of a (possibly undecorated) function: ``@tool(name=...)`` or the function's name."""
    options = options_of(func)
    return options.name if options and options.name else getattr(func, "__name__", type(func).__name__)


def spec_for(func: Callable[..., Any], *, name: str | None = None) -> ToolSpec:
    """The ToolSpec of ``func``: name, description (decorator or docstring) and derived parameters."""
    _, arg_docs = parse_docstring(inspect.getdoc(func) or "")
    return ToolSpec(
        name=name or tool_name(func),
        description=description_for(func),
        parameters=derive_parameters(func, arg_docs),
    )


def description_for(func: Callable[..., Any]) -> str:
    """``@tool(description=...)``, else the first paragraph of the docstring (one line), else ""."""
    options = options_of(func)
    if options is not None and options.description is not None:
        return options.description
    return parse_docstring(inspect.getdoc(func) or "")[0]


def optional_without_default(func: Callable[..., Any]) -> list[str]:
    """Parameters typed Optional[T] without a default: the loader passes None when the model omits them."""
    sig = _signature(func)
    return [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty and _strip_none(_unwrap_annotated(p.annotation)[0])[1]
    ]


def derive_parameters(func: Callable[..., Any], arg_docs: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON Schema (type object) of ``func``'s parameters."""
    where = f"function {_qualname(func)!r}"
    sig = _signature(func)
    docs = dict(arg_docs or {})
    unknown = sorted(set(docs) - set(sig.parameters))
    if unknown:
        raise ConfigError(f"{where}: the docstring documents unknown parameter(s) {', '.join(unknown)}")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in sig.parameters.values():
        schema, is_required = _parameter_schema(param, f"{where}: parameter {param.name!r}")
        if "description" not in schema and param.name in docs:
            schema["description"] = docs[param.name]
        properties[param.name] = schema
        if is_required:
            required.append(param.name)
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    result["additionalProperties"] = False
    return result


def _parameter_schema(param: inspect.Parameter, where: str) -> tuple[dict[str, Any], bool]:
    if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        raise ConfigError(f"{where}: *args and **kwargs cannot be tool parameters")
    if param.kind is inspect.Parameter.POSITIONAL_ONLY:
        raise ConfigError(f"{where}: positional-only parameters cannot be tool parameters")
    if param.annotation is inspect.Parameter.empty:
        raise ConfigError(f"{where}: has no type annotation; use {_SUPPORTED}")
    annotation, description = _unwrap_annotated(param.annotation)
    annotation, optional = _strip_none(annotation)
    schema = _type_schema(annotation, where)
    if description is not None:
        schema["description"] = description
    has_default = param.default is not inspect.Parameter.empty
    if has_default and param.default is not None:
        schema["default"] = _json_default(param.default, where)
    return schema, not (has_default or optional)


def _type_schema(tp: Any, where: str) -> dict[str, Any]:
    """The schema of one (non-optional) annotation; nested Annotated descriptions are kept."""
    tp, description = _unwrap_annotated(tp)
    schema = _bare_type_schema(tp, where)
    if description is not None:
        schema["description"] = description
    return schema


def _bare_type_schema(tp: Any, where: str) -> dict[str, Any]:
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is list or (origin is list and not args):
        return {"type": "array"}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0], where)}
    if tp is dict or (origin is dict and not args):
        return {"type": "object"}
    if origin is dict:
        if args[0] is not str:
            raise ConfigError(f"{where}: dict keys must be str (JSON object keys), got {_type_name(args[0])}")
        return {"type": "object", "additionalProperties": _type_schema(args[1], where)}
    if origin is typing.Literal:
        return _literal_schema(args, where)
    raise ConfigError(f"{where}: unsupported type annotation {_type_name(tp)}; use {_SUPPORTED}")


def _literal_schema(values: tuple[Any, ...], where: str) -> dict[str, Any]:
    kinds = set()
    for value in values:
        # bool before int: True is an int, but "integer" would be the wrong type for it.
        kind = "boolean" if isinstance(value, bool) else _SCALARS.get(type(value))
        if kind is None:
            raise ConfigError(f"{where}: Literal values must be str, int, float or bool, got {value!r}")
        kinds.add(kind)
    schema: dict[str, Any] = {"type": kinds.pop()} if len(kinds) == 1 else {}
    schema["enum"] = list(values)
    return schema


def _unwrap_annotated(tp: Any) -> tuple[Any, str | None]:
    """``Annotated[T, "text", ...]`` -> (T, "text"); other metadata is ignored."""
    if typing.get_origin(tp) is typing.Annotated:
        texts = [m for m in tp.__metadata__ if isinstance(m, str)]
        return tp.__origin__, (" ".join(texts[0].split()) if texts else None)
    return tp, None


def _strip_none(tp: Any) -> tuple[Any, bool]:
    """``Optional[T]`` / ``T | None`` -> (T, True); a union of several non-None types stays as is."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(rest) < len(args):
            return rest[0], True
    return tp, False


def _json_default(value: Any, where: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: the default {value!r} is not a JSON value") from None


def _signature(func: Callable[..., Any]) -> inspect.Signature:
    where = f"function {_qualname(func)!r}"
    try:
        # eval_str resolves `from __future__ import annotations` strings in the function's module.
        return inspect.signature(func, eval_str=True)
    except (NameError, AttributeError, SyntaxError, TypeError) as exc:
        raise ConfigError(f"{where}: cannot resolve its annotations: {type(exc).__name__}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: has no inspectable signature: {exc}") from None


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph as one line, {parameter: description} from a Google-style ``Args:`` section)."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION_RE.match(line.strip()):
            break
        summary.append(line.strip())
    return " ".join(summary), _args_section(lines)


def _args_section(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    start = next((i for i, line in enumerate(lines) if line.strip() in _ARGS_HEADERS), None)
    if start is None:
        return docs
    # cleandoc cannot dedent a docstring whose first line is the header: then every entry counts as inside.
    header_indent = _indent(lines[start]) if start else -1
    entry_indent: int | None = None
    current: str | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= header_indent or (indent <= max(header_indent, 0) and _SECTION_RE.match(line.strip())):
            break
        match = _ARG_RE.match(line.strip())
        if match and (entry_indent is None or indent == entry_indent):
            entry_indent = indent
            current = match.group(1)
            docs[current] = match.group(2).strip()
        elif current is not None:
            docs[current] = f"{docs[current]} {line.strip()}".strip()
    return docs


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _qualname(func: object) -> str:
    return str(getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        plain = tp.__module__ in ("builtins", "typing")
        return tp.__qualname__ if plain else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")

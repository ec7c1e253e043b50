"""The eval cases file: YAML (through ``yaml_read``) or JSON lines, validated into ``EvalFile`` / ``EvalCase``.

Owns the file's vocabulary (a contract, README "Evaluating tool calling"): top-level ``models``, ``tools``,
``defaults`` and ``cases``; per case ``id``, ``prompt``, ``system``, ``expect``, ``mock``, ``max_turns``,
``repeat``; the ``expect`` keys (``calls``, ``no_calls``, ``text``, ``max_turns``). Every error is a
ConfigError worded ``FILE:LINE: cases[N].FIELD: ...`` (exit 3). Values are checked on plain Python data; a
map from field paths to lines (built from the YAML nodes, or the JSON line's number) says where each came
from. What the assertions mean is assertions.py's business.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crazycall.errors import ConfigError, UsageError

TOP_KEYS = ("models", "tools", "defaults", "cases")
CASE_KEYS = ("id", "prompt", "system", "expect", "mock", "max_turns", "repeat")
DEFAULT_KEYS = ("max_turns", "repeat")
EXPECT_KEYS = ("calls", "no_calls", "text", "max_turns", "output")
OUTPUT_KEYS = ("schema",)
CALL_KEYS = ("name", "arguments")
TEXT_KEYS = ("contains", "regex", "schema")
MATCHER_KEYS = ("regex", "schema", "any")
MAX_REPEAT = 1000

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class CallExpect:
    name: str
    arguments: Mapping[str, Any] | None = None
    """A subset of the arguments; a value may be ``{regex: ...}``, ``{schema: {...}}`` or ``{any: true}``."""


@dataclass(frozen=True)
class Expect:
    calls: tuple[CallExpect, ...] | None = None
    """None: not checked; ``()``: no call at all."""
    in_any_order: bool = False
    no_calls: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    regex: str | None = None
    schema: Mapping[str, Any] | None = None
    max_turns: int | None = None
    output_schema: Mapping[str, Any] | None = None
    """``output: {schema: ...}``: the run asks for a JSON answer as ``--schema`` does, and it must validate."""


@dataclass(frozen=True)
class EvalCase:
    id: str
    prompt: str
    expect: Expect = field(default_factory=Expect)
    system: str | None = None
    mock: Mapping[str, Any] = field(default_factory=dict)
    """Tool name -> the result returned instead of running the tool."""
    max_turns: int = 4
    repeat: int = 1
    line: int = 1


@dataclass(frozen=True)
class EvalFile:
    path: Path
    models: tuple[str, ...]
    tools: Path | None
    cases: tuple[EvalCase, ...]
    model_lines: tuple[int, ...] = ()
    """The line of each of ``models`` (for errors about a model)."""


class _Reader:
    """Checks plain values; ``lines`` maps a field path to its line in ``display``."""

    def __init__(self, display: str, lines: Mapping[Path_, int]) -> None:
        self.display, self.lines = display, lines

    def fail(self, path: Path_, message: str) -> ConfigError:
        at = path
        while at and at not in self.lines:
            at = at[:-1]
        line = self.lines.get(at, 1)
        return ConfigError(f"{self.display}:{line}: {_dotted(path)}: {message}")

    def mapping(self, value: Any, path: Path_, known: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping, got {_kind(value)}")
        for key in value:
            if key not in known:
                raise self.fail((*path, str(key)), f"unknown key; expected one of: {', '.join(known)}")
        return value

    def string(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"must be a non-empty string, got {_kind(value)}")
        return value

    def count(self, value: Any, path: Path_, top: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise self.fail(path, f"must be a whole number from 1 to {top}, got {_kind(value)}")
        return value

    def strings(self, value: Any, path: Path_) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list of strings, got {_kind(value)}")
        return tuple(self.string(item, (*path, i)) for i, item in enumerate(value))

    def regex(self, value: Any, path: Path_) -> str:
        import re

        text = self.string(value, path)
        try:
            re.compile(text)
        except re.error as exc:
            raise self.fail(path, f"invalid regular expression: {exc}") from None
        return text

    def schema(self, value: Any, path: Path_) -> Mapping[str, Any]:
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a JSON Schema object, got {_kind(value)}")
        try:
            validator_for(value).check_schema(dict(value))
        except SchemaError as exc:
            raise self.fail(path, f"invalid JSON Schema: {exc.message}") from None
        return value


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {json.dumps(value, default=str)[:60]}"


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "file"


# ---------------------------------------------------------------- cases


def _call(r: _Reader, value: Any, path: Path_) -> CallExpect:
    if isinstance(value, str):
        value = {"name": value}
    entry = r.mapping(value, path, CALL_KEYS)
    if "name" not in entry:
        raise r.fail(path, "a call needs a name")
    arguments = entry.get("arguments")
    if arguments is not None:
        r.mapping(arguments, (*path, "arguments"), [str(k) for k in arguments] if isinstance(arguments, dict) else [])
        for key, matcher in arguments.items():
            _matcher(r, matcher, (*path, "arguments", str(key)))
    return CallExpect(r.string(entry["name"], (*path, "name")), arguments)


def _matcher(r: _Reader, value: Any, path: Path_) -> None:
    """A mapping whose only key is regex/schema/any is a matcher (anything else is a literal value)."""
    if not (isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in MATCHER_KEYS):
        if isinstance(value, Mapping):
            for key, inner in value.items():
                _matcher(r, inner, (*path, str(key)))
        return
    key, inner = next(iter(value.items()))
    if key == "regex":
        r.regex(inner, (*path, "regex"))
    elif key == "schema":
        r.schema(inner, (*path, "schema"))
    elif inner is not True:
        raise r.fail((*path, "any"), "must be true")


def _calls(r: _Reader, value: Any, path: Path_) -> tuple[tuple[CallExpect, ...], bool]:
    in_any_order = False
    if isinstance(value, Mapping):
        r.mapping(value, path, ("in_order", "in_any_order"))
        if len(value) != 1:
            raise r.fail(path, "give exactly one of in_order, in_any_order")
        in_any_order = "in_any_order" in value
        path = (*path, next(iter(value)))
        value = next(iter(value.values()))
    if not isinstance(value, list):
        raise r.fail(path, f"must be a list of calls, got {_kind(value)}")
    return tuple(_call(r, item, (*path, i)) for i, item in enumerate(value)), in_any_order


def _expect(r: _Reader, value: Any, path: Path_) -> Expect:
    if value is None:
        return Expect()
    entry = r.mapping(value, path, EXPECT_KEYS)
    calls, any_order = _calls(r, entry["calls"], (*path, "calls")) if "calls" in entry else (None, False)
    no_calls = r.strings(entry["no_calls"], (*path, "no_calls")) if "no_calls" in entry else ()
    contains: tuple[str, ...] = ()
    regex, schema = None, None
    if "text" in entry:
        text_value = entry["text"]
        if isinstance(text_value, str):
            text_value = {"contains": [text_value]}
        text = r.mapping(text_value, (*path, "text"), TEXT_KEYS)
        if "contains" in text:
            contains = r.strings(text["contains"], (*path, "text", "contains"))
        if "regex" in text:
            regex = r.regex(text["regex"], (*path, "text", "regex"))
        if "schema" in text:
            schema = r.schema(text["schema"], (*path, "text", "schema"))
    turns = r.count(entry["max_turns"], (*path, "max_turns"), 1000) if "max_turns" in entry else None
    output = None
    if "output" in entry:
        out = r.mapping(entry["output"], (*path, "output"), OUTPUT_KEYS)
        if "schema" not in out:
            raise r.fail((*path, "output"), "output needs 'schema' (the JSON Schema the final answer must match)")
        output = _output_schema(r, out["schema"], (*path, "output", "schema"))
    return Expect(calls, any_order, no_calls, contains, regex, schema, turns, output)


def _output_schema(r: _Reader, value: Any, path: Path_) -> Mapping[str, Any]:
    """Checked as ``--schema`` checks its schema (local ``$ref`` only): it is sent to the model as well."""
    from crazycall import schema

    checked = r.schema(value, path)
    try:
        return schema.check(dict(checked), "schema")
    except UsageError as err:
        raise r.fail(path, str(err).removeprefix("schema").lstrip(": ")) from None


def _case(r: _Reader, value: Any, path: Path_, defaults: Mapping[str, int]) -> EvalCase:
    entry = r.mapping(value, path, CASE_KEYS)
    for key in ("id", "prompt"):
        if key not in entry:
            raise r.fail(path, f"a case needs {key!r}")
    mock = entry.get("mock")
    mock = {} if mock is None else mock
    r.mapping(mock, (*path, "mock"), [str(k) for k in mock] if isinstance(mock, dict) else [])
    system = r.string(entry["system"], (*path, "system")) if entry.get("system") is not None else None
    line = r.lines.get(path, 1)
    return EvalCase(
        id=r.string(str(entry["id"]) if isinstance(entry["id"], int) else entry["id"], (*path, "id")),
        prompt=r.string(entry["prompt"], (*path, "prompt")),
        expect=_expect(r, entry.get("expect"), (*path, "expect")),
        system=system,
        mock=dict(mock),
        max_turns=r.count(entry.get("max_turns", defaults["max_turns"]), (*path, "max_turns"), 1000),
        repeat=r.count(entry.get("repeat", defaults["repeat"]), (*path, "repeat"), MAX_REPEAT),
        line=line,
    )


def _top(r: _Reader, data: Any, path: Path) -> EvalFile:
    top = r.mapping(data, (), TOP_KEYS)
    models = r.strings(top.get("models", []), ("models",))
    tools = None
    if top.get("tools") is not None:
        tools = path.parent / r.string(top["tools"], ("tools",))
    defaults = {"max_turns": 4, "repeat": 1}
    for key, value in r.mapping(top.get("defaults") or {}, ("defaults",), DEFAULT_KEYS).items():
        defaults[key] = r.count(value, ("defaults", key), MAX_REPEAT if key == "repeat" else 1000)
    cases = top.get("cases")
    if not isinstance(cases, list) or not cases:
        raise r.fail(("cases",), f"must be a non-empty list of cases, got {_kind(cases)}")
    parsed = tuple(_case(r, value, ("cases", i), defaults) for i, value in enumerate(cases))
    seen: dict[str, int] = {}
    for i, case in enumerate(parsed):
        if case.id in seen:
            raise r.fail(("cases", i, "id"), f"duplicate case id {case.id!r} (first at cases[{seen[case.id]}])")
        seen[case.id] = i
    model_lines = tuple(r.lines.get(("models", i), r.lines.get(("models",), 1)) for i in range(len(models)))
    return EvalFile(path, models, tools, parsed, model_lines)


# ---------------------------------------------------------------- files


def _yaml_lines(node: Any, path: Path_, lines: dict[Path_, int]) -> None:
    import yaml

    from crazycall import yaml_read

    lines[path] = yaml_read.line(node)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = yaml_read.scalar(key) or str(key.value)
            where: Path_ = (*path, name)
            _yaml_lines(value, where, lines)
            lines[where] = yaml_read.line(key)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml_lines(item, (*path, i), lines)


def _read_jsonl(text: str, display: str) -> tuple[Any, dict[Path_, int]]:
    cases: list[Any] = []
    lines: dict[Path_, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"{display}:{number}: invalid JSON: {exc}") from None
        lines[("cases", len(cases))] = number
        cases.append(value)
    lines[("cases",)] = 1
    return {"cases": cases}, lines


def read_cases(path: Path, display: str | None = None) -> EvalFile:
    """Read and validate the cases file (``.jsonl`` / ``.ndjson``: one case per line; else YAML)."""
    from crazycall import yaml_read

    display = display or str(path)
    text = yaml_read.read_text(path, display, "eval cases file")
    if path.suffix in (".jsonl", ".ndjson"):
        data, lines = _read_jsonl(text, display)
    else:
        root = yaml_read.compose(text, display)
        if root is None:
            raise ConfigError(f"{display}:1: the eval cases file is empty; it needs a 'cases' list")
        lines = {}
        _yaml_lines(root, (), lines)
        data = yaml_read.construct(root, display)
    return _top(_Reader(display, lines), data, path)

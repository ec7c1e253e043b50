"""The smoke matrix: the default cases, ``--case MODEL[:PROTOCOL]`` and ``smoke.yaml``.

Owns what a case is (model, protocol, prompt, probe tool, expected marker), the four default cases (the
router's documented tool-call matrix), how ``--case`` is parsed, and reading ``smoke.yaml`` with every
problem reported as ``file:line``. The matrix is built in order: the defaults (unless ``--no-defaults`` or
``defaults: false``), then the file's cases (one with the same model and protocol replaces a default), then
``--case`` entries (added unless already present). Routing is ``crazycall.protocols.resolve_protocol``
with the user's routes. It does not run anything.

smoke.yaml::

    defaults: true               # keep the four built-in cases (default true)
    cases:
      - model: gpt-5.4
        protocol: responses      # optional: routed from the model name (and config routes) when absent
        prompt: What time is it in Asia/Tokyo?   # optional
        tool: get_time           # optional: the built-in probe, or an inline {name, description,
                                 #   parameters, result} tool
        marker: function_call    # optional: the protocol's success marker (implies the protocol)
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crazycall import yaml_read
from crazycall.conversation import ToolSpec
from crazycall.errors import ConfigError, UsageError
from crazycall.smoke.probe import MARKERS, PROBE_NAME, builtin_probes, default_prompt, inline_probe
from crazycall.tools.registry import Tool

DEFAULT_MATRIX = (
    ("gpt-5.4", "chat"),
    ("gpt-5.4", "responses"),
    ("claude-sonnet-4-6", "messages"),
    ("gemini-3-pro", "gemini"),
)
DEFAULT_FILE = "smoke.yaml"
CASE_KEYS = ("model", "protocol", "prompt", "tool", "marker")
TOOL_KEYS = ("name", "description", "parameters", "result")
TOP_KEYS = ("defaults", "cases")
_PROTOCOL_WORDS = (*MARKERS, "auto")


@dataclass(frozen=True)
class SmokeCase:
    model: str
    protocol: str
    prompt: str
    tool: Tool
    source: str = "default"
    """Where the case came from: ``default``, ``--case`` or ``smoke.yaml:LINE``."""

    @property
    def name(self) -> str:
        """The case's display and JUnit test name, e.g. ``gpt-5.4 [chat]``."""
        return f"{self.model} [{self.protocol}]"

    @property
    def marker(self) -> str:
        return MARKERS[self.protocol]

    @property
    def key(self) -> tuple[str, str]:
        return self.model, self.protocol


@dataclass(frozen=True)
class SmokeFile:
    cases: tuple[SmokeCase, ...]
    defaults: bool = True


def make_case(
    model: str, protocol: str, prompt: str | None = None, tool: Tool | None = None, source: str = ""
) -> SmokeCase:
    probe = tool or builtin_probes()[PROBE_NAME]
    return SmokeCase(model, protocol, prompt or default_prompt(probe), probe, source or "default")


def default_cases() -> list[SmokeCase]:
    return [make_case(model, protocol) for model, protocol in DEFAULT_MATRIX]


def _resolve(model: str, protocol: str | None, routes: Mapping[str, str]) -> str:
    from crazycall.protocols import resolve_protocol

    return resolve_protocol(model, protocol, routes)


def parse_case(spec: str, routes: Mapping[str, str] | None = None) -> SmokeCase:
    """``MODEL[:PROTOCOL]`` -> a case.

    A suffix of letters only is meant as a protocol, so an unknown one (``gpt-4.1:grpc``) is a usage error; a
    suffix with a digit or punctuation stays part of the model (``llama3:8b``). A model whose own name ends in
    letters after a colon is written with an explicit protocol: ``llama3:latest:auto``.
    """
    text = spec.strip()
    model, sep, suffix = text.rpartition(":")
    protocol: str | None = None
    if sep and suffix in _PROTOCOL_WORDS:
        protocol = suffix
    elif sep and (suffix.isalpha() or difflib.get_close_matches(suffix, _PROTOCOL_WORDS, n=1, cutoff=0.75)):
        close = difflib.get_close_matches(suffix.lower(), _PROTOCOL_WORDS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(
            f"--case {spec!r}: unknown protocol {suffix!r}{hint}; expected MODEL[:PROTOCOL] with PROTOCOL one of "
            f"{', '.join(_PROTOCOL_WORDS)} (when {':' + suffix!r} is part of the model name, add ':auto')"
        )
    else:
        model = text
    if not model:
        raise UsageError(f"--case {spec!r}: no model name; expected MODEL[:PROTOCOL], e.g. gpt-5.4:responses")
    try:
        resolved = _resolve(model, protocol, routes or {})
    except UsageError as err:
        raise UsageError(f"--case {spec!r}: {err}") from None
    return make_case(model, resolved, source="--case")


def build_matrix(
    specs: Sequence[str] = (),
    smoke_file: SmokeFile | None = None,
    *,
    no_defaults: bool = False,
    routes: Mapping[str, str] | None = None,
) -> list[SmokeCase]:
    """The cases to run, in order, without duplicates (see the module docstring for the rules)."""
    matrix: dict[tuple[str, str], SmokeCase] = {}
    if not no_defaults and (smoke_file is None or smoke_file.defaults):
        matrix.update((c.key, c) for c in default_cases())
    for case in smoke_file.cases if smoke_file else ():
        matrix[case.key] = case
    for spec in specs:
        case = parse_case(spec, routes)
        matrix.setdefault(case.key, case)
    if not matrix:
        raise UsageError("no smoke cases to run: add --case MODEL[:PROTOCOL] or cases in smoke.yaml")
    return list(matrix.values())


# ---------------------------------------------------------------- smoke.yaml


def find_smoke_file(path: Path | None, cwd: Path) -> tuple[Path, str] | None:
    """(path, display) of the file to read: ``--file``, else ./smoke.yaml when present, else None."""
    if path is None:
        default = cwd / DEFAULT_FILE
        return (default, DEFAULT_FILE) if default.is_file() else None
    try:
        display = str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        display = str(path)
    return path, display


def read_smoke_file(path: Path, display: str, routes: Mapping[str, str] | None = None) -> SmokeFile:
    """Parse smoke.yaml; every problem is a ConfigError naming ``display:line``."""
    text = yaml_read.read_text(path, display, "smoke file")
    root = yaml_read.compose(text, display)
    if root is None:
        raise ConfigError(f"{display}: the smoke file is empty; expected a mapping with a 'cases:' list")
    return _Reader(display, routes or {}).top(root)


_line = yaml_read.line
_kind = yaml_read.kind
_suggest = yaml_read.suggest


class _Reader:
    """Walks the composed node tree, so every message can name the line it is about."""

    def __init__(self, display: str, routes: Mapping[str, str]) -> None:
        self.display = display
        self.routes = routes

    def fail(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(f"{self.display}:{_line(node)}: {message}")

    def fields(self, node: yaml.Node, known: Sequence[str], what: str) -> dict[str, tuple[yaml.Node, Any]]:
        """A mapping node's keys -> (value node, constructed value); unknown or repeated keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping with keys {', '.join(known)}, got {_kind(node)}")
        out: dict[str, tuple[yaml.Node, Any]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or key not in known:
                hint = _suggest(str(key), known)
                raise self.fail(key_node, f"{what}: unknown key {key!r}{hint}; allowed: {', '.join(known)}")
            if key in out:
                raise self.fail(key_node, f"{what}: key {key!r} is given twice")
            out[key] = (value_node, self.construct(value_node))
        return out

    def construct(self, node: yaml.Node) -> Any:
        return yaml_read.construct(node, self.display)

    def string(self, entry: Mapping[str, tuple[yaml.Node, Any]], key: str, what: str) -> str | None:
        if key not in entry:
            return None
        node, value = entry[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, f"{what}: '{key}' must be a non-empty string, got {_kind(node)}")
        return value.strip()

    def top(self, root: yaml.Node) -> SmokeFile:
        entry = self.fields(root, TOP_KEYS, "the smoke file")
        defaults = True
        if "defaults" in entry:
            node, value = entry["defaults"]
            if not isinstance(value, bool):
                raise self.fail(node, f"'defaults' must be true or false, got {_kind(node)}")
            defaults = value
        if "cases" not in entry:
            raise self.fail(root, "the smoke file needs a 'cases:' list")
        cases_node = entry["cases"][0]
        if not isinstance(cases_node, yaml.SequenceNode):
            raise self.fail(cases_node, f"'cases' must be a list of cases, got {_kind(cases_node)}")
        seen: dict[tuple[str, str], SmokeCase] = {}
        for item in cases_node.value:
            case = self.case(item)
            if case.key in seen:
                first = seen[case.key].source
                raise ConfigError(f"{case.source}: case {case.name} is defined twice (first at {first})")
            seen[case.key] = case
        return SmokeFile(tuple(seen.values()), defaults)

    def case(self, node: yaml.Node) -> SmokeCase:
        where = f"case at line {_line(node)}"
        entry = self.fields(node, CASE_KEYS, where)
        model = self.string(entry, "model", where)
        if model is None:
            raise self.fail(node, f"{where}: 'model' is required")
        protocol = self.protocol(entry, model, where)
        tool = self.tool(entry["tool"][0], where) if "tool" in entry else None
        prompt = self.string(entry, "prompt", where)
        return make_case(model, protocol, prompt, tool, source=f"{self.display}:{_line(node)}")

    def protocol(self, entry: Mapping[str, tuple[yaml.Node, Any]], model: str, where: str) -> str:
        protocol = self.string(entry, "protocol", where)
        marker = self.string(entry, "marker", where)
        by_marker = {m: p for p, m in MARKERS.items()}
        if marker is not None and marker not in by_marker:
            node = entry["marker"][0]
            raise self.fail(node, f"{where}: unknown marker {marker!r}; one of {', '.join(by_marker)}")
        if protocol is None and marker is not None:
            protocol = by_marker[marker]
        try:
            resolved = _resolve(model, protocol, self.routes)
        except UsageError as err:
            raise self.fail(entry["protocol" if "protocol" in entry else "model"][0], f"{where}: {err}") from None
        if marker is not None and MARKERS[resolved] != marker:
            raise self.fail(
                entry["marker"][0],
                f"{where}: marker {marker!r} belongs to the {by_marker[marker]} protocol, but {model} is run on "
                f"{resolved} (marker {MARKERS[resolved]!r})",
            )
        return resolved

    def tool(self, node: yaml.Node, where: str) -> Tool:
        probes = builtin_probes()
        if isinstance(node, yaml.ScalarNode):
            if node.value in probes:
                return probes[node.value]
            raise self.fail(
                node,
                f"{where}: unknown probe tool {node.value!r}; use {', '.join(probes)} or define one inline "
                f"with keys {', '.join(TOOL_KEYS)}",
            )
        entry = self.fields(node, TOOL_KEYS, f"{where}: tool")
        name = self.string(entry, "name", where)
        if name is None:
            raise self.fail(node, f"{where}: an inline tool needs a 'name'")
        from crazycall.tools.decorator import check_tool_name

        if reason := check_tool_name(name):
            raise self.fail(entry["name"][0], f"{where}: {reason}")
        description = self.string(entry, "description", where) or ""
        parameters = self.parameters(entry, where)
        result = entry["result"][1] if "result" in entry else {"ok": True}
        spec = ToolSpec(name, description, parameters)
        return inline_probe(spec, result, f"{self.display}:{_line(node)}")

    def parameters(self, entry: Mapping[str, tuple[yaml.Node, Any]], where: str) -> dict[str, Any]:
        if "parameters" not in entry:
            return {"type": "object", "properties": {}}
        from crazycall.tools.schema import json_path, meta_schema_problem, structural_problem

        node, value = entry["parameters"]
        problem = structural_problem(value)
        if problem is None and isinstance(value, Mapping):
            problem = meta_schema_problem(value)
        if problem is not None:
            path, message = problem
            raise self.fail(node, f"{where}: tool parameters {json_path(path)}: {message}")
        return dict(value)

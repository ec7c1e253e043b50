"""Command tools: a tools.yaml entry with ``command:`` runs a program with the model's arguments, never a shell.

Rules (README "Command tools"):

- ``command`` is an argv list. ``{param}`` in an item is replaced by that argument, and the item stays exactly
  one argv item whatever the value holds (spaces, quotes, ``;``, ``$()``, newlines arrive literally, because no
  shell ever sees them). Strings go in as they are, other values as JSON (``3``, ``true``). ``{param...}``
  must be a whole item and expands a list argument to one item per element. An item whose placeholder names an
  optional argument the model left out is dropped (``--limit={limit}``). ``{{`` and ``}}`` are literal braces;
  any other brace is literal too (``awk '{print $1}'`` needs no escaping), but ``{name}`` must name a parameter.
- ``stdin: "{text}"`` feeds the rendered text; without it stdin is empty (a tool never reads the terminal).
- ``cwd`` and a program given as a path (``./bin/tool``) are relative to the tools.yaml file's folder; a bare
  program name is looked up on PATH when the tool is called. A missing program, like any failure at call time,
  is an error result for the model, not a failed run: a tools.yaml shared between machines still loads.
- ``env`` adds to the process environment; ``${NAME}`` in a value is read from the process environment when the
  tool is called (an unset one is an error result naming it, never its value); ``$$`` is a literal ``$``.
- A value that starts an argv item must not start with ``-`` (it would be an option: ``find {dir}`` with
  ``-delete``) unless ``allow_options`` names its parameter (or is ``true``); a value with a NUL character or
  that is not valid Unicode is refused too. Each is an error result naming the parameter (``check_values``).
- The tool's timeout kills the process and its whole process group; so does the end of the process itself
  (what it left running in the background is killed) and the end of the run (``processes.py``).
- The result is stdout (parsed as JSON when it is JSON; at most ``OUTPUT_LIMIT`` bytes kept). An exit status
  outside ``ok_exit_codes`` (default ``[0]``) is an error result carrying the last lines of stderr.

Without ``parameters:`` the schema is derived from the placeholders: each ``{p}`` a required string, each
``{p...}`` a required list of strings. This module does not read YAML (``yaml_file.py``) or check schemas
against the meta-schema (``loader.py``) or manage processes (``processes.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crazycall.errors import ConfigError
from crazycall.tools.processes import Capture, run_process
from crazycall.tools.registry import ToolFailed
from crazycall.tools.yaml_file import ToolEntry

OUTPUT_LIMIT = 1024 * 1024
STDERR_LINES = 20
STDERR_CHARS = 4000
_SHOWN = 40
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z0-9_-]+)(\.\.\.)?\}")
_ENV_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Ref:
    """A placeholder: the argument's name, and whether it spreads a list (``{name...}``)."""

    name: str
    spread: bool = False


Template = tuple[str | Ref, ...]


def parse_template(text: str) -> Template:
    """``"--city={city}"`` -> ``("--city=", Ref("city"))``; ``{{``/``}}`` become literal braces."""
    parts: list[str | Ref] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[pos : match.start()])
        token = match.group()
        parts.append(token[0] if token in ("{{", "}}") else Ref(match.group(1), bool(match.group(2))))
        pos = match.end()
    parts.append(text[pos:])
    merged: list[str | Ref] = []
    for part in parts:  # join neighbouring literals so a plain item is one string
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return tuple(merged)


def refs(template: Template) -> list[Ref]:
    return [p for p in template if isinstance(p, Ref)]


@dataclass(frozen=True)
class CommandSpec:
    argv: tuple[Template, ...]
    stdin: Template | None
    base: Path
    """The tools.yaml file's folder: a program given as a relative path is found from here."""
    cwd: Path
    env: Mapping[str, str]
    where: str
    """``tools.yaml:LINE: tool 'name'`` for messages."""
    allow_options: bool | frozenset[str] = False
    """Parameters whose whole-item values may start with ``-`` (True: every parameter)."""
    ok_exit_codes: frozenset[int] = frozenset({0})
    """Exit statuses that are a result, not an error (``grep``'s 1: no match)."""

    def allows_options(self, name: str) -> bool:
        return self.allow_options is True or (not isinstance(self.allow_options, bool) and name in self.allow_options)

    def placeholders(self) -> list[Ref]:
        found = [r for item in self.argv for r in refs(item)]
        return found + (refs(self.stdin) if self.stdin is not None else [])


def parse_command(entry: ToolEntry) -> CommandSpec:
    """The compiled command of a tools.yaml entry; placeholder misuse is a ConfigError at ``command:``."""
    where = f"{entry.where('command')}: tool {entry.name!r}"
    argv = tuple(parse_template(item) for item in entry.command or ())
    for item in argv:
        spread = [r for r in refs(item) if r.spread]
        if spread and len(item) != 1:
            raise ConfigError(f"{where}: {{{spread[0].name}...}} must be a whole argv item, not part of one")
    if argv and refs(argv[0]):
        raise ConfigError(f"{where}: the program (the first item of 'command') cannot hold a placeholder")
    stdin = parse_template(entry.stdin) if entry.stdin is not None else None
    if stdin is not None and any(r.spread for r in refs(stdin)):
        raise ConfigError(f"{entry.where('stdin')}: tool {entry.name!r}: 'stdin' cannot spread a list ({{name...}})")
    base = entry.file.parent
    cwd = Path(entry.cwd) if entry.cwd is not None else base
    allow = entry.allow_options if isinstance(entry.allow_options, bool) else frozenset(entry.allow_options or ())
    return CommandSpec(
        argv,
        stdin,
        base,
        cwd if cwd.is_absolute() else base / cwd,
        dict(entry.env or {}),
        where,
        allow,
        frozenset(entry.ok_exit_codes or (0,)),
    )


def derived_parameters(spec: CommandSpec) -> dict[str, Any]:
    """Each ``{p}`` a required string, each ``{p...}`` a required list of strings, in order of appearance."""
    properties: dict[str, Any] = {}
    for ref in spec.placeholders():
        schema = {"type": "array", "items": {"type": "string"}} if ref.spread else {"type": "string"}
        properties.setdefault(ref.name, schema)
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def check_placeholders(spec: CommandSpec, parameters: Mapping[str, Any]) -> None:
    """Every placeholder names a property; a spread one a property that is not declared as a non-array."""
    properties = parameters.get("properties") or {}
    for ref in spec.placeholders():
        if ref.name not in properties:
            known = ", ".join(properties) or "none"
            raise ConfigError(f"{spec.where}: placeholder {{{ref.name}}} is not a parameter (parameters: {known})")
        kind = properties[ref.name].get("type") if isinstance(properties[ref.name], Mapping) else None
        if ref.spread and kind not in (None, "array"):
            raise ConfigError(f"{spec.where}: {{{ref.name}...}} spreads a list but {ref.name!r} has type {kind!r}")


def command_tool(entry: ToolEntry, parameters: Mapping[str, Any] | None) -> tuple[CommandSpec, dict[str, Any]]:
    """(spec, parameters) for an entry: the given schema checked against the placeholders, or one derived."""
    spec = parse_command(entry)
    if parameters is None:
        parameters = derived_parameters(spec)
    else:
        check_placeholders(spec, parameters)
    properties = parameters.get("properties") or {}
    for name in sorted(spec.allow_options) if isinstance(spec.allow_options, frozenset) else ():
        if name not in properties:
            known = ", ".join(properties) or "none"
            raise ConfigError(
                f"{entry.where('allow_options')}: tool {entry.name!r}: 'allow_options' names {name!r}, "
                f"which is not a parameter (parameters: {known})"
            )
    return spec, dict(parameters)


# ---- running ----


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render(template: Template, arguments: Mapping[str, Any]) -> list[str] | None:
    """The argv items of one template (None when it names a missing argument: the item is dropped)."""
    if any(r.name not in arguments or arguments[r.name] is None for r in refs(template)):
        return None
    if len(template) == 1 and isinstance(template[0], Ref) and template[0].spread:
        value = arguments[template[0].name]
        return [_as_text(v) for v in value] if isinstance(value, list) else [_as_text(value)]
    return ["".join(p if isinstance(p, str) else _as_text(arguments[p.name]) for p in template)]


def expand_env(values: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """``${NAME}`` from ``environ``; an unset one is a ToolFailed that names it."""

    def one(key: str, text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            if match.group() == "$$":
                return "$"
            name = match.group(1)
            if name not in environ:
                raise ToolFailed(f"environment variable {name} is not set (needed by env {key} of this tool)")
            return environ[name]

        return _ENV_REF.sub(sub, text)

    return {key: one(key, text) for key, text in values.items()}


class CommandRunner:
    """Runs one command tool's process per call."""

    def __init__(self, spec: CommandSpec) -> None:
        self.spec = spec

    def __call__(self, **arguments: Any) -> Any:
        from crazycall.tools.registry import DEFAULT_TOOL_TIMEOUT

        return self.run(arguments, DEFAULT_TOOL_TIMEOUT)

    def run(self, arguments: Mapping[str, Any], timeout: float) -> Any:
        spec = self.spec
        check_values(spec, arguments)
        argv = [item for template in spec.argv for item in (render(template, arguments) or [])]
        env = {**os.environ, **expand_env(spec.env, os.environ)}
        program = executable(argv[0], env, spec.base)
        data = "".join(render(spec.stdin, arguments) or []) if spec.stdin is not None else None
        if not spec.cwd.is_dir():
            raise ToolFailed(f"cannot run {argv[0]}: the working directory {spec.cwd} does not exist")
        try:
            done = run_process(
                program, argv, None if data is None else data.encode(), spec.cwd, env, timeout, OUTPUT_LIMIT
            )
        except OSError as exc:
            raise ToolFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        if done.timed_out:
            raise ToolFailed(f"command timed out after {timeout:g} s and was killed: {argv[0]}{_tail(done.err)}")
        if done.returncode not in spec.ok_exit_codes:
            raise ToolFailed(f"{argv[0]} {_status(done.returncode)}{_tail(done.err)}")
        return _result(done.out)


def check_values(spec: CommandSpec, arguments: Mapping[str, Any]) -> None:
    """Refuse a value that would not arrive as plain text, or that would add an option (README "Command tools").

    An argv item that starts with a placeholder's value must not start with ``-`` unless ``allow_options`` lets
    that parameter: ``find {dir}`` with ``dir = "-delete"`` would otherwise run ``find -delete``. An item that
    starts with literal text (``--regexp={pattern}``) cannot be turned into another option.
    """
    for template in spec.argv:
        for ref in refs(template):
            for text in _values(ref, arguments):
                _check_text(ref.name, text, argv=True)
        for name, text in _leading(template, arguments):
            if text.startswith("-") and not spec.allows_options(name):
                shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
                raise ToolFailed(
                    f"argument {name!r} must not start with '-' (got {shown!r}): the program would read it "
                    f"as an option, and this tool does not allow options in {name!r}; "
                    f"send a value that does not start with '-' (a file name can be written as ./-name)"
                )
    for ref in refs(spec.stdin) if spec.stdin is not None else []:
        for text in _values(ref, arguments):
            _check_text(ref.name, text, argv=False)


def _values(ref: Ref, arguments: Mapping[str, Any]) -> list[str]:
    """The text(s) a placeholder puts into argv: one per element for ``{name...}``, none for a missing argument."""
    value = arguments.get(ref.name)
    if value is None:
        return []
    return [_as_text(v) for v in value] if ref.spread and isinstance(value, list) else [_as_text(value)]


def _leading(template: Template, arguments: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(parameter, text) for each argv item of ``template`` whose first character comes from a value."""
    if any(r.name not in arguments or arguments[r.name] is None for r in refs(template)):
        return []  # the item is dropped
    for part in template:
        if isinstance(part, str):
            return []  # literal text leads: the author decided what the item starts with
        texts = _values(part, arguments)
        if part.spread:
            return [(part.name, text) for text in texts]
        if texts[0]:
            return [(part.name, texts[0])]
    return []


def _check_text(name: str, text: str, argv: bool) -> None:
    if argv and "\0" in text:
        raise ToolFailed(f"argument {name!r} contains a NUL character, which no command-line argument can hold")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ToolFailed(f"argument {name!r} is not valid Unicode text (it holds an unpaired surrogate)") from None


def executable(program: str, env: Mapping[str, str], base: Path) -> str:
    """The program's path: a path relative to the tools.yaml folder, or a name found on PATH."""
    if os.sep in program or (os.altsep and os.altsep in program):
        path = Path(program)
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ToolFailed(f"command not found: {program} ({path} does not exist)")
        if not os.access(path, os.X_OK):
            raise ToolFailed(f"cannot run {program}: {path} is not executable")
        return str(path)
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise ToolFailed(f"command not found: {program!r} is not on PATH")
    return found


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _tail(err: Capture) -> str:
    lines = err.text().rstrip().splitlines()[-STDERR_LINES:]
    text = "\n".join(lines)[-STDERR_CHARS:]
    return f"; stderr:\n{text}" if text else ""


def _result(out: Capture) -> Any:
    text = out.text()
    if out.total > len(out.head):
        kept = len(out.head)
        return f"{text}\n[truncated: the command printed {out.total} bytes; the first {kept} were kept]"
    stripped = text.strip()
    if stripped:
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text.rstrip("\n")

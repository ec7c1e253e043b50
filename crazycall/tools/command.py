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
- The tool's timeout kills the process and its whole process group.
- The result is stdout (parsed as JSON when it is JSON; at most ``OUTPUT_LIMIT`` bytes kept). A nonzero exit is
  an error result carrying the last lines of stderr.

Without ``parameters:`` the schema is derived from the placeholders: each ``{p}`` a required string, each
``{p...}`` a required list of strings. This module does not read YAML (``yaml_file.py``) or check schemas
against the meta-schema (``loader.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from crazycall.errors import ConfigError
from crazycall.tools.registry import ToolFailed
from crazycall.tools.yaml_file import ToolEntry

OUTPUT_LIMIT = 1024 * 1024
STDERR_LINES = 20
STDERR_CHARS = 4000
TAIL_BYTES = 65536
_CHUNK = 65536
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
    return CommandSpec(argv, stdin, base, cwd if cwd.is_absolute() else base / cwd, dict(entry.env or {}), where)


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
        return spec, derived_parameters(spec)
    check_placeholders(spec, parameters)
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
        argv = [item for template in spec.argv for item in (render(template, arguments) or [])]
        env = {**os.environ, **expand_env(spec.env, os.environ)}
        program = executable(argv[0], env, spec.base)
        data = "".join(render(spec.stdin, arguments) or []) if spec.stdin is not None else None
        if not spec.cwd.is_dir():
            raise ToolFailed(f"cannot run {argv[0]}: the working directory {spec.cwd} does not exist")
        return run_process(program, argv, data, spec.cwd, env, timeout)


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


def run_process(
    program: str, argv: Sequence[str], data: str | None, cwd: Path, env: Mapping[str, str], timeout: float
) -> Any:
    """Run to completion or kill at ``timeout``; stdout (JSON-parsed when it is JSON) or a ToolFailed."""
    try:
        proc = subprocess.Popen(
            list(argv),
            executable=program,
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # its own process group, so a timeout kills its children too
        )
    except OSError as exc:
        raise ToolFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    out, err = _Capture(proc.stdout, OUTPUT_LIMIT), _Capture(proc.stderr, None)
    if data is not None:
        threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True).start()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise ToolFailed(f"command timed out after {timeout:g} s and was killed: {argv[0]}{_tail(err)}") from None
    finally:
        for capture in (out, err):
            if not capture.join(1.0):
                _kill(proc)  # a child left behind holds the pipe open: its group goes too
                capture.join(1.0)
    if proc.returncode != 0:
        raise ToolFailed(f"{argv[0]} {_status(proc.returncode)}{_tail(err)}")
    return _result(out)


def _feed(pipe: IO[bytes] | None, data: str) -> None:
    if pipe is None:
        return
    try:
        pipe.write(data.encode("utf-8"))
        pipe.close()
    except (BrokenPipeError, OSError):  # the program stopped reading: what it read is what it gets
        pass


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


class _Capture:
    """Reads one pipe in a thread: the first ``limit`` bytes (or, without a limit, the last TAIL_BYTES)."""

    def __init__(self, pipe: IO[bytes] | None, limit: int | None) -> None:
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: IO[bytes] | None) -> None:
        if pipe is None:
            return
        with pipe:
            while chunk := pipe.read1(_CHUNK) if hasattr(pipe, "read1") else pipe.read(_CHUNK):
                self.total += len(chunk)
                if self.limit is None:
                    self.tail += chunk
                    del self.tail[:-TAIL_BYTES]
                elif len(self.head) < self.limit:
                    self.head += chunk[: self.limit - len(self.head)]

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def text(self) -> str:
        data = bytes(self.head if self.limit is not None else self.tail)
        return data.decode("utf-8", errors="replace")


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _tail(err: _Capture) -> str:
    lines = err.text().rstrip().splitlines()[-STDERR_LINES:]
    text = "\n".join(lines)[-STDERR_CHARS:]
    return f"; stderr:\n{text}" if text else ""


def _result(out: _Capture) -> Any:
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

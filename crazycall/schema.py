"""The ``--schema`` contract of a final answer: loading a JSON Schema and judging an answer against it.

Owns three things other commands reuse (``chat /schema``, ``eval expect.output``): ``load`` (inline JSON, or a
JSON/YAML file read through THE YAML reader; an invalid JSON Schema is a usage error, exit 2, before anything
is sent), ``validate`` (the answer's text -> its parsed value and every violation with its JSON path) and
``correction`` (what the model is told when its answer does not validate). jsonschema is imported only here
and only when a schema is in use (start-up stays lazy). How each protocol asks for the schema is the request
builders' business (``RequestOptions.response_schema``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crazycall.errors import UsageError

_VALUE_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
MAX_VIOLATIONS = 20
"""More violations than this are summarised: the model needs the first few, not a flood."""


@dataclass(frozen=True)
class Checked:
    """One answer judged: ``value`` is the parsed JSON (None when the text is not JSON), ``violations`` is empty
    when the answer is valid."""

    value: Any
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def load(spec: str, *, flag: str = "--schema") -> dict[str, Any]:
    """The schema given as inline JSON (starting with ``{`` or ``[``) or as the path of a JSON or YAML file."""
    text = spec.strip()
    if text.startswith(("{", "[")):
        where = f"{flag} (inline JSON)"
        try:
            schema: Any = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{where} is not JSON: {exc}") from None
        except RecursionError:
            raise UsageError(f"{where} is nested too deeply") from None
    else:
        where = f"{flag} {spec}"
        schema = _read_file(Path(spec), where)
    return check(schema, where)


def _read_file(path: Path, where: str) -> Any:
    if not path.is_file():
        raise UsageError(f"{where}: no such file (give a JSON Schema inline, or a JSON or YAML file)")
    from crazycall.errors import ConfigError
    from crazycall.yaml_read import compose, construct, read_text

    try:  # JSON is YAML: one reader, with its size/depth/alias limits, for both
        root = compose(read_text(path, str(path), "schema file"), str(path))
        return construct(root, str(path)) if root is not None else None
    except ConfigError as exc:
        raise UsageError(f"{flag_of(where)}: {exc}") from None


def flag_of(where: str) -> str:
    return where.split(" ", 1)[0]


def check(schema: Any, where: str = "--schema") -> dict[str, Any]:
    """``schema`` itself, when it is a valid JSON Schema object (its own ``$schema`` dialect, else 2020-12)."""
    if not isinstance(schema, dict):
        raise UsageError(f"{where}: a JSON Schema must be an object, not {type(schema).__name__}")
    from jsonschema import exceptions, validators

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        at = "/" + "/".join(str(p) for p in exc.absolute_path) if exc.absolute_path else "the root"
        raise UsageError(f"{where} is not a valid JSON Schema at {at}: {exc.message}") from None
    _check_refs(schema, schema, where, ())
    return schema


def _check_refs(node: Any, root: Mapping[str, Any], where: str, path: tuple[str, ...]) -> None:
    """Every ``$ref`` is local and points somewhere: nothing is fetched, and validation cannot fail half-way."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _check_refs(item, root, where, (*path, str(i)))
        return
    if not isinstance(node, Mapping):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        at = _path(path)
        if not ref.startswith("#"):
            raise UsageError(f"{where}: $ref {ref!r} at {at}: only local references (#/...) are supported")
        if ref.startswith("#/") and not _resolves(root, ref[2:].split("/")):
            raise UsageError(f"{where}: $ref {ref!r} at {at} points to nothing in the schema")
    for key, value in node.items():
        if key not in _VALUE_KEYWORDS:  # data, not schemas: a "$ref" key in there is just a key
            _check_refs(value, root, where, (*path, str(key)))


def _resolves(root: Any, tokens: list[str]) -> bool:
    node = root
    for token in tokens:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return True


def validate(schema: Mapping[str, Any], text: str) -> Checked:
    """Parse ``text`` as JSON and validate it against ``schema`` (already ``check``-ed)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text.strip()[:80] or "(empty)"
        return Checked(None, (f"/: the answer is not a JSON document ({exc.msg} at character {exc.pos}): {shown}",))
    except ValueError as exc:  # a lone surrogate and kin
        return Checked(None, (f"/: the answer is not a JSON document: {exc}",))
    except RecursionError:
        return Checked(None, ("the answer is nested too deeply to read",))
    return Checked(value, violations(schema, value))


def violations(schema: Mapping[str, Any], value: Any) -> tuple[str, ...]:
    """Every violation of ``value`` as ``PATH: message`` (``/`` is the document itself), in document order."""
    from jsonschema import validators
    from referencing.exceptions import Unresolvable

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        errors = sorted(cls(schema).iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    except Unresolvable as exc:  # an anchor (#name) that names nothing: the schema's fault, not the answer's
        raise UsageError(f"--schema: cannot resolve a $ref: {exc}") from None
    found = [f"{_path(e.absolute_path)}: {e.message}" for e in errors[:MAX_VIOLATIONS]]
    if len(errors) > MAX_VIOLATIONS:
        found.append(f"... and {len(errors) - MAX_VIOLATIONS} more")
    return tuple(found)


def _path(parts: Any) -> str:
    return "/" + "/".join(str(p) for p in parts)


def correction(checked: Checked, attempt: int, allowed: int) -> str:
    """The user message that sends an invalid answer back: every violation with its path."""
    lines = "\n".join(f"- {v}" for v in checked.violations)
    return (
        f"Your final answer does not match the required JSON Schema (attempt {attempt} of {allowed + 1}). "
        f"Violations:\n{lines}\nAnswer again with only a JSON document that is valid against the schema."
    )

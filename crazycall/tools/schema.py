"""Checking a tool's ``parameters`` schema, and summarising it in one line for ``tools list``.

Two checks, both returning the first problem as ``(path inside the schema, message)`` so the caller can point
at the YAML line of the offending node:

- ``structural_problem``: fast, no jsonschema import (``tools list`` must start quickly). It checks the shape
  every protocol relies on: the root is ``type: object``, ``properties`` is a mapping of schemas, ``required``
  is a list of property names, ``type`` values are JSON Schema type names, nested schemas are mappings, and
  every ``$ref`` is local (``#/...``), points to a schema and does not loop back to itself without descending
  into the value (``a -> b -> a``, or ``allOf: [{$ref: '#'}]``: validating any call would never end).
- ``meta_schema_problem``: the full check against the JSON Schema meta-schema of the schema's own dialect
  (``validator_for``: ``$schema`` when given, else the latest draft).

It does not validate arguments against a schema (``registry.Tool.validate`` does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

SchemaPath = tuple[str | int, ...]
Problem = tuple[SchemaPath, str]

TYPE_NAMES = ("array", "boolean", "integer", "null", "number", "object", "string")
_SCHEMA_MAP_KEYS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_KEYS = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames")
_SCHEMA_LIST_KEYS = ("anyOf", "oneOf", "allOf", "prefixItems")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(path: Sequence[str | int]) -> str:
    """``("properties", "city", "type")`` -> ``$.properties.city.type`` (odd keys quoted, indexes in [])."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def structural_problem(schema: object) -> Problem | None:
    """The first structural problem of a tool's parameters schema, or None."""
    if not isinstance(schema, Mapping):
        return (), f"must be a mapping (a JSON Schema object), got {_kind(schema)}"
    if schema.get("type") != "object":
        return ("type",), f"the root of a tool's parameters must have type 'object', got {schema.get('type')!r}"
    return _subschema_problem(schema, ()) or ref_problem(schema)


_IN_PLACE_KEYS = ("not", "if", "then", "else")
_IN_PLACE_LIST_KEYS = ("allOf", "anyOf", "oneOf")


def ref_problem(root: Mapping[str, Any]) -> Problem | None:
    """The first ``$ref`` that is not local, points to nothing, or loops without descending into the value.

    A loop is a cycle of schemas applied to the same value: ``$ref`` targets and ``allOf``/``anyOf``/``oneOf``/
    ``not``/``if``/``then``/``else`` members. A ``$ref`` reached through ``properties`` or ``items`` is
    ordinary recursion (a tree) and is fine: each step goes one level down a finite value.
    """
    where: dict[int, SchemaPath] = {}
    for path, sub in _walk(root, ()):
        where.setdefault(id(sub), path)
    for path, sub in _walk(root, ()):
        ref = sub.get("$ref")
        if ref is None:
            continue
        if not isinstance(ref, str) or (ref != "#" and not ref.startswith("#/")):
            return (*path, "$ref"), f"only local references ('#/...') are supported, got {ref!r}"
        if not isinstance(_pointer(root, ref), (Mapping, bool)):
            return (*path, "$ref"), f"{ref!r} does not point to a schema in this document"
    return _loop(root, where)


def _loop(root: Mapping[str, Any], where: dict[int, SchemaPath]) -> Problem | None:
    """A cycle of in-place applications, found by a depth-first search over schema objects."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start_path, start in _walk(root, ()):
        if id(start) in state:
            continue
        stack: list[tuple[Mapping[str, Any], Iterator[Mapping[str, Any]]]] = [(start, _in_place(root, start))]
        state[id(start)] = 1
        while stack:
            node, successors = stack[-1]
            nxt = next(successors, None)
            if nxt is None:
                state[id(node)] = 2
                stack.pop()
            elif state.get(id(nxt)) == 1:
                path = where.get(id(node), start_path)
                return (*path, "$ref" if "$ref" in node else "allOf"), (
                    "this schema refers back to itself without descending into the value (a $ref loop); "
                    "validating a call would never end"
                )
            elif id(nxt) not in state:
                state[id(nxt)] = 1
                stack.append((nxt, _in_place(root, nxt)))
    return None


def _in_place(root: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The schemas applied to the same value as ``schema``."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and isinstance(target := _pointer(root, ref), Mapping):
        yield target
    for key in _IN_PLACE_KEYS:
        if isinstance(schema.get(key), Mapping):
            yield schema[key]
    for key in _IN_PLACE_LIST_KEYS:
        for sub in schema.get(key) or ():
            if isinstance(sub, Mapping):
                yield sub
    if isinstance(schema.get("dependentSchemas"), Mapping):
        yield from (sub for sub in schema["dependentSchemas"].values() if isinstance(sub, Mapping))


def _pointer(root: Mapping[str, Any], ref: str) -> object:
    """The value a local JSON pointer (``#/a/b``) names, or None."""
    node: object = root
    for token in ref[2:].split("/") if ref != "#" else ():
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def _walk(schema: object, path: SchemaPath) -> Iterator[tuple[SchemaPath, Mapping[str, Any]]]:
    """Every schema object in ``schema`` (itself first) with its path; only where a structural check allows."""
    if not isinstance(schema, Mapping):
        return
    yield path, schema
    for key in _SCHEMA_KEYS:
        yield from _walk(schema.get(key), (*path, key))
    for key in _SCHEMA_MAP_KEYS:
        if isinstance(schema.get(key), Mapping):
            for name, sub in schema[key].items():
                yield from _walk(sub, (*path, key, name))
    for key in _SCHEMA_LIST_KEYS:
        if isinstance(schema.get(key), list):
            for i, sub in enumerate(schema[key]):
                yield from _walk(sub, (*path, key, i))


def _subschema_problem(schema: object, path: SchemaPath) -> Problem | None:
    if isinstance(schema, bool):  # true/false are schemas too (draft 6+)
        return None
    if not isinstance(schema, Mapping):
        return path, f"a schema must be a mapping, got {_kind(schema)}"
    return _keyword_problem(schema, path) or _children_problem(schema, path)


def _children_problem(schema: Mapping[str, Any], path: SchemaPath) -> Problem | None:
    """The first problem in the schemas nested under ``schema``'s keywords."""
    for key in _SCHEMA_KEYS:
        if key in schema and (problem := _subschema_problem(schema[key], (*path, key))):
            return problem
    for key in (k for k in _SCHEMA_MAP_KEYS if schema.get(k) is not None):
        value = schema[key]
        if not isinstance(value, Mapping):
            return (*path, key), f"{key!r} must be a mapping of names to schemas, got {_kind(value)}"
        for name, sub in value.items():
            if problem := _subschema_problem(sub, (*path, key, name)):
                return problem
    for key in (k for k in _SCHEMA_LIST_KEYS if schema.get(k) is not None):
        value = schema[key]
        if not isinstance(value, list) or not value:
            return (*path, key), f"{key!r} must be a non-empty list of schemas, got {value!r}"
        for i, sub in enumerate(value):
            if problem := _subschema_problem(sub, (*path, key, i)):
                return problem
    return None


def _keyword_problem(schema: Mapping[str, Any], path: SchemaPath) -> Problem | None:
    """Checks of the keywords that are not themselves schemas."""
    if "type" in schema:
        kind = schema["type"]
        names = kind if isinstance(kind, list) else [kind]
        bad = [n for n in names if n not in TYPE_NAMES]
        if bad or not names:
            return (*path, "type"), f"{kind!r} is not a JSON Schema type; use one of {', '.join(TYPE_NAMES)}"
    if "required" in schema:
        required = schema["required"]
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            return (*path, "required"), f"'required' must be a list of property names, got {required!r}"
        properties = schema.get("properties")
        missing = [r for r in required if isinstance(properties, Mapping) and r not in properties]
        if missing:
            return (*path, "required"), f"required names {missing} are not in 'properties'"
    if "enum" in schema and not isinstance(schema["enum"], list):
        return (*path, "enum"), f"'enum' must be a list, got {_kind(schema['enum'])}"
    if "description" in schema and not isinstance(schema["description"], str):
        return (*path, "description"), f"'description' must be a string, got {_kind(schema['description'])}"
    return None


def meta_schema_problem(schema: Mapping[str, Any]) -> Problem | None:
    """The problem jsonschema's meta-schema check finds (its best match), or None."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(dict(schema))
    except SchemaError as err:
        return tuple(err.path), err.message
    return None


def summarize(parameters: Mapping[str, Any]) -> str:
    """``city: string, unit?: celsius|fahrenheit``: one entry per property, ``?`` when optional."""
    properties = parameters.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return ""
    required = parameters.get("required")
    required_set = set(required) if isinstance(required, list) else set()
    return ", ".join(
        f"{name}{'' if name in required_set else '?'}: {_type_summary(sub)}" for name, sub in properties.items()
    )


def _type_summary(schema: object) -> str:
    if not isinstance(schema, Mapping):
        return "any"
    if isinstance(schema.get("enum"), list):
        return "|".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"array[{_type_summary(schema['items'])}]"
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return "|".join(_type_summary(s) for s in schema[key])
    return str(kind) if kind else "any"


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"

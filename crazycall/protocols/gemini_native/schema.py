"""JSON Schema -> Gemini's ``Schema`` proto, the OpenAPI subset sent as a function's ``parameters`` (§4.1).

Owns one pure conversion: keep the keys the proto knows, rewrite what has a close equivalent (``$ref`` inlined,
null unions to ``nullable``, type arrays to ``anyOf``, ``const`` to a one-value enum, enum values to strings,
``oneOf`` to ``anyOf``, simple ``allOf`` merged) and drop the rest, because any unknown key is a 400
(PROTOCOLS.md §4.1). It deliberately does not validate schemas (the tool registry validates arguments against
the original schema before a tool runs), so losing a constraint here only means the model is told less.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crazycall.errors import ConfigError

_TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
    "null": "NULL",
}
# The only formats the proto documents per type; others go into the description (the hint is kept).
_FORMATS = {"STRING": ("date-time", "enum"), "NUMBER": ("float", "double"), "INTEGER": ("int32", "int64")}
_TEXT_KEYS = ("title", "description", "pattern")
_NUMBER_KEYS = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
_NUMBER_KEYS_OBJECT = ("minProperties", "maxProperties")
_VALUE_KEYS = ("example", "default")
_PLAIN_OBJECT_KEYS = frozenset({"type", "properties", "required", "description", "title"})
_MAX_DEPTH = 100
_MAX_NODES = 20_000  # inlining $refs can multiply a schema; past this it is surely a mistake


def function_parameters(tool: str, schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``parameters`` for one function declaration, or None when the tool takes no arguments.

    An OBJECT without properties is a 400 ("should be non-empty for OBJECT type"), so a tool with no properties
    sends no ``parameters`` at all.
    """
    try:
        converted = to_gemini_schema(schema)
    except ConfigError as exc:
        raise ConfigError(f"tool {tool!r}: {exc}") from None
    declared = converted.get("type", "OBJECT")
    if declared != "OBJECT":
        raise ConfigError(f"tool {tool!r}: parameters must be a JSON Schema of type object, not {declared}")
    if not converted.get("properties"):
        return None
    converted.pop("nullable", None)
    return converted


def to_gemini_schema(schema: Any) -> dict[str, Any]:
    """Convert a JSON Schema (its ``$ref``s resolve against ``schema`` itself) to a Gemini ``Schema``."""
    return _Converter(schema).convert(schema, 0)


class _Converter:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.expanding = ["#"]  # the $refs being inlined on the current path (cycle guard); "#" is the root
        self.nodes = 0

    def convert(self, node: Any, depth: int) -> dict[str, Any]:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise ConfigError(f"schema has more than {_MAX_NODES} nodes once its $refs are inlined")
        if not isinstance(node, Mapping) or depth > _MAX_DEPTH:
            return {}  # true/false/junk: nothing the proto can say
        if isinstance(node.get("$ref"), str):
            return self._ref(node, depth)
        if "allOf" in node:
            return self._all_of(node, depth)
        return self._plain(node, depth)

    def _ref(self, node: Mapping[str, Any], depth: int) -> dict[str, Any]:
        ref: str = node["$ref"]
        target = self._lookup(ref)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if ref in self.expanding:
            # A recursive type: stop here with the target's bare type rather than recurse forever.
            kind = target.get("type")
            stub = {"type": kind} if isinstance(kind, str) else {}
            return self.convert({**stub, **siblings}, depth + 1)
        self.expanding.append(ref)
        try:
            return self.convert({**target, **siblings}, depth + 1)
        finally:
            self.expanding.pop()

    def _lookup(self, ref: str) -> Mapping[str, Any]:
        if ref != "#" and not ref.startswith("#/"):
            raise ConfigError(f"cannot inline $ref {ref!r}: only local references (#/...) are supported")
        node: Any = self.root
        for token in ref[2:].split("/") if ref != "#" else ():
            key = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise ConfigError(f"cannot resolve $ref {ref!r}")
        if not isinstance(node, Mapping):
            raise ConfigError(f"$ref {ref!r} does not point to a schema object")
        return node

    def _all_of(self, node: Mapping[str, Any], depth: int) -> dict[str, Any]:
        """allOf has no Gemini form: merge one member, or several plain object members; else drop it."""
        rest_node = {k: v for k, v in node.items() if k != "allOf"}
        rest = self.convert(rest_node, depth + 1)
        members = node["allOf"]
        if not isinstance(members, list):
            return rest
        parts = [self.convert(m, depth + 1) for m in members]
        if len(parts) == 1 or all(_is_plain_object(p) for p in parts):
            # ``required`` beside allOf may name properties that only the members declare.
            required = rest_node.get("required")
            names = [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
            return _merge([*parts, rest, {"required": names}])
        return rest

    def _plain(self, node: Mapping[str, Any], depth: int) -> dict[str, Any]:
        out, nullable = self._union(node, depth)
        types, type_nullable = _types(node.get("type"))
        nullable = nullable or type_nullable or node.get("nullable") is True
        _copy_simple(node, out)
        enum, enum_nullable = _enum(node)
        if enum:
            out["enum"], types = enum, ["STRING"]  # the proto takes string enums only (§4.6)
        nullable = nullable or enum_nullable
        if len(types) == 1:
            out["type"] = types[0]
        elif len(types) > 1 and "anyOf" not in out:
            out["anyOf"] = [{"type": t} for t in types]
        elif not types and "type" not in out and isinstance(node.get("properties"), Mapping):
            out["type"] = "OBJECT"
        self._object_keys(node, out, depth)
        self._array_keys(node, out, depth)
        _format(node, out)
        if nullable:
            out["nullable"] = True
        return out

    def _union(self, node: Mapping[str, Any], depth: int) -> tuple[dict[str, Any], bool]:
        """``anyOf`` (and ``oneOf``, whose exclusivity Gemini cannot say) with null branches made nullable."""
        branches = node.get("anyOf", node.get("oneOf"))
        if not isinstance(branches, list):
            return {}, False
        converted = [self.convert(b, depth + 1) for b in branches]
        kept = [c for c in converted if c.get("type") != "NULL"]
        nullable = len(kept) < len(converted)
        if len(kept) == 1:
            return dict(kept[0]), nullable
        return ({"anyOf": kept} if kept else {}), nullable

    def _object_keys(self, node: Mapping[str, Any], out: dict[str, Any], depth: int) -> None:
        if out.get("type", "OBJECT") != "OBJECT":
            for key in ("properties", "required", "propertyOrdering"):
                out.pop(key, None)  # "properties: only allowed for OBJECT type"
            return
        props = node.get("properties")
        if isinstance(props, Mapping):
            out["properties"] = {str(k): self.convert(v, depth + 1) for k, v in props.items()}
        for key in _NUMBER_KEYS_OBJECT:
            if _is_number(node.get(key)):
                out[key] = node[key]
        for key in ("required", "propertyOrdering"):
            names = node.get(key)
            if isinstance(names, list):
                out[key] = [n for n in names if isinstance(n, str)]
        _tidy_names(out)

    def _array_keys(self, node: Mapping[str, Any], out: dict[str, Any], depth: int) -> None:
        if out.get("type") not in (None, "ARRAY"):
            out.pop("items", None)
            return
        items = node.get("items")
        if isinstance(items, list) and items:  # old tuple form: any of the listed item schemas
            converted = [self.convert(i, depth + 1) for i in items]
            out["items"] = converted[0] if len(converted) == 1 else {"anyOf": converted}
        elif items is not None and not isinstance(items, list):
            out["items"] = self.convert(items, depth + 1)
        elif out.get("type") == "ARRAY" and "items" not in out:
            out["items"] = {}  # an ARRAY without items is a 400 "items: missing field"


def _types(value: Any) -> tuple[list[str], bool]:
    """Gemini type names for a JSON Schema ``type`` (string or array) and whether null was among them."""
    names = value if isinstance(value, list) else [value]
    mapped = [_TYPES[n.lower()] for n in names if isinstance(n, str) and n.lower() in _TYPES]
    non_null = list(dict.fromkeys(t for t in mapped if t != "NULL"))
    if not non_null and "NULL" in mapped:
        return ["NULL"], False
    return non_null, "NULL" in mapped


def _enum(node: Mapping[str, Any]) -> tuple[list[str], bool]:
    values = [node["const"]] if "const" in node else node.get("enum")
    if not isinstance(values, list):
        return [], False
    strings = [v if isinstance(v, str) else json.dumps(v) for v in values if v is not None]
    return list(dict.fromkeys(strings)), None in values


def _copy_simple(node: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key in _TEXT_KEYS:
        if isinstance(node.get(key), str):
            out[key] = node[key]
    for key in _NUMBER_KEYS:
        if _is_number(node.get(key)):
            out[key] = node[key]
    for key in _VALUE_KEYS:
        if key in node:
            out[key] = node[key]


def _format(node: Mapping[str, Any], out: dict[str, Any]) -> None:
    fmt = node.get("format")
    if not isinstance(fmt, str) or not fmt:
        return
    if fmt in _FORMATS.get(out.get("type", ""), ()):
        out["format"] = fmt
        return
    description = out.get("description")
    out["description"] = f"{description} (format: {fmt})" if description else f"format: {fmt}"


def _tidy_names(out: dict[str, Any]) -> None:
    """``required``/``propertyOrdering`` may only name declared properties (else a 400)."""
    props = out.get("properties") or {}
    for key in ("required", "propertyOrdering"):
        names = list(dict.fromkeys(n for n in out.pop(key, ()) if n in props))
        if names:
            out[key] = names


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_plain_object(schema: Mapping[str, Any]) -> bool:
    return schema.get("type", "OBJECT") == "OBJECT" and set(schema) <= _PLAIN_OBJECT_KEYS


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge converted schemas left to right: properties and required are unioned, other keys overridden."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                out["properties"] = {**out.get("properties", {}), **value}
            elif key == "required":
                out["required"] = list(dict.fromkeys([*out.get("required", []), *value]))
            else:
                out[key] = value
    if "properties" in out:
        out.setdefault("type", "OBJECT")
    _tidy_names(out)
    return out

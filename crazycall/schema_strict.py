"""``--strict``: a ``--schema`` rewritten to OpenAI's strict-mode rules (Chat Completions and Responses).

Strict mode (https://platform.openai.com/docs/guides/structured-outputs, "Supported schemas": every object
lists all its properties in ``required`` and sets ``additionalProperties: false``; a field that may be absent
is expressed as nullable instead) lets the router guarantee the shape. Optional properties become nullable,
so the answer is validated against the rewritten schema: ``null`` there means "absent".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "not", "additionalItems", "contains")


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``schema`` following strict-mode rules; the input is left untouched."""
    out: dict[str, Any] = _node(schema)
    return out


def _node(node: Any) -> Any:
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = dict(node)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), Mapping):
            out[key] = {name: _node(sub) for name, sub in out[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_node(sub) for sub in out[key]]
    for key in _SUBSCHEMA_ONE:
        if isinstance(out.get(key), Mapping):
            out[key] = _node(out[key])
    if _is_object(out):
        _close_object(out)
    return out


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _close_object(node: dict[str, Any]) -> None:
    """Every property required (the optional ones nullable) and no property beyond them."""
    properties: dict[str, Any] = dict(node.get("properties") or {})
    required = node.get("required") or []
    for name, sub in properties.items():
        if name not in required:
            properties[name] = nullable(sub)
    node["properties"] = properties
    node["required"] = list(properties)
    node["additionalProperties"] = False


def nullable(schema: Any) -> Any:
    """``schema`` that also accepts ``null`` (a type list where possible, else ``anyOf`` with null)."""
    if not isinstance(schema, Mapping):
        return schema
    kind = schema.get("type")
    if isinstance(kind, str) and "$ref" not in schema:
        out = {**schema, "type": [kind] if kind == "null" else [kind, "null"]}
    elif isinstance(kind, list) and "$ref" not in schema:
        out = {**schema, "type": kind if "null" in kind else [*kind, "null"]}
    else:
        return {"anyOf": [dict(schema), {"type": "null"}]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out

"""A quick yes for arguments that obviously fit a simple schema, so most runs never import jsonschema.

jsonschema costs about 60 ms to import, more than a whole tool round trip against a local router, and most
tool schemas (every schema ``@crazycall.tool`` derives) use a handful of keywords. ``compile_check`` turns such
a schema into a function that answers True only when the arguments certainly satisfy it; anything else, an
invalid argument or a keyword or value it does not model, answers False, and jsonschema then decides and
words the errors (``registry.Tool.validate``). So this module can make a run faster, never more lenient: a
property test holds every True it gives to jsonschema's verdict.

Modelled (with the default dialect, 2020-12; a schema naming ``$schema`` is left to jsonschema): ``type``,
``properties``, ``required``, ``additionalProperties``, ``items`` (one schema), ``enum`` (strings, numbers,
booleans and null), boolean schemas, and the annotations ``description``, ``title``, ``default``,
``examples`` and ``$comment``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment"})
_KEYWORDS = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "items", "enum"}
#: the Python types json.loads produces, and the JSON Schema types each certainly is (bool is not an integer,
#: and a float is left to jsonschema when the schema asks for an integer: 1.0 is one in 2020-12)
_TYPES: dict[type, frozenset[str]] = {
    str: frozenset({"string"}),
    int: frozenset({"integer", "number"}),
    float: frozenset({"number"}),
    bool: frozenset({"boolean"}),
    type(None): frozenset({"null"}),
    list: frozenset({"array"}),
    dict: frozenset({"object"}),
}
_ENUM_VALUE_TYPES = (str, int, float, bool, type(None))


def compile_check(schema: object) -> Check | None:
    """A check for ``schema``, or None when it uses anything this module does not model."""
    if not _modelled(schema):
        return None
    return lambda instance: _fits(schema, instance)


def _modelled(schema: object) -> bool:
    if isinstance(schema, bool):
        return True
    if type(schema) is not dict or not schema.keys() <= _KEYWORDS:
        return False
    kind = schema.get("type")
    if kind is not None and not _type_names(kind):
        return False
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    enum = schema.get("enum", [])
    return (
        type(properties) is dict
        and all(_modelled(sub) for sub in properties.values())
        and type(required) is list
        and all(type(name) is str for name in required)
        and _modelled(schema.get("additionalProperties", True))
        and _modelled(schema.get("items", True))
        and type(enum) is list
        and all(type(value) in _ENUM_VALUE_TYPES for value in enum)
    )


def _type_names(kind: object) -> frozenset[str] | None:
    names = [kind] if isinstance(kind, str) else kind
    if type(names) is not list or not names or not all(type(n) is str for n in names):
        return None
    return frozenset(names)


def _fits(schema: Any, instance: Any) -> bool:
    """True when ``instance`` certainly satisfies the (modelled) ``schema``."""
    if schema is True or schema is False:
        return bool(schema)
    types = _TYPES.get(type(instance))
    if types is None:
        return False  # not a plain JSON value: jsonschema knows best
    kind = schema.get("type")
    if kind is not None and not types & (_type_names(kind) or frozenset()):
        return False
    if "enum" in schema and not any(type(v) is type(instance) and v == instance for v in schema["enum"]):
        return False
    if type(instance) is dict:
        return _object_fits(schema, instance)
    if type(instance) is list and "items" in schema:
        return all(_fits(schema["items"], item) for item in instance)
    return True


def _object_fits(schema: Mapping[str, Any], instance: dict[Any, Any]) -> bool:
    if any(name not in instance for name in schema.get("required", ())):
        return False
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, value in instance.items():
        if type(name) is not str or not _fits(properties.get(name, extra), value):
            return False
    return True

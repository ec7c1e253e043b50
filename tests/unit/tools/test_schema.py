"""The fast structural schema check, the meta-schema check, JSON paths and the one-line summary."""

from __future__ import annotations

from typing import Any

import pytest

from crazycall.tools.schema import json_path, meta_schema_problem, structural_problem, summarize

TYPES = "array, boolean, integer, null, number, object, string"


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def test_json_path() -> None:
    assert json_path(()) == "$"
    assert json_path(("properties", "city", "type")) == "$.properties.city.type"
    assert json_path(("properties", "my-key", "enum", 0)) == "$.properties['my-key'].enum[0]"


@pytest.mark.parametrize(
    "schema",
    [
        obj(),
        {"type": "object"},
        obj(city={"type": "string"}, unit={"type": "string", "enum": ["c", "f"]}) | {"required": ["city"]},
        obj(tags={"type": "array", "items": {"type": ["string", "null"]}}),
        obj(any=True, none=False, x={"anyOf": [{"type": "string"}, {"type": "integer"}]}),
        obj(nested=obj(deep={"type": "number", "description": "d"})) | {"additionalProperties": False},
        {"type": "object", "$defs": {"p": {"type": "string"}}, "properties": {"p": {"$ref": "#/$defs/p"}}},
    ],
)
def test_valid_schemas_pass_both_checks(schema: dict[str, Any]) -> None:
    assert structural_problem(schema) is None
    assert meta_schema_problem(schema) is None


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ([], ((), "must be a mapping (a JSON Schema object), got a list")),
        ({"properties": {}}, (("type",), "the root of a tool's parameters must have type 'object', got None")),
        ({"type": "string"}, (("type",), "the root of a tool's parameters must have type 'object', got 'string'")),
        (
            obj(city={"type": "strin"}),
            (("properties", "city", "type"), f"'strin' is not a JSON Schema type; use one of {TYPES}"),
        ),
        (obj(city={"type": []}), (("properties", "city", "type"), f"[] is not a JSON Schema type; use one of {TYPES}")),
        (obj(city="string"), (("properties", "city"), "a schema must be a mapping, got str 'string'")),
        (
            {"type": "object", "properties": ["city"]},
            (("properties",), "'properties' must be a mapping of names to schemas, got a list"),
        ),
        (
            obj(city={"type": "string"}) | {"required": "city"},
            (("required",), "'required' must be a list of property names, got 'city'"),
        ),
        (
            obj(city={"type": "string"}) | {"required": ["town"]},
            (("required",), "required names ['town'] are not in 'properties'"),
        ),
        (obj(u={"enum": "c"}), (("properties", "u", "enum"), "'enum' must be a list, got str 'c'")),
        (obj(u={"description": 3}), (("properties", "u", "description"), "'description' must be a string, got int 3")),
        (
            obj(t={"type": "array", "items": {"type": "lst"}}),
            (("properties", "t", "items", "type"), f"'lst' is not a JSON Schema type; use one of {TYPES}"),
        ),
        (obj(x={"anyOf": []}), (("properties", "x", "anyOf"), "'anyOf' must be a non-empty list of schemas, got []")),
        (
            obj(x={"anyOf": [{"type": "string"}, 5]}),
            (("properties", "x", "anyOf", 1), "a schema must be a mapping, got int 5"),
        ),
    ],
)
def test_structural_problems(schema: Any, problem: tuple[Any, str]) -> None:
    assert structural_problem(schema) == problem


def test_meta_schema_finds_what_the_structural_check_does_not() -> None:
    schema = obj(n={"type": "integer", "minimum": "five"})
    assert structural_problem(schema) is None
    assert meta_schema_problem(schema) == (("properties", "n", "minimum"), "'five' is not of type 'number'")


def test_meta_schema_uses_the_declared_dialect() -> None:
    # draft-04 still had exclusiveMaximum as a boolean; 2020-12 (the default) wants a number
    schema = obj(n={"type": "integer", "maximum": 3, "exclusiveMaximum": True})
    assert meta_schema_problem(schema) == (("properties", "n", "exclusiveMaximum"), "True is not of type 'number'")
    assert meta_schema_problem(schema | {"$schema": "http://json-schema.org/draft-04/schema#"}) is None


def test_summarize() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "tags": {"type": "array", "items": {"type": "integer"}},
            "x": {"type": ["string", "null"]},
            "y": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "z": {},
        },
        "required": ["city", "tags"],
    }
    assert summarize(schema) == (
        "city: string, unit?: celsius|fahrenheit, tags: array[integer], x?: string|null, y?: string|number, z?: any"
    )
    assert summarize({"type": "object"}) == ""

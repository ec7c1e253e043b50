"""JSON Schema -> Gemini Schema proto (PROTOCOLS.md §4.1): nasty schemas in, exact output expected."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crazycall.errors import ConfigError
from crazycall.protocols.gemini_native.schema import function_parameters, to_gemini_schema

ALLOWED = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
}


def test_pydantic_style_model_with_defs_optional_fields_and_extras() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {
            "Unit": {"enum": ["c", "f"], "title": "Unit", "type": "string"},
            "Place": {
                "type": "object",
                "title": "Place",
                "properties": {"city": {"type": "string", "minLength": 1}, "country": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
        "type": "object",
        "properties": {
            "place": {"$ref": "#/$defs/Place", "description": "where"},
            "unit": {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}], "default": None},
            "days": {"type": "integer", "minimum": 1, "maximum": 7, "exclusiveMaximum": 8, "examples": [3]},
        },
        "required": ["place"],
        "additionalProperties": False,
    }
    assert to_gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "place": {
                "type": "OBJECT",
                "title": "Place",
                "description": "where",
                "properties": {"city": {"type": "STRING", "minLength": 1}, "country": {"type": "STRING"}},
                "required": ["city"],
            },
            "unit": {"type": "STRING", "enum": ["c", "f"], "title": "Unit", "default": None, "nullable": True},
            "days": {"type": "INTEGER", "minimum": 1, "maximum": 7},
        },
        "required": ["place"],
    }


def test_recursive_ref_is_cut_at_the_cycle() -> None:
    schema = {
        "type": "object",
        "properties": {"tree": {"$ref": "#/definitions/Node"}},
        "definitions": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
                },
            }
        },
    }
    node_once = {
        "type": "OBJECT",
        "properties": {"value": {"type": "INTEGER"}, "children": {"type": "ARRAY", "items": {"type": "OBJECT"}}},
    }
    assert to_gemini_schema(schema) == {"type": "OBJECT", "properties": {"tree": node_once}}


def test_ref_to_the_root_is_a_cycle_too() -> None:
    schema = {"type": "object", "properties": {"next": {"$ref": "#", "description": "linked"}}}
    assert to_gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {"next": {"type": "OBJECT", "description": "linked"}},
    }


def test_type_arrays() -> None:
    assert to_gemini_schema({"type": ["string", "null"], "maxLength": 5}) == {
        "type": "STRING",
        "maxLength": 5,
        "nullable": True,
    }
    assert to_gemini_schema({"type": ["string", "integer", "null"], "description": "id"}) == {
        "description": "id",
        "anyOf": [{"type": "STRING"}, {"type": "INTEGER"}],
        "nullable": True,
    }
    assert to_gemini_schema({"type": "null"}) == {"type": "NULL"}


def test_any_of_with_several_branches_and_null() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "number"}}, {"type": "null"}]}
    assert to_gemini_schema(schema) == {
        "anyOf": [{"type": "STRING"}, {"type": "ARRAY", "items": {"type": "NUMBER"}}],
        "nullable": True,
    }


def test_one_of_becomes_any_of() -> None:
    schema = {"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "boolean"}]}
    assert to_gemini_schema(schema) == {
        "anyOf": [{"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}, {"type": "BOOLEAN"}]
    }


def test_const_and_non_string_enums_become_string_enums() -> None:
    assert to_gemini_schema({"const": "fixed"}) == {"type": "STRING", "enum": ["fixed"]}
    assert to_gemini_schema({"const": 3, "description": "three"}) == {
        "type": "STRING",
        "enum": ["3"],
        "description": "three",
    }
    assert to_gemini_schema({"type": "integer", "enum": [1, 2, 2, None]}) == {
        "type": "STRING",
        "enum": ["1", "2"],
        "nullable": True,
    }
    assert to_gemini_schema({"enum": [True, 1.5, "x", {"k": 1}]}) == {
        "type": "STRING",
        "enum": ["true", "1.5", "x", '{"k": 1}'],
    }


def test_all_of_simple_objects_are_merged() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"$ref": "#/$defs/B"},
        ],
        "required": ["b", "ghost"],
        "description": "both",
        "$defs": {"B": {"type": "object", "properties": {"b": {"type": "number"}}}},
    }
    assert to_gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {"a": {"type": "STRING"}, "b": {"type": "NUMBER"}},
        "required": ["a", "b"],
        "description": "both",
    }


def test_all_of_single_member_wraps_a_ref_with_a_description() -> None:
    schema = {
        "type": "object",
        "properties": {"when": {"allOf": [{"$ref": "#/$defs/When"}], "description": "the moment"}},
        "$defs": {"When": {"type": "string", "format": "date-time"}},
    }
    assert to_gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {"when": {"type": "STRING", "format": "date-time", "description": "the moment"}},
    }


def test_all_of_that_cannot_be_merged_is_dropped() -> None:
    schema = {"description": "x", "allOf": [{"type": "string", "minLength": 2}, {"type": "string", "maxLength": 5}]}
    assert to_gemini_schema(schema) == {"description": "x"}


def test_formats_outside_the_proto_go_into_the_description() -> None:
    assert to_gemini_schema({"type": "string", "format": "email", "description": "Contact"}) == {
        "type": "STRING",
        "description": "Contact (format: email)",
    }
    assert to_gemini_schema({"type": "string", "format": "uri"}) == {"type": "STRING", "description": "format: uri"}
    assert to_gemini_schema({"type": "integer", "format": "int64"}) == {"type": "INTEGER", "format": "int64"}
    assert to_gemini_schema({"type": "number", "format": "double"}) == {"type": "NUMBER", "format": "double"}


def test_arrays() -> None:
    assert to_gemini_schema({"type": "array"}) == {"type": "ARRAY", "items": {}}
    assert to_gemini_schema({"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "minItems": 2}) == {
        "type": "ARRAY",
        "items": {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
        "minItems": 2,
    }
    assert to_gemini_schema({"type": "array", "items": True, "uniqueItems": True, "prefixItems": []}) == {
        "type": "ARRAY",
        "items": {},
    }
    assert to_gemini_schema({"type": "array", "items": []}) == {"type": "ARRAY", "items": {}}


def test_openapi_upper_case_types_are_understood() -> None:
    assert to_gemini_schema({"type": "OBJECT", "properties": {"n": {"type": "Integer"}}}) == {
        "type": "OBJECT",
        "properties": {"n": {"type": "INTEGER"}},
    }


def test_object_only_keys_are_dropped_from_other_types() -> None:
    schema = {"type": "string", "properties": {"a": {"type": "string"}}, "required": ["a"], "items": {"type": "string"}}
    assert to_gemini_schema(schema) == {"type": "STRING"}


def test_properties_without_type_imply_object_and_required_names_only_declared_properties() -> None:
    schema = {
        "properties": {"a": {"type": "boolean"}, "b": {}},
        "required": ["b", "a", "zzz", 5],
        "propertyOrdering": ["b", "a", "nope"],
        "minProperties": 1,
        "patternProperties": {"^x": {"type": "string"}},
        "dependentRequired": {"a": ["b"]},
        "unevaluatedProperties": False,
    }
    assert to_gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {"a": {"type": "BOOLEAN"}, "b": {}},
        "required": ["b", "a"],
        "propertyOrdering": ["b", "a"],
        "minProperties": 1,
    }


def test_openapi_style_input_is_kept() -> None:
    schema = {"type": "string", "nullable": True, "example": "Paris", "pattern": "^[A-Z]", "title": "City"}
    assert to_gemini_schema(schema) == {
        "type": "STRING",
        "nullable": True,
        "example": "Paris",
        "pattern": "^[A-Z]",
        "title": "City",
    }


def test_wrongly_typed_keywords_are_dropped() -> None:
    schema = {"type": 7, "description": ["x"], "minimum": "1", "maxLength": True, "required": "a", "enum": "a"}
    assert to_gemini_schema(schema) == {}


def test_function_parameters_none_without_properties() -> None:
    assert function_parameters("t", {"type": "object"}) is None
    assert function_parameters("t", {"type": "object", "properties": {}, "additionalProperties": False}) is None
    assert function_parameters("t", {}) is None


def test_function_parameters_root_is_an_object_and_never_nullable() -> None:
    schema = {"type": ["object", "null"], "properties": {"q": {"type": "string"}}}
    assert function_parameters("t", schema) == {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}


def test_function_parameters_rejects_a_non_object_root() -> None:
    with pytest.raises(
        ConfigError, match=r"^tool 'shout': parameters must be a JSON Schema of type object, not STRING$"
    ):
        function_parameters("shout", {"type": "string"})


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("#/$defs/Missing", "cannot resolve $ref '#/$defs/Missing'"),
        ("https://example.com/s.json", "only local references"),
        ("#/properties/a/type", "does not point to a schema object"),
    ],
)
def test_unusable_refs_are_config_errors_naming_the_tool(ref: str, message: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"$ref": ref}}}
    with pytest.raises(ConfigError) as info:
        function_parameters("weather", schema)
    assert str(info.value).startswith("tool 'weather': ")
    assert message in str(info.value)


def test_ref_with_escaped_pointer_tokens() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/a~1b~0c"}},
        "$defs": {"a/b~c": {"type": "integer"}},
    }
    assert to_gemini_schema(schema) == {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}}


def test_exponential_ref_fan_out_is_refused() -> None:
    defs: dict[str, Any] = {"L0": {"type": "string"}}
    for level in range(1, 12):
        defs[f"L{level}"] = {"type": "object", "properties": {k: {"$ref": f"#/$defs/L{level - 1}"} for k in "abcd"}}
    with pytest.raises(ConfigError, match="more than 20000 nodes"):
        function_parameters("bomb", {"$ref": "#/$defs/L11", "$defs": defs})


def test_input_schema_is_not_modified() -> None:
    schema = {"type": "object", "properties": {"a": {"type": ["string", "null"], "const": "x"}}, "required": ["a"]}
    before = repr(schema)
    to_gemini_schema(schema)
    assert repr(schema) == before


SCHEMA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=6)
    | st.sampled_from(["string", "object", "null", "#"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "properties",
                    "items",
                    "anyOf",
                    "oneOf",
                    "allOf",
                    "$ref",
                    "enum",
                    "const",
                    "required",
                    "format",
                    "description",
                    "$defs",
                    "a",
                    "nullable",
                    "minimum",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=25,
)


def _keys_allowed(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return True
    if not set(schema) <= ALLOWED:
        return False
    nested = [*schema.get("properties", {}).values(), *schema.get("anyOf", [])]
    if "items" in schema:
        nested.append(schema["items"])
    return all(_keys_allowed(n) for n in nested)


@settings(max_examples=400)
@given(schema=SCHEMA)
def test_any_input_gives_only_proto_keys_or_a_config_error(schema: Any) -> None:
    try:
        out = to_gemini_schema(schema)
    except ConfigError:
        return
    assert _keys_allowed(out)

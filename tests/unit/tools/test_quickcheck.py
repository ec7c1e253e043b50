"""quickcheck.py: its yes is always jsonschema's yes; the rest goes to jsonschema; most runs never import it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from crazycall.conversation import ToolSpec
from crazycall.tools.quickcheck import compile_check
from crazycall.tools.registry import Tool

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-3, 3),
    st.just(float("nan")),
    st.sampled_from(["", "a", "b"]),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=3),
    max_leaves=8,
)
TYPES = st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])


def _schema(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keyword = st.fixed_dictionaries(
        {},
        optional={
            "type": TYPES | st.lists(TYPES, min_size=1, max_size=3),
            "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
            "required": st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3, unique=True),
            "additionalProperties": children,
            "items": children,
            "enum": st.lists(JSON_SCALARS, min_size=1, max_size=3),
            "description": st.just("d"),
            "default": JSON_SCALARS,
        },
    )
    return keyword | st.booleans()


SCHEMAS: st.SearchStrategy[Any] = st.recursive(st.booleans() | st.just({}), _schema, max_leaves=6)


def jsonschema_says(schema: Any, instance: Any) -> bool:
    return bool(validator_for(schema)(schema).is_valid(instance))


TRICKY = [  # where Python's notions and JSON Schema's part ways
    ({"type": "integer"}, 2.5),
    ({"type": "integer"}, True),
    ({"type": "number"}, False),
    ({"type": ["string", "null"]}, 0),
    ({"enum": [1]}, True),
    ({"enum": [0]}, False),
    ({"enum": [1.5]}, 1),
    ({"enum": [float("nan")]}, float("nan")),
    ({"type": "object", "required": ["a"]}, {"b": 1}),
    ({"type": "object", "additionalProperties": False}, {"a": 1}),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}, {"a": "x", "b": "y"}),
    ({"type": "array", "items": {"type": "integer"}}, [1, "2"]),
    ({"items": False}, [None]),
    ({"type": "array"}, {"a": 1}),
]


@pytest.mark.parametrize(("schema", "instance"), TRICKY)
def test_no_yes_where_jsonschema_says_no(schema: Any, instance: Any) -> None:
    check = compile_check(schema)
    assert check is not None and not check(instance) and not jsonschema_says(schema, instance)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, instance=JSON)
def test_a_yes_is_always_jsonschemas_yes(schema: Any, instance: Any) -> None:
    check = compile_check(schema)
    assert check is not None  # every keyword drawn here is modelled
    if check(instance):
        assert jsonschema_says(schema, instance), (schema, instance)


def test_the_usual_tool_schema_is_answered_without_jsonschema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            "days": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    check = compile_check(schema)
    assert check is not None
    assert check({"city": "Paris"}) and check({"city": "Oslo", "unit": "fahrenheit", "days": 3, "tags": ["x"]})
    for bad in ({}, {"city": 1}, {"city": "P", "unit": "kelvin"}, {"city": "P", "x": 1}, {"city": "P", "tags": [1]}):
        assert not check(bad) and not jsonschema_says(schema, bad)
    # not certain, so jsonschema decides: 1.0 is an integer in 2020-12, True is not
    assert not check({"city": "P", "days": 1.0}) and jsonschema_says(schema, {"city": "P", "days": 1.0})
    assert not check({"city": "P", "days": True}) and not jsonschema_says(schema, {"city": "P", "days": True})


def test_what_it_does_not_model_is_left_to_jsonschema() -> None:
    schema: dict[str, Any]
    for schema in (
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}},
        {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"},
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "object", "properties": {"e": {"enum": [[1], {"a": 1}]}}},
        {"type": []},
    ):
        assert compile_check(schema) is None, schema


def test_validate_words_errors_as_jsonschema_does_either_way() -> None:
    plain = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    tool = Tool(ToolSpec("t", "", plain), func=lambda **kw: kw, source="x")
    assert tool.validate({"n": 2}) == []
    assert tool.validate({"n": "two"}) == ["$.n: 'two' is not of type 'integer'"]
    assert tool.validate({}) == ["$: 'n' is a required property"]
    bounded = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 5}}}
    tool = Tool(ToolSpec("t", "", bounded), func=lambda **kw: kw, source="x")
    assert tool.validate({"n": 2}) == ["$.n: 2 is less than the minimum of 5"]
    assert tool.validate({"n": 7}) == []


PROBE = """
import json, sys
from pathlib import Path
from crazycall.tools.loader import load_registry
registry = load_registry(plugin_paths=[Path(sys.argv[1])], entry_points=False)
problems = [registry.get("weather").validate(args) for args in json.loads(sys.argv[2])]
print(json.dumps({"problems": problems, "jsonschema": "jsonschema" in sys.modules}))
"""
PLUGIN = '''
import crazycall

@crazycall.tool
def weather(city: str, unit: str = "c") -> str:
    """Weather."""
    return city
'''


def probe(plugin: Path, *arguments: dict[str, Any]) -> Any:
    args = [sys.executable, "-c", PROBE, str(plugin), json.dumps(arguments)]
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60, cwd=plugin.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_run_with_python_tools_and_good_arguments_never_imports_jsonschema(tmp_path: Path) -> None:
    plugin = tmp_path / "tools.py"
    plugin.write_text(PLUGIN, encoding="utf-8")
    good = probe(plugin, {"city": "Paris"}, {"city": "Oslo", "unit": "f"})
    assert good == {"problems": [[], []], "jsonschema": False}
    # the control: a bad argument does bring jsonschema in, for its words
    expected = {"problems": [[], ["$.city: 3 is not of type 'string'"]], "jsonschema": True}
    assert probe(plugin, {"city": "Paris"}, {"city": 3}) == expected

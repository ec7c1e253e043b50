"""The offline router's deterministic model: tool selection, argument building, fragments, plans."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crazycall.offline.replies import (
    OfferedTool,
    SeenResult,
    TurnInput,
    build_arguments,
    named_tools,
    plan_turn,
    split_arguments,
    split_text,
)

from .support import PRODUCTS, TIME, WEATHER

TOOLS = (OfferedTool("get_weather", WEATHER), OfferedTool("get_time", TIME), OfferedTool("search_products", PRODUCTS))


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("What is the weather in Beijing?", ["get_weather"]),
        ("weather and time", ["get_weather", "get_time"]),
        ("What TIME is it, and the Weather?", ["get_time", "get_weather"]),
        ("Show me some products", ["search_products"]),
        ("one product please", ["search_products"]),
        ("Weathers today", ["get_weather"]),
        ("please run get_time", ["get_time"]),
        ("get me something to search", []),
        ("hello", []),
    ],
)
def test_named_tools(prompt: str, expected: list[str]) -> None:
    assert named_tools(prompt, TOOLS) == expected


def test_small_words_and_generic_verbs_do_not_name_a_tool() -> None:
    tools = [OfferedTool("add_to_cart", {}), OfferedTool("lookupUser", {})]
    assert named_tools("go to the shop and look it up", tools) == []
    assert named_tools("my cart, and the user", tools) == ["add_to_cart", "lookupUser"]


@pytest.mark.parametrize(
    ("schema", "prompt", "expected"),
    [
        (WEATHER, "What is the weather in New York?", {"city": "New York"}),
        (WEATHER, "What is the weather in Zürich today", {"city": "Zürich"}),
        (WEATHER, "weather please", {"city": "Paris"}),
        (WEATHER, "In the north, in Rome, is it raining?", {"city": "Rome"}),
        (TIME, "time in Asia/Tokyo", {"tz": "Asia/Tokyo"}),
        (TIME, "what time is it", {"tz": "UTC"}),
        (PRODUCTS, "Search products for red running shoes, cheap", {"query": "red running shoes", "max_price": 100}),
        (
            {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
            "cats and dogs!",
            {"q": "cats and dogs"},
        ),
    ],
)
def test_arguments_from_the_prompt(schema: dict[str, Any], prompt: str, expected: dict[str, Any]) -> None:
    assert build_arguments(schema, prompt) == expected


def test_arguments_by_type_and_preset() -> None:
    schema = {
        "type": "object",
        "properties": {
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 3, "default": 5},
            "limit": {"type": "integer", "minimum": 2},
            "count": {"type": "integer"},
            "ratio": {"type": "number"},
            "price": {"type": "number", "minimum": 7.5},
            "exact": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object", "properties": {"place": {"type": "string"}}, "required": ["place"]},
            "label": {"type": "string", "examples": ["first", "second"]},
            "note": {"type": ["string", "null"]},
            "when": {"type": "string", "format": "date"},
            "skipped": {"type": "string"},
        },
        "required": ["limit", "count", "ratio", "price", "exact", "tags", "where", "note", "when"],
    }
    assert build_arguments(schema, "weather in Lyon") == {
        "unit": "celsius",
        "days": 5,
        "limit": 2,
        "count": 1,
        "ratio": 1.5,
        "price": 7.5,
        "exact": True,
        "tags": ["example"],
        "where": {"place": "Lyon"},
        "label": "first",
        "note": "example",
        "when": "2024-01-01",
    }


def test_arguments_follow_refs_and_any_of() -> None:
    schema = {
        "type": "object",
        "$defs": {"Loc": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        "properties": {
            "loc": {"$ref": "#/$defs/Loc"},
            "max_price": {"anyOf": [{"type": "null"}, {"type": "number", "maximum": 50}]},
        },
        "required": ["loc", "max_price"],
    }
    assert build_arguments(schema, "in Oslo") == {"loc": {"city": "Oslo"}, "max_price": 50}
    assert build_arguments({}, "x") == {}


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ('{"city":"Beijing"}', ['{"ci', 'ty":"Bei', 'jing"}']),
        ('{"city":"Z\\u00fcrich"}', ['{"ci', 'ty":"Z\\u0', "0", 'fcrich"}']),
        ("{}", ["{", "}"]),
        ('{"n": 1}', ['{"', 'n": 1}']),
    ],
)
def test_split_arguments(raw: str, fragments: list[str]) -> None:
    assert split_arguments(raw) == fragments
    assert "".join(fragments) == raw


def test_split_text() -> None:
    text = 'Offline router: you said "a b c d e f g"'
    pieces = split_text(text)
    assert "".join(pieces) == text and len(pieces) >= 3
    assert split_text("ok") == ["o", "k"]
    assert split_text("x") == ["x"]
    assert split_text("") == []


def test_plan_parallel_chained_and_done() -> None:
    turn = TurnInput("weather and time", TOOLS, body_size=400)
    plan = plan_turn(turn)
    assert [c.name for c in plan.calls] == ["get_weather", "get_time"]
    assert plan.text == "Calling get_weather and get_time."
    assert (plan.input_tokens, plan.output_tokens, plan.forced) == (100, len(plan.text) // 4 + 20, False)
    chained = plan_turn(TurnInput("weather then time", TOOLS, results=(SeenResult("get_weather", "sun"),)))
    assert [c.name for c in chained.calls] == ["get_time"] and chained.text == ""
    done = (SeenResult("get_weather", "sun"), SeenResult("get_time", json.dumps({"h": 9}), is_error=True))
    final = plan_turn(TurnInput("weather and time", TOOLS, results=done))
    assert final.calls == () and final.text == 'get_weather returned sun. get_time failed with {"h": 9}.'
    assert plan_turn(turn, text_only=True).text == 'Offline router: you said "weather and time"'


def test_plan_choices() -> None:
    assert plan_turn(TurnInput("weather", TOOLS, choice="none")).calls == ()
    required = plan_turn(TurnInput("hello", TOOLS, choice="required"))
    assert [c.name for c in required.calls] == ["get_weather"] and required.forced
    forced = plan_turn(TurnInput("weather", TOOLS, choice="tool", forced="search_products"))
    assert [(c.name, c.arguments) for c in forced.calls] == [
        ("search_products", {"query": "weather", "max_price": 100})
    ]

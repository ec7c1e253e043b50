"""The repository's own tools.yaml and plugins/: they load, and the three example tools behave as documented."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crazycall.tools.loader import load_registry
from crazycall.tools.registry import Tool, ToolRegistry

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def registry() -> Iterator[ToolRegistry]:
    before = set(sys.modules)
    yield load_registry(cwd=REPO, entry_points=False)
    for name in set(sys.modules) - before:
        if name.startswith("crazycall_plugin_"):
            del sys.modules[name]


def get(registry: ToolRegistry, name: str) -> Tool:
    tool = registry.get(name)
    assert tool is not None, name
    return tool


def test_the_example_loads_with_full_schema_checks(registry: ToolRegistry) -> None:
    assert registry.names() == ["get_weather", "search_products", "get_time"]
    assert [t.source for t in registry] == ["tools.yaml:6", "tools.yaml:25", "tools.yaml:29"]
    assert [t.timeout for t in registry] == [10.0, None, 5.0]


def test_get_weather_schema_and_sample_data(registry: ToolRegistry) -> None:
    tool = get(registry, "get_weather")
    assert tool.spec.parameters["required"] == ["city"]
    assert tool.spec.parameters["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    celsius = tool({"city": "Beijing"})
    assert celsius == tool({"city": " beijing "}) | {"city": "Beijing"}  # deterministic, case-insensitive
    assert celsius["sample_data"] is True and celsius["unit"] == "celsius"
    fahrenheit = tool({"city": "Beijing", "unit": "fahrenheit"})
    assert fahrenheit["temperature"] == round(celsius["temperature"] * 9 / 5 + 32, 1)
    assert tool.validate({"city": "Beijing", "unit": "kelvin"}) == [
        "$.unit: 'kelvin' is not one of ['celsius', 'fahrenheit']"
    ]


def test_search_products_derives_its_schema_and_filters(registry: ToolRegistry) -> None:
    tool = get(registry, "search_products")
    assert tool.spec.parameters == {
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "description": 'Words to look for in the product name or category, e.g. "running shoes".',
            },
            "max_price": {"type": "number", "description": "Only return products at or below this price."},
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    result = tool({"query": "shoes", "max_price": 100})
    assert [p["id"] for p in result["results"]] == ["p-102", "p-100"]
    assert [p["id"] for p in tool({"query": "AUDIO"})["results"]] == ["p-201", "p-200"]
    assert tool({"query": "nothing-like-this"})["results"] == []


def test_get_time_computes_the_real_time(registry: ToolRegistry) -> None:
    tool = get(registry, "get_time")
    assert tool.spec.description == "Get the current date and time in an IANA time zone."
    assert tool.spec.parameters["properties"] == {
        "timezone": {"type": "string", "description": "IANA time zone name, e.g. Asia/Shanghai"}
    }
    result = tool({"timezone": "Asia/Shanghai"})
    assert (result["timezone"], result["utc_offset"], result["abbreviation"]) == ("Asia/Shanghai", "+08:00", "CST")
    moment = datetime.fromisoformat(result["datetime"])
    assert moment.utcoffset() == timedelta(hours=8)
    assert abs(moment - datetime.now(timezone.utc)) < timedelta(minutes=1)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../etc/passwd", ""])
def test_get_time_refuses_unknown_zones_clearly(registry: ToolRegistry, zone: str) -> None:
    with pytest.raises(ValueError) as info:
        get(registry, "get_time")({"timezone": zone})
    assert str(info.value) == (
        f"unknown time zone {zone!r}; use an IANA name such as 'Europe/Paris' or 'Asia/Shanghai'"
    )

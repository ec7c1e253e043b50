"""Every assertion kind, passing and failing, with the one-line reason it gives."""

from __future__ import annotations

from typing import Any

import pytest

from crazycall.eval.assertions import Made, check, match_value
from crazycall.eval.cases import CallExpect, Expect

WEATHER = Made("get_weather", {"city": "Beijing", "unit": "celsius"})
TIME = Made("get_time", {"timezone": "Europe/Paris"})


def reasons(expect: Expect, made: list[Made], text: str = "", turns: int = 1) -> list[str]:
    return [v.reason for v in check(expect, made, text, turns) if not v.passed]


def test_calls_in_order_pass_and_fail() -> None:
    expect = Expect(calls=(CallExpect("get_weather", {"city": "Beijing"}), CallExpect("get_time")))
    assert reasons(expect, [WEATHER, TIME]) == []
    assert reasons(expect, [TIME, WEATHER]) == ["call 1: expected get_weather, got get_time"]
    assert reasons(expect, [WEATHER]) == ["call 2: expected get_time, got no call"]
    assert reasons(expect, [WEATHER, TIME, TIME]) == ["3 calls made, 2 expected; extra: get_time"]


def test_no_calls_expected() -> None:
    assert reasons(Expect(calls=()), []) == []
    assert reasons(Expect(calls=()), [WEATHER]) == ["1 calls made, 0 expected; extra: get_weather"]


def test_calls_in_any_order() -> None:
    expect = Expect(
        calls=(CallExpect("get_time", {"timezone": "Europe/Paris"}), CallExpect("get_weather")), in_any_order=True
    )
    assert reasons(expect, [WEATHER, TIME]) == []
    assert reasons(expect, [WEATHER]) == ["get_time: not called"]
    wrong = Made("get_time", {"timezone": "Asia/Tokyo"})
    assert reasons(expect, [WEATHER, wrong]) == [
        'get_time: arguments.timezone: "Asia/Tokyo" does not match "Europe/Paris"'
    ]
    assert reasons(expect, [WEATHER, TIME, WEATHER]) == ["unexpected call(s): get_weather"]


@pytest.mark.parametrize(
    ("expected", "actual", "problem"),
    [
        ("Beijing", "Beijing", None),
        ("Beijing", "Peking", 'arguments.x: "Peking" does not match "Beijing"'),
        (1, 1.0, None),
        (True, 1, "arguments.x: 1 does not match true"),
        ({"regex": "^Bei"}, "Beijing", None),
        ({"regex": "^Bei"}, "Peking", 'arguments.x: "Peking" does not match /^Bei/'),
        ({"regex": "^1"}, 12, "arguments.x: 12 does not match /^1/"),
        ({"any": True}, None, None),
        ({"schema": {"type": "integer", "minimum": 0}}, 3, None),
        (
            {"schema": {"type": "integer", "minimum": 0}},
            -1,
            "arguments.x: -1 fails the schema ($: -1 is less than the minimum of 0)",
        ),
        ({"lat": {"regex": "^3"}}, {"lat": "39.9", "lon": "116"}, None),
        ({"lat": 1}, {"lon": 2}, "arguments.x.lat: missing"),
        ({"lat": 1}, "north", 'arguments.x: expected an object, got "north"'),
    ],
)
def test_argument_matchers(expected: Any, actual: Any, problem: str | None) -> None:
    assert match_value(expected, actual, "arguments.x") == problem


def test_no_calls() -> None:
    assert reasons(Expect(no_calls=("search_products",)), [WEATHER]) == []
    assert reasons(Expect(no_calls=("get_weather",)), [WEATHER, TIME]) == ["called get_weather"]


def test_text_contains_regex_schema() -> None:
    assert reasons(Expect(contains=("Beijing",)), [], "Sunny in Beijing") == []
    assert reasons(Expect(contains=("Tokyo",)), [], "Sunny in Beijing") == ['answer lacks "Tokyo"']
    assert reasons(Expect(regex=r"\d+ ?°C"), [], "21 °C") == []
    assert reasons(Expect(regex=r"\d+ ?°C"), [], "warm") == [r"answer does not match /\d+ ?°C/"]
    schema = {"type": "object", "required": ["temp"]}
    assert reasons(Expect(schema=schema), [], '{"temp": 21}') == []
    assert reasons(Expect(schema=schema), [], "{}") == ["answer fails the schema: $: 'temp' is a required property"]
    assert reasons(Expect(schema=schema), [], "warm") == ['answer is not JSON: "warm"']


def test_max_turns() -> None:
    assert reasons(Expect(max_turns=2), [], turns=2) == []
    assert reasons(Expect(max_turns=2), [], turns=3) == ["3 turns, at most 2 expected"]

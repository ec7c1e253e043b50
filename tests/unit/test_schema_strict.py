"""``--strict``: the schema rewritten to OpenAI's strict-mode rules, and chat/responses asking for strict."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from crazycall import schema
from crazycall.conversation import Conversation
from crazycall.offline.openai_common import strict_problem
from crazycall.protocols import get_adapter
from crazycall.protocols.base import RequestOptions
from crazycall.schema_strict import nullable, strict_schema

LOOSE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "note": {"type": "string"},
        "level": {"enum": ["low", "high"], "type": "string"},
        "where": {"$ref": "#/$defs/place"},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "integer"}}}},
    },
    "required": ["city"],
    "$defs": {"place": {"type": "object", "properties": {"lat": {"type": "number"}}}},
}


def test_every_object_requires_all_properties_and_allows_no_others() -> None:
    out = strict_schema(LOOSE)
    assert out["required"] == ["city", "note", "level", "where", "tags"]
    assert out["additionalProperties"] is False
    item = out["properties"]["tags"]["items"]
    assert item["required"] == ["k"] and item["additionalProperties"] is False
    assert out["$defs"]["place"]["required"] == ["lat"] and out["$defs"]["place"]["additionalProperties"] is False


def test_optional_properties_become_nullable_and_required_ones_do_not() -> None:
    props = strict_schema(LOOSE)["properties"]
    assert props["city"] == {"type": "string"}
    assert props["note"] == {"type": ["string", "null"]}
    assert props["level"] == {"enum": ["low", "high", None], "type": ["string", "null"]}
    assert props["where"] == {"anyOf": [{"$ref": "#/$defs/place"}, {"type": "null"}]}
    assert props["tags"]["type"] == ["array", "null"]


def test_the_input_is_left_untouched() -> None:
    before = copy.deepcopy(LOOSE)
    strict_schema(LOOSE)
    assert before == LOOSE


def test_the_result_passes_the_strict_mode_rules_and_is_still_a_json_schema() -> None:
    assert strict_problem(LOOSE, ()) is not None  # the rules bite on the original
    out = strict_schema(LOOSE)
    assert strict_problem(out, ()) is None
    assert schema.check(out) == out


def test_null_for_an_optional_field_validates_against_the_strict_schema() -> None:
    answer = '{"city": "Paris", "note": null, "level": null, "where": null, "tags": null}'
    assert schema.validate(LOOSE, answer).violations  # the original schema rejects nulls
    assert schema.validate(strict_schema(LOOSE), answer).ok
    assert not schema.validate(strict_schema(LOOSE), '{"city": null, "note": null}').ok


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"type": "null"}, {"type": ["null"]}),
        ({"type": ["string", "null"]}, {"type": ["string", "null"]}),
        ({"type": ["string", "integer"]}, {"type": ["string", "integer", "null"]}),
        ({"description": "any"}, {"anyOf": [{"description": "any"}, {"type": "null"}]}),
    ],
)
def test_nullable(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert nullable(given) == expected


@pytest.mark.parametrize("protocol", ["chat", "responses"])
def test_openai_protocols_send_strict_true_when_asked(protocol: str) -> None:
    opts = RequestOptions(model="m", stream=False, response_schema=strict_schema(LOOSE), response_strict=True)
    body = get_adapter(protocol).build_request(Conversation.start("hi"), [], opts).body
    fmt = body["response_format"]["json_schema"] if protocol == "chat" else body["text"]["format"]
    assert fmt["strict"] is True
    assert fmt["schema"]["additionalProperties"] is False

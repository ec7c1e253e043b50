"""crazycall.schema (loading, judging, the correction message) and the loop's retries with a scripted model;
and each request builder putting ``response_schema`` where its protocol's documentation says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crazycall import schema
from crazycall.conversation import STOP_END_TURN, Conversation, Message, ModelResponse, TextPart, Usage
from crazycall.errors import SchemaMismatch, UsageError
from crazycall.loop import LoopOptions, LoopState, run
from crazycall.model import TurnOptions
from crazycall.protocols import get_adapter
from crazycall.protocols.base import RequestOptions
from crazycall.testing import ScriptedModel
from crazycall.tools.registry import ToolRegistry
from crazycall.tools.runner import ToolRunner

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def text(value: str) -> ModelResponse:
    return ModelResponse(Message("assistant", (TextPart(value),)), STOP_END_TURN, Usage(10, 5), "m")


def go(answers: list[str], retries: int = 2, max_turns: int = 10) -> tuple[LoopState, ScriptedModel, Any]:
    model = ScriptedModel([text(a) for a in answers])
    state = LoopState(Conversation.start("hi"))
    options = LoopOptions(TurnOptions(response_schema=CITY), max_turns=max_turns, schema_retries=retries)
    runner = ToolRunner(ToolRegistry([]), default_timeout=5.0)
    try:
        result: Any = run(state, model, runner, options, lambda _e: None)
    except SchemaMismatch as exc:
        result = exc
    return state, model, result


def test_load_inline_and_files(tmp_path: Path) -> None:
    assert schema.load(json.dumps(CITY)) == CITY
    (tmp_path / "s.json").write_text(json.dumps(CITY))
    (tmp_path / "s.yaml").write_text("type: object\nrequired: [city]\nproperties: {city: {type: string}}\n")
    assert schema.load(str(tmp_path / "s.json")) == CITY
    assert schema.load(str(tmp_path / "s.yaml")) == CITY


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ('{"type": 5}', "--schema (inline JSON) is not a valid JSON Schema at /type"),
        ('{"properties": {"a": {"minimum": "x"}}}', "at /properties/a/minimum"),
        ("[]", "must be an object"),
        ("{", "is not JSON"),
        ("missing.json", "--schema missing.json: no such file"),
        ('{"$ref": "#/nope"}', "$ref '#/nope' at / points to nothing"),
        ('{"properties": {"a": {"$ref": "https://example.com/a.json"}}}', "at /properties/a: only local references"),
    ],
)
def test_bad_schemas_are_usage_errors(spec: str, said: str) -> None:
    with pytest.raises(UsageError) as caught:
        schema.load(spec)
    assert said in str(caught.value)


def test_validate_reports_every_violation_with_its_path() -> None:
    nested = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "integer"}}, "name": {"type": "string"}},
        "required": ["name"],
    }
    checked = schema.validate(nested, '{"items": [1, "two", 3.5]}')
    assert checked.value == {"items": [1, "two", 3.5]}
    assert not checked.ok
    assert checked.violations == (
        "/: 'name' is a required property",
        "/items/1: 'two' is not of type 'integer'",
        "/items/2: 3.5 is not of type 'integer'",
    )
    assert schema.validate(nested, '{"name": "x"}').ok


def test_text_that_is_not_json_is_a_violation() -> None:
    checked = schema.validate(CITY, "The weather is fine.")
    assert checked.value is None
    assert checked.violations[0].startswith("/: the answer is not a JSON document")


def test_loop_sends_an_invalid_answer_back_with_its_violations() -> None:
    _state, model, result = go(['{"city": 5}', '{"city": "Paris"}'])
    assert result.extra == {"output": {"city": "Paris"}}
    assert result.turns == 2
    correction = model.seen[1].conversation.messages[-1]
    assert correction.role == "user"
    assert "/city: 5 is not of type 'string'" in correction.text
    assert model.seen[1].options.response_schema == CITY


def test_loop_gives_up_after_the_retries_keeping_the_last_answer() -> None:
    state, model, error = go(["nope", '{"city": 5}'], retries=1)
    assert isinstance(error, SchemaMismatch) and error.exit_code == 10
    assert "/city" in str(error)
    assert state.result().text == '{"city": 5}'
    assert state.result().extra == {"output": None}
    assert len(model.seen) == 2


def test_no_schema_no_output_key() -> None:
    model = ScriptedModel([text("hello")])
    state = LoopState(Conversation.start("hi"))
    result = run(state, model, ToolRunner(ToolRegistry([])), LoopOptions(), lambda _e: None)
    assert result.extra == {}


def _body(protocol: str) -> dict[str, Any]:
    opts = RequestOptions(model="m", stream=False, response_schema=CITY)
    return get_adapter(protocol).build_request(Conversation.start("hi"), [], opts).body


def test_each_protocol_asks_with_its_native_mechanism() -> None:
    chat = _body("chat")["response_format"]
    assert chat == {"type": "json_schema", "json_schema": {"name": "final_answer", "schema": CITY, "strict": False}}
    fmt = _body("responses")["text"]["format"]
    assert fmt == {"type": "json_schema", "name": "final_answer", "schema": CITY, "strict": False}
    assert _body("messages")["output_config"] == {"format": {"type": "json_schema", "schema": CITY}}
    config = _body("gemini")["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": CITY}


def test_without_a_schema_nothing_is_added() -> None:
    opts = RequestOptions(model="m", stream=False)
    for protocol, key in (("chat", "response_format"), ("responses", "text"), ("messages", "output_config")):
        assert key not in get_adapter(protocol).build_request(Conversation.start("hi"), [], opts).body
    assert "generationConfig" not in get_adapter("gemini").build_request(Conversation.start("hi"), [], opts).body


@pytest.mark.parametrize(
    ("reader", "body", "said"),
    [
        ("chat_schema", {"response_format": {"type": "xml"}}, "Invalid value: 'xml'"),
        ("chat_schema", {"response_format": {"type": "json_schema"}}, "Missing required parameter"),
        (
            "chat_schema",
            {"response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}}},
            "does not match pattern",
        ),
        (
            "chat_schema",
            {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": CITY, "strict": True}}},
            "additionalProperties",
        ),
        ("responses_schema", {"text": {"format": {"type": "json_schema", "name": "a", "schema": 5}}}, "schema"),
        ("messages_schema", {"output_config": {"format": {"type": "json"}}}, "json_schema"),
        ("gemini_schema", {"generationConfig": {"responseJsonSchema": CITY}}, "response_mime_type"),
    ],
)
def test_offline_router_refuses_malformed_structured_output_requests(
    reader: str, body: dict[str, Any], said: str
) -> None:
    from crazycall.offline import structured
    from crazycall.offline.wire import WireError

    with pytest.raises(WireError) as caught:
        getattr(structured, reader)(body)
    assert caught.value.status == 400 and said in str(caught.value)


def test_offline_router_reads_each_native_mechanism() -> None:
    from crazycall.offline import structured

    assert structured.chat_schema({"response_format": {"type": "text"}}) is None
    assert (
        structured.responses_schema({"text": {"format": {"type": "json_schema", "name": "a", "schema": CITY}}}) == CITY
    )
    assert structured.messages_schema({"output_config": {"format": {"type": "json_schema", "schema": CITY}}}) == CITY
    config = {"responseMimeType": "application/json", "responseJsonSchema": CITY}
    assert structured.gemini_schema({"generationConfig": config}) == CITY
    good = json.loads(structured.structured_text(CITY, "weather in Paris", bad=False))
    assert schema.violations(CITY, good) == ()
    bad = json.loads(structured.structured_text(CITY, "weather in Paris", bad=True))
    assert schema.violations(CITY, bad) == ("/city: 12345 is not of type 'string'",)


def test_local_refs_work_and_data_named_ref_is_data() -> None:
    loaded = schema.load('{"$defs": {"c": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/c"}}}')
    assert schema.validate(loaded, '{"a": 1}').violations == ("/a: 1 is not of type 'string'",)
    assert schema.load('{"const": {"$ref": "elsewhere"}}') == {"const": {"$ref": "elsewhere"}}


def test_an_anchor_that_names_nothing_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cannot resolve a \\$ref"):
        schema.validate(schema.load('{"$ref": "#nope"}'), "{}")


def test_a_retry_is_a_turn_and_max_turns_bounds_it() -> None:
    _state, model, error = go(['{"city": 5}'], retries=2, max_turns=1)
    assert isinstance(error, SchemaMismatch) and "--max-turns" in str(error)
    assert len(model.seen) == 1

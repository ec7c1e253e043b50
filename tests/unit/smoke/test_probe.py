"""The probe tool and the pass/fail checks, on neutral ModelResponses built by hand."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from crazycall.conversation import (
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    Message,
    ModelResponse,
    TextPart,
    ToolCall,
    ToolSpec,
    decode_arguments,
)
from crazycall.smoke.probe import (
    GET_TIME,
    MARKERS,
    CaseFailure,
    builtin_probes,
    expect_text_answer,
    expect_tool_call,
    get_time,
    inline_probe,
    run_probe,
)


def response(*parts: TextPart | ToolCall, stop: str = STOP_END_TURN, raw: str | None = None) -> ModelResponse:
    return ModelResponse(Message("assistant", parts), stop, raw_stop_reason=raw)


def call(name: str = "get_time", raw: str = '{"timezone":"Europe/Paris"}') -> ToolCall:
    arguments, error = decode_arguments(raw)
    return ToolCall("call_1", name, arguments, raw, {}, error)


def test_markers_cover_the_four_protocols() -> None:
    assert MARKERS == {
        "chat": "tool_calls",
        "responses": "function_call",
        "messages": "tool_use",
        "gemini": "functionCall",
    }


def test_get_time_computes_the_real_time_in_the_zone() -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    out = get_time("Asia/Tokyo")
    after = dt.datetime.now(dt.timezone.utc)
    when = dt.datetime.fromisoformat(out["time"])
    assert out["timezone"] == "Asia/Tokyo"
    assert when.utcoffset() == dt.timedelta(hours=9)  # Tokyo has no daylight saving time
    assert before <= when <= after
    assert out["weekday"] == when.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%A")


def test_get_time_utc_needs_no_time_zone_database() -> None:
    assert dt.datetime.fromisoformat(get_time("UTC")["time"]).utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../etc/passwd", "Europe/"])
def test_get_time_rejects_unknown_zones(zone: str) -> None:
    with pytest.raises(ValueError, match=f"unknown time zone {zone!r}"):
        get_time(zone)


def test_probe_schema_validation_messages() -> None:
    tool = builtin_probes()["get_time"]
    assert tool.spec == GET_TIME
    assert tool.validate({"timezone": "Europe/Paris"}) == []
    assert tool.validate({"timezone": 5}) == ["$.timezone: 5 is not of type 'string'"]
    assert tool.validate({}) == ["$: 'timezone' is a required property"]
    assert tool.validate({"timezone": "UTC", "city": "Paris"}) == [
        "$: Additional properties are not allowed ('city' was unexpected)"
    ]


def test_expect_tool_call_passes_with_the_right_call() -> None:
    tool = builtin_probes()["get_time"]
    good = call()
    assert expect_tool_call(response(TextPart("Let me check."), call("other"), good), tool) == good


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (response(TextPart("It is noon.")), "answered in text, no tool call"),
        (response(stop=STOP_MAX_TOKENS, raw="max_tokens"), "no tool call and no text (stop reason max_tokens)"),
        (response(TextPart("  ")), "no tool call and no text (stop reason end_turn)"),
        (response(call("get_weather")), "called get_weather instead of get_time"),
        (response(call("b"), call("a")), "called a, b instead of get_time"),
        (response(call(raw='{"timezone": 5}')), "arguments invalid: $.timezone: 5 is not of type 'string'"),
        (response(call(raw="{}")), "arguments invalid: $: 'timezone' is a required property"),
        (response(call(raw='{"tz')), "arguments invalid: arguments are not valid JSON (Unterminated string"),
        (response(call(raw="[1]")), "arguments invalid: arguments must be a JSON object, got list: '[1]'"),
    ],
)
def test_expect_tool_call_failures(answer: ModelResponse, reason: str) -> None:
    with pytest.raises(CaseFailure) as info:
        expect_tool_call(answer, builtin_probes()["get_time"])
    assert info.value.reason.startswith(reason), info.value.reason
    assert info.value.exit_code == 4  # the answer parsed: the provider did not honour the forced call


def test_text_failure_keeps_the_text_as_detail() -> None:
    with pytest.raises(CaseFailure) as info:
        expect_tool_call(response(TextPart("It is\nnoon.")), builtin_probes()["get_time"])
    assert info.value.detail == "text: It is noon."


def test_expect_text_answer() -> None:
    assert expect_text_answer(response(TextPart("It is 14:03 in Paris."))) == "It is 14:03 in Paris."
    with pytest.raises(CaseFailure, match=r"^round trip: called get_time again instead of answering in text$"):
        expect_text_answer(response(call()))
    with pytest.raises(CaseFailure, match=r"^round trip: no text answer \(stop reason max_tokens\)$"):
        expect_text_answer(response(stop=STOP_MAX_TOKENS))


def test_run_probe() -> None:
    content, is_error = run_probe(builtin_probes()["get_time"], {"timezone": "UTC"})
    assert not is_error
    assert json.loads(content)["timezone"] == "UTC"
    content, is_error = run_probe(builtin_probes()["get_time"], {"timezone": "Nowhere/Land"})
    assert is_error
    assert content == "ValueError: unknown time zone 'Nowhere/Land'; use an IANA name such as Europe/Paris"


def test_inline_probe_answers_with_its_fixed_result() -> None:
    tool = inline_probe(ToolSpec("lookup", "d", {"type": "object"}), ["x", 1], "smoke.yaml:3")
    assert run_probe(tool, {"anything": True}) == ('["x", 1]', False)

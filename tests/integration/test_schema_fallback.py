"""``--schema-mode``: the portable fallback of ``--schema`` (a synthetic ``final_answer`` tool) end to end, through
the real CLI against the offline router, 4 protocols x stream / non-stream: tool mode, and auto switching to
the tool (for the rest of the run) when the router refuses the native structured-output field with a 400."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter, RecordedRequest

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-fallback-0001"
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}},
    "required": ["city", "temperature"],
}
PROMPT = "What is the weather in Paris?"
MODELS = {
    "chat": "gpt-5.4",
    "responses": "gpt-5.4",
    "messages": "claude-sonnet-4-6",
    "gemini": "gemini-3-pro",
}
CASES = [(p, s) for p in MODELS for s in ("--stream", "--no-stream")]
# Each protocol's own 400 envelope, naming its structured-output field as a router that lacks it would.
REFUSALS = {
    "chat": {"error": {"message": "Unknown parameter: 'response_format'.", "type": "invalid_request_error"}},
    "responses": {"error": {"message": "Unsupported parameter: 'text.format'.", "type": "invalid_request_error"}},
    "messages": {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "output_config: Extra inputs are not permitted"},
    },
    "gemini": {
        "error": {
            "code": 400,
            "message": "Invalid JSON payload received. Unknown name \"responseJsonSchema\" at 'generation_config'",
            "status": "INVALID_ARGUMENT",
        }
    },
}


@pytest.fixture(scope="module")
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as r:
        yield r


def _ask(router: OfflineRouter, protocol: str, stream: str, *extra: str) -> tuple[int, dict[str, Any]]:
    args = ["ask", "--base-url", router.url, "--api-key", KEY, "-m", MODELS[protocol], "-p", protocol, stream]
    args += ["--no-transcript", "--json", "-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]
    result = CliRunner().invoke(app, [*args, *extra, PROMPT])
    try:
        data = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"stdout is not one JSON object: {result.stdout!r} stderr: {result.stderr!r}")
    assert isinstance(data, dict)
    return result.exit_code, data


def _tools(req: RecordedRequest) -> dict[str, Any]:
    """Offered tools by name -> input schema, each protocol's way."""
    body = req.body
    if req.protocol == "chat":
        return {t["function"]["name"]: t["function"]["parameters"] for t in body.get("tools", [])}
    if req.protocol == "responses":
        return {t["name"]: t["parameters"] for t in body.get("tools", [])}
    if req.protocol == "messages":
        return {t["name"]: t["input_schema"] for t in body.get("tools", [])}
    decls = [d for group in body.get("tools", []) for d in group.get("functionDeclarations", [])]
    return {d["name"]: d.get("parametersJsonSchema", d.get("parameters")) for d in decls}


def _has_native(req: RecordedRequest) -> bool:
    body = req.body
    return {
        "chat": "response_format" in body,
        "responses": "format" in body.get("text", {}),
        "messages": "output_config" in body,
        "gemini": "responseJsonSchema" in body.get("generationConfig", {}),
    }[req.protocol]


@pytest.mark.parametrize(("protocol", "stream"), CASES)
def test_tool_mode_answers_through_the_final_tool(router: OfflineRouter, protocol: str, stream: str) -> None:
    start = len(router.requests)
    code, data = _ask(router, protocol, stream, "--schema", json.dumps(SCHEMA), "--schema-mode", "tool")
    assert code == 0, data
    assert data["output"]["city"] == "Paris" and isinstance(data["output"]["temperature"], (int, float))
    assert json.loads(data["text"]) == data["output"]
    assert data["stop_reason"] == "end_turn"
    assert [c["name"] for c in data["tool_calls"]] == ["get_weather"]  # final_answer is never run as a tool
    sent = router.requests[start:]
    assert len(sent) == 2
    for req in sent:
        assert not _has_native(req)
        assert "final_answer" in _tools(req) and "get_weather" in _tools(req)


@pytest.mark.parametrize(("protocol", "stream"), CASES)
def test_tool_mode_sends_an_invalid_answer_back_as_its_tool_result(
    router: OfflineRouter, protocol: str, stream: str
) -> None:
    start = len(router.requests)
    router.script(Fault(), "bad_output", protocol=protocol)  # the weather call, a wrong final answer, a fixed one
    code, data = _ask(router, protocol, stream, "--schema", json.dumps(SCHEMA), "--schema-mode", "tool")
    assert code == 0, data
    assert data["output"]["city"] == "Paris"
    assert data["turns"] == 3
    sent = router.requests[start:]
    assert len(sent) == 3
    correction = json.dumps(sent[2].body)
    assert "/city" in correction and "is not of type" in correction


@pytest.mark.parametrize(("protocol", "stream"), CASES)
def test_auto_falls_back_to_the_tool_when_the_router_refuses_the_native_field(
    router: OfflineRouter, protocol: str, stream: str
) -> None:
    start = len(router.requests)
    router.script(Fault(status=400, body=json.dumps(REFUSALS[protocol])), protocol=protocol)
    code, data = _ask(router, protocol, stream, "--schema", json.dumps(SCHEMA))
    assert code == 0, data
    assert data["output"]["city"] == "Paris"
    sent = router.requests[start:]
    assert len(sent) == 3  # refused, asked again with the tool, then the answer: the switch is remembered
    assert _has_native(sent[0]) and "final_answer" not in _tools(sent[0])
    for req in sent[1:]:
        assert not _has_native(req) and "final_answer" in _tools(req)


@pytest.mark.parametrize("mode", ["auto", "native"])
def test_other_400s_and_native_mode_do_not_fall_back(router: OfflineRouter, mode: str) -> None:
    start = len(router.requests)
    refusal = REFUSALS["chat"] if mode == "native" else {"error": {"message": "bad 'temperature'", "type": "x"}}
    router.script(Fault(status=400, body=json.dumps(refusal)), protocol="chat")
    code, data = _ask(router, "chat", "--no-stream", "--schema", json.dumps(SCHEMA), "--schema-mode", mode)
    assert code == 4
    assert data["error"]["type"] == "provider_error"
    assert len(router.requests) == start + 1


def test_tool_mode_exhausted_retries_exit_10(router: OfflineRouter) -> None:
    router.script("bad_output", "bad_output", protocol="messages")
    args = ("--schema", json.dumps(SCHEMA), "--schema-mode", "tool", "--tool-choice", "none", "--schema-retries", "1")
    code, data = _ask(router, "messages", "--stream", *args)
    assert code == 10
    assert data["error"]["type"] == "schema_mismatch" and "/city" in data["error"]["message"]
    assert json.loads(data["text"])["city"] == 12345  # the last answer is kept


def test_a_non_object_schema_is_wrapped_and_unwrapped(router: OfflineRouter) -> None:
    start = len(router.requests)
    schema = {"type": "array", "items": {"type": "string"}}
    code, data = _ask(router, "messages", "--no-stream", "--schema", json.dumps(schema), "--schema-mode", "tool")
    assert code == 0, data
    assert isinstance(data["output"], list) and all(isinstance(x, str) for x in data["output"])
    assert _tools(router.requests[start])["final_answer"]["properties"]["answer"] == schema


def test_an_unknown_mode_is_a_usage_error(router: OfflineRouter) -> None:
    start = len(router.requests)
    code, data = _ask(router, "chat", "--stream", "--schema", json.dumps(SCHEMA), "--schema-mode", "fancy")
    assert code == 2
    assert "--schema-mode 'fancy'" in data["error"]["message"]
    assert len(router.requests) == start

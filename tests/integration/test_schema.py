"""``--schema`` end to end: the real CLI against the offline router, 4 protocols x stream / non-stream.

Each protocol must ask for the schema with its own native mechanism (checked on the recorded request), the
final answer after a tool call must come back as ``output``; an answer the router breaks on purpose
(``bad_output`` fault) goes back with its violations and is corrected; one that stays broken ends with exit 10.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter, RecordedRequest

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-schema-0001"
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}},
    "required": ["city", "temperature"],
}
PROMPT = "What is the weather in Paris?"
MODELS = {
    "chat": ("gpt-5.4", "chat"),
    "responses": ("gpt-5.4", "responses"),
    "messages": ("claude-sonnet-4-6", "messages"),
    "gemini": ("gemini-3-pro", "gemini"),
}
CASES = [(p, s) for p in MODELS for s in ("--stream", "--no-stream")]


@pytest.fixture(scope="module")
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as r:
        yield r


def _args(router: OfflineRouter, protocol: str, stream: str, *extra: str) -> list[str]:
    model, wire = MODELS[protocol]
    return [
        "ask",
        *("--base-url", router.url, "--api-key", KEY, "-m", model, "-p", wire, stream, "--no-transcript"),
        *("-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")),
        *("--schema", json.dumps(SCHEMA)),
        *extra,
        PROMPT,
    ]


def _ask(router: OfflineRouter, protocol: str, stream: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, _args(router, protocol, stream, "--json", *extra))
    try:
        data = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"stdout is not one JSON object: {result.stdout!r} stderr: {result.stderr!r}")
    assert isinstance(data, dict)
    return result.exit_code, data


def _native_schema(req: RecordedRequest) -> Any:
    """The schema as each protocol's documented structured-output field carries it."""
    body = req.body
    if req.protocol == "chat":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"]
        return fmt["json_schema"]["schema"]
    if req.protocol == "responses":
        fmt = body["text"]["format"]
        assert fmt["type"] == "json_schema" and fmt["name"]
        return fmt["schema"]
    if req.protocol == "messages":
        assert body["output_config"]["format"]["type"] == "json_schema"
        return body["output_config"]["format"]["schema"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    return config["responseJsonSchema"]


def _user_texts(req: RecordedRequest) -> str:
    return json.dumps(req.body)


@pytest.mark.parametrize(("protocol", "stream"), CASES)
def test_valid_structured_answer_after_a_tool_call(router: OfflineRouter, protocol: str, stream: str) -> None:
    start = len(router.requests)
    code, data = _ask(router, protocol, stream)
    assert code == 0, data
    assert data["output"] == {"city": "Paris", "temperature": data["output"]["temperature"]}
    assert isinstance(data["output"]["temperature"], (int, float))
    assert json.loads(data["text"]) == data["output"]
    assert [c["name"] for c in data["tool_calls"]] == ["get_weather"]
    sent = router.requests[start:]
    assert len(sent) == 2
    assert all(_native_schema(req) == SCHEMA for req in sent)  # every turn carries it, tools alongside


@pytest.mark.parametrize(("protocol", "stream"), CASES)
def test_invalid_answer_is_corrected_on_retry(router: OfflineRouter, protocol: str, stream: str) -> None:
    start = len(router.requests)
    router.script(Fault(), "bad_output", protocol=protocol)  # the tool call, then a wrong answer, then a fixed one
    code, data = _ask(router, protocol, stream)
    assert code == 0, data
    assert data["output"]["city"] == "Paris"
    assert data["turns"] == 3
    sent = router.requests[start:]
    assert len(sent) == 3
    assert "is not of type" not in _user_texts(sent[1])
    correction = _user_texts(sent[2])
    assert "/city" in correction and "is not of type" in correction  # every violation with its path


@pytest.mark.parametrize(("protocol", "stream"), CASES)
def test_exhausted_retries_exit_9_keeping_the_last_answer(router: OfflineRouter, protocol: str, stream: str) -> None:
    router.script("bad_output", "bad_output", protocol=protocol)
    code, data = _ask(router, protocol, stream, "--tool-choice", "none", "--schema-retries", "1")
    assert code == 10
    assert data["error"]["type"] == "schema_mismatch"
    assert "--schema-retries" in data["error"]["message"] and "/city" in data["error"]["message"]
    assert data["output"] is None
    assert json.loads(data["text"])["city"] == 12345  # the last answer is kept
    assert data["turns"] == 2


@pytest.mark.parametrize("protocol", list(MODELS))
def test_plain_output_is_one_json_line_for_a_pipe(router: OfflineRouter, protocol: str) -> None:
    args = _args(router, protocol, "--stream", "-o", "plain")
    run = subprocess.run(
        [sys.executable, "-m", "crazycall", *args], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["city"] == "Paris"


def test_quiet_prints_the_document_alone(router: OfflineRouter) -> None:
    result = CliRunner().invoke(app, _args(router, "chat", "--no-stream", "-q"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"city": "Paris", "temperature": json.loads(result.stdout)["temperature"]}


def test_jsonl_run_finished_has_output(router: OfflineRouter) -> None:
    result = CliRunner().invoke(app, _args(router, "gemini", "--stream", "-o", "jsonl"))
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["event"] == "run_finished"
    assert records[-1]["output"]["city"] == "Paris"


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ('{"type": "nope"}', "not a valid JSON Schema at /type"),
        ('{"type": "object"', "is not JSON"),
        ("/no/such/schema.json", "no such file"),
        ("[1]", "must be an object, not list"),
    ],
)
def test_bad_schema_is_a_usage_error_before_anything_is_sent(router: OfflineRouter, schema: str, said: str) -> None:
    start = len(router.requests)
    args = ["ask", "--base-url", router.url, "--api-key", KEY, "--no-transcript", "--json", "--schema", schema, "hi"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["error"]["type"] == "usage_error" and said in data["error"]["message"]
    assert len(router.requests) == start


def test_schema_from_a_yaml_file(router: OfflineRouter, tmp_path: Path) -> None:
    path = tmp_path / "answer.yaml"
    path.write_text("type: object\nproperties:\n  city: {type: string}\nrequired: [city]\n")
    args = ["ask", "--base-url", router.url, "--api-key", KEY, "--no-transcript", "--json", "--schema", str(path)]
    result = CliRunner().invoke(app, [*args, "-t", str(REPO / "tools.yaml"), PROMPT])
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["output"] == {"city": "Paris"}


def test_a_schema_file_that_is_not_a_schema_names_the_file(router: OfflineRouter, tmp_path: Path) -> None:
    path = tmp_path / "answer.yaml"
    path.write_text("type: [object\n")
    args = ["ask", "--base-url", router.url, "--api-key", KEY, "--no-transcript", "--schema", str(path), "hi"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "answer.yaml:" in result.stderr and "Traceback" not in result.stderr


def test_plain_failure_leaves_stdout_empty_and_says_why_in_one_line(router: OfflineRouter) -> None:
    router.script("bad_output", "bad_output", "bad_output", protocol="chat")
    args = _args(router, "chat", "--stream", "-o", "plain", "--tool-choice", "none")
    run = subprocess.run(
        [sys.executable, "-m", "crazycall", *args], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert run.returncode == 10
    assert run.stdout == ""
    errors = [line for line in run.stderr.splitlines() if line.startswith("crazycall: error:")]
    assert len(errors) == 1 and "--schema-retries" in errors[0]
    assert "Traceback" not in run.stderr

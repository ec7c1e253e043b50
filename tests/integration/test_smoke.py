"""``crazycall smoke`` end to end: the real CLI against the offline router on 127.0.0.1, with and without faults.

Each test reads the command's ``--json`` array (or the JUnit file, parsed and validated against the Jenkins
JUnit XSD) and, where it matters, what the router received: the forced tool_choice in each protocol's own
wire form (PROTOCOLS.md §1.1, §2.1, §3.1, §4.1) and the tool result sent back by ``--round-trip``.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import xmlschema

from crazycall.offline.server import OfflineRouter, RecordedRequest
from tests.integration.conftest import KEY, cli, json_out

XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "junit-10.xsd"
DEFAULT_NAMES = ["gpt-5.4 [chat]", "gpt-5.4 [responses]", "claude-sonnet-4-6 [messages]", "gemini-3-pro [gemini]"]
KEYS = {
    "name",
    "model",
    "protocol",
    "endpoint",
    "tool",
    "marker",
    "status",
    "reason",
    "latency_ms",
    "exit_code",
    "detail",
    "answer",
}


def run(router: OfflineRouter | None, *args: str) -> tuple[int, str, str]:
    base = ["smoke", "--base-url", router.url, "--api-key", KEY] if router else ["smoke"]
    return cli(*base, *args)


def run_json(router: OfflineRouter | None, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code, out, err = run(router, "--json", *args)
    data = json_out(out, err)
    assert isinstance(data, list)
    return code, data, err


def by_name(data: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in data}


def faulty(faults: Mapping[str, str]) -> OfflineRouter:
    return OfflineRouter(api_key=KEY, faults=faults)


# ---------------------------------------------------------------- all pass


def test_default_matrix_passes(router: OfflineRouter) -> None:
    code, data, err = run_json(router)
    assert code == 0, err
    assert err == ""
    assert [d["name"] for d in data] == DEFAULT_NAMES
    assert all(set(d) == KEYS for d in data)
    assert [(d["model"], d["protocol"], d["endpoint"], d["marker"]) for d in data] == [
        ("gpt-5.4", "chat", "/v1/chat/completions", "tool_calls"),
        ("gpt-5.4", "responses", "/v1/responses", "function_call"),
        ("claude-sonnet-4-6", "messages", "/v1/messages", "tool_use"),
        ("gemini-3-pro", "gemini", "/v1beta/models/gemini-3-pro:streamGenerateContent", "functionCall"),
    ]
    assert all((d["status"], d["reason"], d["exit_code"], d["tool"]) == ("pass", None, 0, "get_time") for d in data)
    assert all(isinstance(d["latency_ms"], float) and d["latency_ms"] > 0 for d in data)
    assert sorted(r.protocol for r in router.requests) == ["chat", "gemini", "messages", "responses"]
    assert all(r.stream for r in router.requests)


def _request(router: OfflineRouter, protocol: str) -> RecordedRequest:
    return next(r for r in router.requests if r.protocol == protocol)


def _forced(router: OfflineRouter) -> dict[str, Any]:
    return {
        "chat": _request(router, "chat").body["tool_choice"],
        "responses": _request(router, "responses").body["tool_choice"],
        "messages": _request(router, "messages").body["tool_choice"],
        "gemini": _request(router, "gemini").body["toolConfig"]["functionCallingConfig"],
    }


def test_each_protocol_is_sent_a_forced_tool_call(router: OfflineRouter) -> None:
    code, _, err = run_json(router)
    assert code == 0, err
    assert _forced(router) == {
        "chat": "required",
        "responses": "required",
        "messages": {"type": "any"},
        "gemini": {"mode": "ANY"},
    }
    chat = _request(router, "chat").body
    assert [t["function"]["name"] for t in chat["tools"]] == ["get_time"]  # only the probe, never tools.yaml


def test_tool_choice_tool_forces_the_probe_by_name(router: OfflineRouter) -> None:
    code, _, err = run_json(router, "--tool-choice", "tool")
    assert code == 0, err
    assert _forced(router) == {
        "chat": {"type": "function", "function": {"name": "get_time"}},
        "responses": {"type": "function", "name": "get_time"},
        "messages": {"type": "tool", "name": "get_time"},
        "gemini": {"mode": "ANY", "allowedFunctionNames": ["get_time"]},
    }


def test_no_stream(router: OfflineRouter) -> None:
    code, data, err = run_json(router, "--no-stream")
    assert code == 0, err
    assert by_name(data)["gemini-3-pro [gemini]"]["endpoint"] == "/v1beta/models/gemini-3-pro:generateContent"
    assert not any(r.stream for r in router.requests)


def test_offline_flag_passes_with_plain_output() -> None:
    code, out, err = run(None, "--offline")
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["PASS"] * 4
    assert [" ".join(line.split()[1:3]) for line in lines[:4]] == DEFAULT_NAMES
    assert lines[4:] == ["all 4 smoke cases passed"]


def test_rich_output(router: OfflineRouter) -> None:
    code, out, err = run(router, "-o", "rich", "--no-defaults", "--case", "claude-sonnet-4-6")
    assert code == 0, err
    assert "crazycall smoke" in out
    row = next(line for line in out.splitlines() if "claude-sonnet-4-6" in line)
    # at 80 columns: model, protocol, latency, status (endpoint and marker from 120 columns up)
    assert [c.strip() for c in row.strip("│ ").split("│")][:2] == ["claude-sonnet-4-6", "messages"]
    assert "pass" in row
    assert "all 1 smoke cases passed" in out


# ---------------------------------------------------------------- round trip


def _tool_result_of(request: RecordedRequest) -> Any:
    body = request.body
    if request.protocol == "chat":
        return json.loads(body["messages"][-1]["content"])
    if request.protocol == "responses":
        return json.loads(body["input"][-1]["output"])
    if request.protocol == "messages":
        return json.loads(body["messages"][-1]["content"][0]["content"])
    return body["contents"][-1]["parts"][0]["functionResponse"]["response"]["output"]  # §4.3


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_round_trip_runs_the_tool_and_requires_a_text_answer(router: OfflineRouter, stream: str) -> None:
    code, data, err = run_json(router, "--round-trip", stream)
    assert code == 0, err
    assert all(d["status"] == "pass" for d in data)
    for protocol in ("chat", "responses", "messages", "gemini"):
        _, second = [r for r in router.requests if r.protocol == protocol]
        result = _tool_result_of(second)
        assert result["timezone"] == "Europe/Paris"
        sent = dt.datetime.fromisoformat(result["time"])
        now = dt.datetime.now(ZoneInfo("Europe/Paris"))
        assert sent.utcoffset() == now.utcoffset()  # really computed in that zone
        assert abs((now - sent).total_seconds()) < 600
    answers = [d["answer"] for d in data]
    assert all(a.startswith("get_time returned ") and "Europe/Paris" in a for a in answers), answers


def test_round_trip_sends_auto_after_the_forced_turn(router: OfflineRouter) -> None:
    code, _, err = run_json(router, "--round-trip", "--no-defaults", "--case", "gpt-5.4")
    assert code == 0, err
    first, second = router.requests
    assert (first.body["tool_choice"], second.body["tool_choice"]) == ("required", "auto")


# ---------------------------------------------------------------- one protocol fails


@pytest.mark.parametrize(
    ("faults", "failing", "reason", "code"),
    [
        ({"responses": "text"}, "gpt-5.4 [responses]", "answered in text, no tool call", 4),
        (
            {"chat": "http500"},
            "gpt-5.4 [chat]",
            "HTTP 500 from /v1/chat/completions: The server had an error while processing your request.",
            4,
        ),
        ({"messages": "http401"}, "claude-sonnet-4-6 [messages]", "HTTP 401 from /v1/messages: ", 4),
        (
            {"gemini": "http429"},
            "gemini-3-pro [gemini]",
            "HTTP 429 from /v1beta/models/gemini-3-pro:streamGenerateContent: ",
            4,
        ),
        ({"gemini": "cut"}, "gemini-3-pro [gemini]", "stream cut: RemoteProtocolError: ", 5),
        ({"chat": "cut"}, "gpt-5.4 [chat]", "stream cut: RemoteProtocolError: ", 5),
        ({"responses": "garbage"}, "gpt-5.4 [responses]", "protocol violation: ", 6),
    ],
)
def test_one_failing_protocol(faults: dict[str, str], failing: str, reason: str, code: int) -> None:
    with faulty(faults) as router:
        exit_code, data, err = run_json(router, "--max-retries", "0")
    assert exit_code == code
    results = by_name(data)
    assert [n for n, d in results.items() if d["status"] == "fail"] == [failing]
    assert results[failing]["reason"].startswith(reason), results[failing]["reason"]
    assert results[failing]["exit_code"] == code
    assert all(d["exit_code"] == 0 for n, d in results.items() if n != failing)
    assert err.startswith(f"crazycall: error: 1 of 4 smoke cases failed; {failing}: {reason}")
    assert len(err.splitlines()) == 1 and KEY not in err


def test_a_cut_non_streamed_body(router: OfflineRouter) -> None:
    with faulty({"chat": "cut"}) as router:
        code, data, _ = run_json(router, "--no-stream", "--max-retries", "0")
    assert code == 5
    assert by_name(data)["gpt-5.4 [chat]"]["reason"].startswith("response cut: RemoteProtocolError: ")


@pytest.mark.parametrize(
    ("faults", "code"),
    [
        ({"chat": "cut", "messages": "http500"}, 5),  # transport beats provider
        ({"responses": "garbage", "chat": "cut", "gemini": "text"}, 6),  # protocol beats both
        ({"*": "text"}, 4),
    ],
)
def test_exit_code_is_the_most_severe_failure(faults: dict[str, str], code: int) -> None:
    with faulty(faults) as router:
        exit_code, data, err = run_json(router, "--max-retries", "0")
    assert exit_code == code
    failed = sum(d["status"] == "fail" for d in data)
    assert failed == (4 if "*" in faults else len(faults))
    assert f"crazycall: error: {failed} of 4 smoke cases failed;" in err


def test_retries_follow_the_transport_policy() -> None:
    with faulty({"messages": "http500"}) as router:
        code, data, _ = run_json(router, "--max-retries", "1", "--no-defaults", "--case", "claude-sonnet-4-6")
        requests = [r.protocol for r in router.requests]
    assert code == 4
    assert requests == ["messages", "messages"]  # one retry of the retryable 500
    assert data[0]["reason"].startswith("HTTP 500 from /v1/messages")


def test_an_unauthorised_key_is_not_retried() -> None:
    with faulty({"chat": "http401"}) as router:
        code, _, _ = run_json(router, "--max-retries", "3", "--no-defaults", "--case", "gpt-5.4")
        assert [r.protocol for r in router.requests] == ["chat"]
    assert code == 4


def test_offline_fault_flag() -> None:
    code, data, err = run_json(None, "--offline", "--fault", "responses=text")
    assert code == 4, err
    assert by_name(data)["gpt-5.4 [responses]"]["reason"] == "answered in text, no tool call"


def test_timeout_per_case() -> None:
    with OfflineRouter(api_key=KEY, stream_chunk_delay=1.0) as router:
        code, data, _ = run_json(router, "--timeout", "0.5", "--no-defaults", "--case", "gpt-5.4")
    assert code == 5
    assert (data[0]["status"], data[0]["reason"], data[0]["exit_code"]) == ("fail", "timeout after 0.5 s", 5)


# ---------------------------------------------------------------- JUnit


def test_junit_file_validates_and_reports_each_case(tmp_path: Path) -> None:
    target = tmp_path / "out" / "smoke.xml"
    with faulty({"responses": "text"}) as router:
        code, data, _ = run_json(router, "--junit", str(target))
    assert code == 4
    root = ET.parse(target).getroot()
    xmlschema.XMLSchema(str(XSD)).validate(ET.ElementTree(root))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == DEFAULT_NAMES
    assert {c.get("classname") for c in cases} == {"crazycall.smoke"}
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert [name for name, f in failures.items() if f is not None] == ["gpt-5.4 [responses]"]
    failure = failures["gpt-5.4 [responses]"]
    assert failure is not None and failure.get("message") == "answered in text, no tool call"
    assert failure.get("type") == "provider"
    assert [float(c.get("time") or "-1") >= 0 for c in cases] == [True] * 4
    assert data[1]["reason"] == failure.get("message")


def test_junit_when_all_pass(router: OfflineRouter, tmp_path: Path) -> None:
    target = tmp_path / "smoke.xml"
    code, _, err = run(router, "--junit", str(target))
    assert code == 0, err
    root = ET.parse(target).getroot()
    xmlschema.XMLSchema(str(XSD)).validate(ET.ElementTree(root))
    assert root.findall(".//failure") == []
    assert len(root.findall(".//testcase")) == 4


# ---------------------------------------------------------------- cases and smoke.yaml


def test_case_flags(router: OfflineRouter) -> None:
    code, data, err = run_json(
        router, "--no-defaults", "--case", "gpt-4o", "--case", "claude-opus-4-1:chat", "--case", "gemini-2.5-flash"
    )
    assert code == 0, err
    assert [d["name"] for d in data] == ["gpt-4o [chat]", "claude-opus-4-1 [chat]", "gemini-2.5-flash [gemini]"]
    assert [r.path for r in router.requests if r.protocol == "gemini"] == [
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    ]


def test_case_adds_to_the_defaults(router: OfflineRouter) -> None:
    code, data, _ = run_json(router, "--case", "deepseek-v3", "--case", "gpt-5.4:chat")
    assert code == 0
    assert [d["name"] for d in data] == [*DEFAULT_NAMES, "deepseek-v3 [chat]"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "gpt-5.4:respones"], "unknown protocol 'respones' (did you mean 'responses'?)"),
        (["--case", "claude-sonnet-4-6:responses"], "--protocol responses cannot be used with claude-sonnet-4-6"),
        (["--no-defaults"], "no smoke cases to run"),
        (["--tool-choice", "auto"], "--tool-choice 'auto': choose one of: required, tool"),
        (["--fault", "chat=text"], "--fault only applies to the built-in router: add --offline"),
        (["--timeout", "0"], "--timeout must be more than 0 seconds"),
        (["-o", "yaml"], "unknown output mode 'yaml'"),
    ],
)
def test_usage_errors(router: OfflineRouter, args: list[str], message: str) -> None:
    code, out, err = run(router, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("crazycall: error: ") and message in err
    assert router.requests == []


def test_no_api_key_is_a_usage_error() -> None:
    code, _, err = run(None)
    assert code == 2
    assert "no API key" in err and "--offline" in err


SMOKE_YAML = """\
defaults: false
cases:
  - model: gpt-5.4
    marker: function_call
    prompt: What time is it in Asia/Tokyo? Use get_time.
  - model: house-model
    protocol: messages
    tool:
      name: lookup_order
      description: Find an order by id.
      parameters:
        type: object
        properties:
          order_id: {type: string, examples: [A-1001]}
        required: [order_id]
      result: {status: shipped}
"""


def test_smoke_yaml_cases(router: OfflineRouter, tmp_path: Path) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(SMOKE_YAML, encoding="utf-8")
    code, data, err = run_json(router, "--file", str(path), "--round-trip")
    assert code == 0, err
    assert [(d["name"], d["tool"], d["marker"]) for d in data] == [
        ("gpt-5.4 [responses]", "get_time", "function_call"),
        ("house-model [messages]", "lookup_order", "tool_use"),
    ]
    responses = [r for r in router.requests if r.protocol == "responses"]
    assert _tool_result_of(responses[1])["timezone"] == "Asia/Tokyo"
    messages = [r for r in router.requests if r.protocol == "messages"]
    assert [t["name"] for t in messages[0].body["tools"]] == ["lookup_order"]
    assert messages[1].body["messages"][1]["content"][0]["input"] == {"order_id": "A-1001"}
    assert _tool_result_of(messages[1]) == {"status": "shipped"}


def test_smoke_yaml_in_the_working_directory_is_read(
    router: OfflineRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "smoke.yaml").write_text("defaults: false\ncases:\n  - model: gpt-4.1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, data, _ = run_json(router)
    assert code == 0
    assert [d["name"] for d in data] == ["gpt-4.1 [chat]"]


def test_smoke_yaml_errors_name_file_and_line(
    router: OfflineRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "smoke.yaml").write_text("cases:\n  - model: gpt-5.4\n    protocl: chat\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(router)
    assert code == 3
    assert out == ""
    assert err == (
        "crazycall: error: smoke.yaml:3: case at line 2: unknown key 'protocl' (did you mean 'protocol'?); "
        "allowed: model, protocol, prompt, tool, marker\n"
    )
    assert router.requests == []

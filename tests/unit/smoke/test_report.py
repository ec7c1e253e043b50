"""Smoke reports: JSON objects, plain lines, the Rich table, and JUnit XML checked against a real JUnit XSD."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from rich.console import Console

from crazycall.errors import UsageError
from crazycall.redact import remember
from crazycall.render.tables import write_smoke_table as write_table
from crazycall.smoke.cases import make_case
from crazycall.smoke.report import as_json, junit_xml, summary, write_json, write_junit, write_plain
from crazycall.smoke.runner import CaseResult

XSD = Path(__file__).resolve().parents[2] / "fixtures" / "junit" / "junit-10.xsd"

PASSED = CaseResult(make_case("gpt-5.4", "chat"), "/v1/chat/completions", 812.46)
FAILED = CaseResult(
    make_case("gpt-5.4", "responses"),
    "/v1/responses",
    95.0,
    "HTTP 404 from /v1/responses: Invalid URL (POST /v1/responses)",
    4,
    "responses /v1/responses: HTTP 404 invalid_request_error: Invalid URL (POST /v1/responses)",
)
CUT = CaseResult(
    make_case("gemini-3-pro", "gemini"),
    "/v1beta/models/gemini-3-pro:streamGenerateContent",
    1234.5678,
    "stream cut: RemoteProtocolError: peer closed connection",
    5,
)
ROUND_TRIP = CaseResult(make_case("claude-sonnet-4-6", "messages"), "/v1/messages", 10.0, answer="It is 14:03.")


def test_json_object_shape() -> None:
    assert as_json(PASSED) == {
        "name": "gpt-5.4 [chat]",
        "model": "gpt-5.4",
        "protocol": "chat",
        "endpoint": "/v1/chat/completions",
        "tool": "get_time",
        "marker": "tool_calls",
        "status": "pass",
        "reason": None,
        "latency_ms": 812.46,
        "exit_code": 0,
        "detail": None,
        "answer": None,
    }
    failed = as_json(FAILED)
    assert (failed["status"], failed["reason"], failed["exit_code"]) == ("fail", FAILED.reason, 4)
    assert failed["marker"] == "function_call" and failed["detail"] == FAILED.detail
    assert as_json(ROUND_TRIP)["answer"] == "It is 14:03."


def test_write_json_is_one_array() -> None:
    out = io.StringIO()
    write_json([PASSED, FAILED], out)
    data = json.loads(out.getvalue())
    assert [d["name"] for d in data] == ["gpt-5.4 [chat]", "gpt-5.4 [responses]"]


def test_reports_redact_secrets() -> None:
    remember("sk-smoke-secret-123456")
    leaky = CaseResult(PASSED.case, "/x", 1.0, "HTTP 401 from /x: bad key sk-smoke-secret-123456", 4, "key=abc")
    assert as_json(leaky)["reason"] == "HTTP 401 from /x: bad key ***"
    out = io.StringIO()
    write_plain([leaky], out)
    assert "sk-smoke-secret" not in out.getvalue()
    assert b"sk-smoke-secret" not in junit_xml([leaky], 1.0, {"base_url": "http://h/?key=sk-smoke-secret-123456"})


def test_summary_never_looks_like_a_test_runner_line() -> None:
    assert summary([PASSED, PASSED]) == "all 2 smoke cases passed"
    assert summary([PASSED, FAILED, CUT]) == "1 of 3 smoke cases passed"


def test_plain_lines() -> None:
    out = io.StringIO()
    write_plain([PASSED, FAILED], out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["PASS", "gpt-5.4", "[chat]", "/v1/chat/completions", "tool_calls", "812", "ms"]
    assert lines[1].startswith("FAIL  gpt-5.4 [responses]  /v1/responses")
    assert lines[1].endswith(" 95 ms  HTTP 404 from /v1/responses: Invalid URL (POST /v1/responses)")
    assert lines[2] == "1 of 2 smoke cases passed"


def test_rich_table() -> None:
    out = io.StringIO()
    write_table([PASSED, FAILED], Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    header = next(line for line in text.splitlines() if "model" in line)
    assert [h.strip() for h in header.strip("┃ ").split("┃")] == [
        "model",
        "protocol",
        "endpoint",
        "marker",
        "latency",
        "status",
        "reason",
    ]
    row = next(line for line in text.splitlines() if "responses" in line and "FAIL" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells == [
        "gpt-5.4",
        "responses",
        "/v1/responses",
        "function_call",
        "95 ms",
        "FAIL",
        "HTTP 404 from /v1/responses: Invalid URL (POST /v1/responses)",
    ]
    assert text.rstrip().endswith("1 of 2 smoke cases passed")


def parse_and_validate(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    xmlschema.XMLSchema(str(XSD)).validate(ET.ElementTree(root))
    return root


def test_junit_validates_against_the_junit_schema() -> None:
    root = parse_and_validate(junit_xml([PASSED, FAILED, CUT, ROUND_TRIP], 2345.0, {"stream": "true"}))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert {k: suite.get(k) for k in ("name", "tests", "failures", "errors", "skipped", "time")} == {
        "name": "crazycall smoke",
        "tests": "4",
        "failures": "2",
        "errors": "0",
        "skipped": "0",
        "time": "2.345",
    }
    assert [(p.get("name"), p.get("value")) for p in suite.iter("property")] == [("stream", "true")]
    cases = suite.findall("testcase")
    assert [(c.get("name"), c.get("classname"), c.get("time")) for c in cases] == [
        ("gpt-5.4 [chat]", "crazycall.smoke", "0.812"),
        ("gpt-5.4 [responses]", "crazycall.smoke", "0.095"),
        ("gemini-3-pro [gemini]", "crazycall.smoke", "1.235"),
        ("claude-sonnet-4-6 [messages]", "crazycall.smoke", "0.010"),
    ]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert (failure.get("message"), failure.get("type")) == (FAILED.reason, "provider")
    assert failure.text is not None and FAILED.detail in failure.text and "exit code 4" in failure.text
    cut = cases[2].find("failure")
    assert cut is not None and cut.get("type") == "transport"
    out = cases[3].find("system-out")
    assert out is not None and out.text == "tool_use from /v1/messages\nanswer: It is 14:03."


def test_the_schema_check_can_fail() -> None:
    # the XSD really constrains the document: a testcase without a name is rejected
    bad = b'<testsuite name="x" tests="1" failures="0" errors="0"><testcase classname="c"/></testsuite>'
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        parse_and_validate(bad)


def test_junit_escapes_markup_in_reasons() -> None:
    odd = CaseResult(PASSED.case, "/x", 1.0, "answered in text, no tool call", 4, 'text: <b>"now" & then</b>')
    root = parse_and_validate(junit_xml([odd], 1.0, {}))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.text is not None and '<b>"now" & then</b>' in failure.text


def test_write_junit_creates_folders(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "smoke.xml"
    write_junit(target, [PASSED], 1.0, {})
    parse_and_validate(target.read_bytes())


def test_write_junit_reports_an_unwritable_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match=r"--junit .*: cannot write the JUnit file"):
        write_junit(tmp_path / "file" / "smoke.xml", [PASSED], 1.0, {})

"""Reporting smoke results: plain lines, a JSON array, JUnit XML (the Rich table is ``render/tables.py``).

Owns the shapes users' CI reads (a contract: keys and attributes are added, never renamed): the JSON objects
(``name``, ``model``, ``protocol``, ``endpoint``, ``tool``, ``marker``, ``status``, ``reason``, ``latency_ms``,
``exit_code``, ``detail``, ``answer``) and the JUnit document (``<testsuites>`` with one ``<testsuite>``, one
``<testcase name="MODEL [PROTOCOL]" classname="crazycall.smoke">`` per case, ``<failure message=REASON>``),
valid against the common Jenkins/Surefire JUnit schema. Every string passes through ``redact``. It runs
nothing and decides nothing: results and their exit codes come from runner.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from crazycall.errors import UsageError
from crazycall.redact import redact
from crazycall.smoke.runner import CaseResult

JUNIT_CLASSNAME = "crazycall.smoke"
SUITE_NAME = "crazycall smoke"


def as_json(result: CaseResult) -> dict[str, Any]:
    case = result.case
    return {
        "name": case.name,
        "model": case.model,
        "protocol": case.protocol,
        "endpoint": redact(result.endpoint),
        "tool": case.tool.name,
        "marker": case.marker,
        "status": "pass" if result.passed else "fail",
        "reason": None if result.reason is None else redact(result.reason),
        "latency_ms": result.latency_ms,
        "exit_code": result.exit_code,
        "detail": redact(result.detail) if result.detail else None,
        "answer": redact(result.answer) if result.answer else None,
    }


def write_json(results: Sequence[CaseResult], out: TextIO) -> None:
    json.dump([as_json(r) for r in results], out, ensure_ascii=False, indent=2)
    out.write("\n")


def summary(results: Sequence[CaseResult]) -> str:
    """One closing line. Deliberately not "N passed, N failed": CI log scanners read that as a test run."""
    passed = sum(r.passed for r in results)
    if passed == len(results):
        return f"all {len(results)} smoke cases passed"
    return f"{passed} of {len(results)} smoke cases passed"


def latency(result: CaseResult) -> str:
    return f"{result.latency_ms:.0f} ms"


def write_plain(results: Sequence[CaseResult], out: TextIO) -> None:
    """One aligned line per case, for CI logs and pipes."""
    from crazycall.render.sanitize import visible_line

    rows = [
        ("PASS" if r.passed else "FAIL", r.case.name, r.endpoint, r.case.marker, latency(r), r.reason or "")
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=False)]
        head = "  ".join([*cells, row[4].rjust(widths[4])])
        out.write(visible_line(redact(f"{head}  {row[5]}".rstrip())) + "\n")
    out.write(summary(results) + "\n")


def _seconds(ms: float) -> str:
    """JUnit time: seconds with at most three decimals (the schema's SUREFIRE_TIME pattern)."""
    return f"{ms / 1000:.3f}"


@dataclass(frozen=True)
class JUnitCase:
    """One ``<testcase>``: a failure (message, type, text) or, when it passed, its ``system-out``."""

    name: str
    classname: str
    time_ms: float
    failure: str | None = None
    failure_type: str = "error"
    text: str = ""


def junit_document(
    suite_name: str, cases: Sequence[JUnitCase], elapsed_ms: float, properties: Mapping[str, str]
) -> bytes:
    """A JUnit document (one testsuite) valid against the Jenkins/Surefire schema; shared by smoke and eval."""
    import datetime as dt
    import socket
    import xml.etree.ElementTree as ET

    failures = sum(c.failure is not None for c in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", {"name": suite_name, **counts, "time": _seconds(elapsed_ms)})
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": suite_name,
            **counts,
            "skipped": "0",
            "time": _seconds(elapsed_ms),
            "timestamp": stamp,
            "hostname": socket.gethostname(),
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in properties.items():
        ET.SubElement(props, "property", {"name": name, "value": redact(value)})
    for c in cases:
        case = ET.SubElement(suite, "testcase", {"name": c.name, "classname": c.classname, "time": _seconds(c.time_ms)})
        if c.failure is None:
            ET.SubElement(case, "system-out").text = redact(c.text)
            continue
        failure = ET.SubElement(case, "failure", {"message": redact(c.failure), "type": c.failure_type})
        failure.text = redact(c.text)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def junit_xml(results: Sequence[CaseResult], elapsed_ms: float, properties: Mapping[str, str]) -> bytes:
    """The smoke JUnit document: one testcase per case, a failure element with the reason."""
    cases = []
    for r in results:
        if r.passed:
            out = f"{r.case.marker} from {r.endpoint}" + (f"\nanswer: {r.answer}" if r.answer else "")
            cases.append(JUnitCase(r.case.name, JUNIT_CLASSNAME, r.latency_ms, text=out))
            continue
        text = "\n".join(filter(None, [r.reason, r.detail, f"exit code {r.exit_code}"]))
        cases.append(JUnitCase(r.case.name, JUNIT_CLASSNAME, r.latency_ms, r.reason or "", _failure_type(r), text))
    return junit_document(SUITE_NAME, cases, elapsed_ms, properties)


def _failure_type(result: CaseResult) -> str:
    from crazycall.errors import EXIT_PROTOCOL, EXIT_PROVIDER, EXIT_TRANSPORT, EXIT_UNEXPECTED

    kinds = {EXIT_PROVIDER: "provider", EXIT_TRANSPORT: "transport", EXIT_PROTOCOL: "protocol"}
    kinds[EXIT_UNEXPECTED] = "unexpected"
    return kinds.get(result.exit_code, "error")


def write_junit(path: Path, results: Sequence[CaseResult], elapsed_ms: float, properties: Mapping[str, str]) -> None:
    write_junit_bytes(path, junit_xml(results, elapsed_ms, properties))


def write_junit_bytes(path: Path, data: bytes) -> None:
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as err:
        raise UsageError(f"--junit {path}: cannot write the JUnit file: {err.strerror or err}") from None

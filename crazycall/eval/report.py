"""The eval report from result rows: the summary object (``--json``), a text table, Markdown and JUnit.

Owns the report's shapes (a contract, README "Evaluating tool calling"): ``cells`` (pass rate per case and
model), ``models`` (per model: rows, passed, pass rate, p50/p95 latency, mean turns, tokens in/out, errors),
``failures`` (the worst, with their reasons) and ``passed``/``total``/``pass_rate``. The same rows always give
the same report, however they were split into shards. JUnit is smoke's writer (``junit_document``). Every
string from a row passes through ``redact`` and, for the terminal, ``visible_line``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from crazycall.redact import redact

Row = Mapping[str, Any]
MAX_FAILURES = 10
JUNIT_CLASSNAME = "crazycall.eval"
SUITE_NAME = "crazycall eval"


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _order(rows: Sequence[Row], key: str) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.setdefault(str(row[key]), None)
    return list(seen)


def _model_summary(rows: Sequence[Row]) -> dict[str, Any]:
    latencies = [float(r.get("latency_ms") or 0) for r in rows]
    passed = sum(bool(r.get("passed")) for r in rows)
    return {
        "rows": len(rows),
        "passed": passed,
        "pass_rate": round(passed / len(rows), 4) if rows else 0.0,
        "p50_latency_ms": _percentile(latencies, 0.5),
        "p95_latency_ms": _percentile(latencies, 0.95),
        "mean_turns": round(sum(int(r.get("turns") or 0) for r in rows) / len(rows), 2) if rows else 0.0,
        "input_tokens": sum(int((r.get("usage") or {}).get("input_tokens") or 0) for r in rows),
        "output_tokens": sum(int((r.get("usage") or {}).get("output_tokens") or 0) for r in rows),
        "errors": sum(r.get("error") is not None for r in rows),
        **_cost(rows),
    }


def _cost(rows: Sequence[Row]) -> dict[str, float]:
    """``cost_usd`` summed over the rows that have one (``prices:``); absent when none has: never a guess."""
    costs = [float(r["cost_usd"]) for r in rows if isinstance(r.get("cost_usd"), int | float)]
    return {"cost_usd": round(sum(costs), 8)} if costs else {}


def build(rows: Sequence[Row]) -> dict[str, Any]:
    """The whole report as one JSON-ready object; rows are sorted first so shard order does not matter."""
    rows = sorted(rows, key=lambda r: (str(r["case"]), str(r["model"]), int(r["repeat"])))
    cases, models = _order(rows, "case"), _order(rows, "model")
    cells: dict[str, dict[str, dict[str, int]]] = {c: {} for c in cases}
    for row in rows:
        cell = cells[str(row["case"])].setdefault(str(row["model"]), {"passed": 0, "rows": 0})
        cell["rows"] += 1
        cell["passed"] += bool(row.get("passed"))
    failed = [r for r in rows if not r.get("passed")]
    failed.sort(key=lambda r: (r.get("error") is None, str(r["case"]), str(r["model"]), int(r["repeat"])))
    passed = len(rows) - len(failed)
    return {
        **_cost(rows),
        "total": len(rows),
        "passed": passed,
        "pass_rate": round(passed / len(rows), 4) if rows else 0.0,
        "cases": cases,
        "model_names": models,
        "cells": cells,
        "models": {m: _model_summary([r for r in rows if r["model"] == m]) for m in models},
        "failures": [
            {k: r.get(k) for k in ("case", "model", "repeat", "reason", "run_id")} for r in failed[:MAX_FAILURES]
        ],
    }


def _rate(cell: Mapping[str, int] | None) -> str:
    if not cell:
        return "-"
    return f"{cell['passed']}/{cell['rows']}"


def write_json(report: Mapping[str, Any], out: TextIO) -> None:
    out.write(json.dumps(redact_report(report), ensure_ascii=False, indent=2) + "\n")


def redact_report(report: Mapping[str, Any]) -> Any:
    from crazycall.redact import redact_data

    return redact_data(dict(report))


def _table_rows(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: a row per case and one per summary line, a column per model."""
    models: list[str] = report["model_names"]
    head = ["case", *models]
    body = [[case, *(_rate(report["cells"][case].get(m)) for m in models)] for case in report["cases"]]
    summary = report["models"]
    body.append(["pass rate", *(f"{summary[m]['pass_rate'] * 100:.0f}%" for m in models)])
    body.append(
        ["p50/p95 ms", *(f"{summary[m]['p50_latency_ms']:.0f}/{summary[m]['p95_latency_ms']:.0f}" for m in models)]
    )
    body.append(["mean turns", *(f"{summary[m]['mean_turns']:g}" for m in models)])
    body.append(["tokens in/out", *(f"{summary[m]['input_tokens']}/{summary[m]['output_tokens']}" for m in models)])
    body.append(["errors", *(str(summary[m]["errors"]) for m in models)])
    return head, body


def chunks(models: Sequence[str], first: int, width: int, pad: int = 2) -> list[list[str]]:
    """Models per table so each table fits ``width`` columns (many models: several tables, none cut);
    ``first``: the width of the case column."""
    groups: list[list[str]] = [[]]
    used = first
    for model in models:
        need = max(len(model), 9) + pad
        if groups[-1] and used + need > width:
            groups.append([])
            used = first
        groups[-1].append(model)
        used += need
    return groups


def write_text(report: Mapping[str, Any], out: TextIO, width: int = 80) -> None:
    """Plain aligned tables (split by models to fit ``width``), then the worst failures and a closing line."""
    from crazycall.render.sanitize import visible_line

    first = max([len("tokens in/out"), *(len(c) for c in report["cases"])])
    for group in chunks(report["model_names"], first, width):
        head, body = _table_rows({**report, "model_names": group})
        grid = [head, *body]
        widths = [max(len(visible_line(str(r[i]))) for r in grid) for i in range(len(head))]
        for row in grid:
            cells = [visible_line(redact(str(c))).ljust(w) for c, w in zip(row, widths, strict=True)]
            out.write("  ".join(cells).rstrip() + "\n")
        out.write("\n")
    for failure in report["failures"]:
        line = f"FAIL {failure['case']} [{failure['model']} #{failure['repeat']}]: {failure['reason']}"
        out.write(visible_line(redact(line)) + "\n")
    out.write(summary_line(report) + "\n")


def summary_line(report: Mapping[str, Any]) -> str:
    rate = report["pass_rate"] * 100
    cost = f", ${report['cost_usd']:.6f}" if "cost_usd" in report else ""
    return f"eval: {report['passed']} of {report['total']} conversations passed ({rate:.0f}%{cost})"


def markdown(report: Mapping[str, Any]) -> str:
    """GitHub-flavoured Markdown (for ``$GITHUB_STEP_SUMMARY``): the table, the failures, the summary line."""

    def cell(text: Any) -> str:
        return redact(str(text)).replace("|", "\\|").replace("\n", " ")

    head, body = _table_rows(report)
    lines = ["## crazycall eval", "", "| " + " | ".join(cell(h) for h in head) + " |"]
    lines.append("|" + "---|" * len(head))
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]
    if report["failures"]:
        lines += ["", "### Failures", ""]
        for f in report["failures"]:
            lines.append(f"- `{cell(f['case'])}` on `{cell(f['model'])}` #{f['repeat']}: {cell(f['reason'])}")
    lines += ["", summary_line(report), ""]
    return "\n".join(lines)


def junit(rows: Sequence[Row], report: Mapping[str, Any], properties: Mapping[str, str]) -> bytes:
    """One testcase per (case, model); a failure carries every failing repeat's reason."""
    from crazycall.smoke.report import JUnitCase, junit_document

    cases = []
    for case in report["cases"]:
        for model in report["model_names"]:
            mine = [r for r in rows if r["case"] == case and r["model"] == model]
            if not mine:
                continue
            ms = sum(float(r.get("latency_ms") or 0) for r in mine)
            bad = sorted((r for r in mine if not r.get("passed")), key=lambda r: int(r["repeat"]))
            name = f"{case} [{model}]"
            if not bad:
                cases.append(JUnitCase(name, JUNIT_CLASSNAME, ms, text=f"{len(mine)} of {len(mine)} passed"))
                continue
            message = f"{len(bad)} of {len(mine)} failed: {bad[0].get('reason')}"
            text = "\n".join(f"repeat {r['repeat']}: {r.get('reason')}" for r in bad)
            kind = "error" if any(r.get("error") for r in bad) else "assertion"
            cases.append(JUnitCase(name, JUNIT_CLASSNAME, ms, message, kind, text))
    total_ms = sum(float(r.get("latency_ms") or 0) for r in rows)
    return junit_document(SUITE_NAME, cases, total_ms, properties)


def write_file(flag: str, path: Path, data: str | bytes) -> None:
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as err:
        from crazycall.errors import UsageError

        raise UsageError(f"{flag} {path}: cannot write: {err.strerror or err}") from None

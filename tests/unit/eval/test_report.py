"""The eval report's text form fits 80 columns however many models there are, and its Markdown escapes cells."""

from __future__ import annotations

import io
from typing import Any

from crazycall.eval.report import build, markdown, write_text


def row(case: str, model: str, passed: bool, reason: str | None = None) -> dict[str, Any]:
    return {"case": case, "model": model, "repeat": 0, "passed": passed, "reason": reason, "latency_ms": 10.0}


def test_many_models_are_split_into_tables_that_fit_80_columns() -> None:
    models = [f"vendor/model-number-{i}:chat" for i in range(9)]
    rows = [row(f"case-{c}", m, c % 2 == 0, "calls: x") for c in range(3) for m in models]
    out = io.StringIO()
    write_text(build(rows), out, width=80)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(any(m in line for line in lines if line.startswith("case ")) for m in models)  # in a header
    assert lines[-1] == "eval: 18 of 27 conversations passed (67%)"


def test_markdown_escapes_pipes_and_lists_failures() -> None:
    text = markdown(build([row("a|b", "m:chat", False, "text.regex: answer does not match /x|y/")]))
    assert "| a\\|b | 0/1 |" in text
    assert "- `a\\|b` on `m:chat` #0: text.regex: answer does not match /x\\|y/" in text


def test_the_terminal_table_fits_80_columns_with_every_model() -> None:
    from crazycall.render.eval_view import write_table

    models = [f"vendor/model-number-{i}:chat" for i in range(7)]
    rows = [row(f"case-{c}", m, c == 0, "calls: x") for c in range(2) for m in models]
    out = io.StringIO()
    write_table(build(rows), out, color=False, width=80)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(any(m in line for line in lines if "┃" in line) for m in models)  # in a header, whole
    assert lines[-1] == "eval: 7 of 14 conversations passed (50%)"

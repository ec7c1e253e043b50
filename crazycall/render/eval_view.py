"""``crazycall eval`` at a terminal: the report as a coloured Rich table, and a live progress bar on stderr.

Owns only how the eval report and progress look at a terminal; the report's content comes from
``crazycall.eval.report.build`` and the plain forms (pipes, CI logs) from that module. Rich is imported here,
when a terminal asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from crazycall.redact import redact
from crazycall.render.sanitize import visible_line


def _style(cell: Mapping[str, int] | None) -> tuple[str, str]:
    if not cell:
        return "-", "dim"
    rate = cell["passed"] / cell["rows"] if cell["rows"] else 0.0
    style = "green" if rate == 1 else ("red" if rate == 0 else "yellow")
    return f"{cell['passed']}/{cell['rows']}", style


def write_table(report: Mapping[str, Any], out: TextIO, color: bool = True, width: int | None = None) -> None:
    """Cases as rows, models as columns (several tables when the models do not fit), summaries, failures."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from crazycall.eval.report import chunks, summary_line

    console = Console(file=out, no_color=not color or None, highlight=False, width=width)
    models: list[str] = report["model_names"]
    first = max([len("tokens in/out"), *(len(c) for c in report["cases"])]) + 4  # borders and padding
    for group in chunks(models, first, console.width, pad=3):
        table = Table(title="crazycall eval", title_justify="left", expand=False)
        table.add_column("case", overflow="fold")
        for model in group:
            table.add_column(visible_line(redact(model)), justify="right", overflow="fold")
        for case in report["cases"]:
            cells = [Text(*_style(report["cells"][case].get(m))) for m in group]
            table.add_row(visible_line(redact(case)), *cells)
        table.add_section()
        summary = report["models"]
        table.add_row("pass rate", *(f"{summary[m]['pass_rate'] * 100:.0f}%" for m in group))
        table.add_row(
            "p50/p95 ms", *(f"{summary[m]['p50_latency_ms']:.0f}/{summary[m]['p95_latency_ms']:.0f}" for m in group)
        )
        table.add_row("mean turns", *(f"{summary[m]['mean_turns']:g}" for m in group))
        table.add_row("tokens in/out", *(f"{summary[m]['input_tokens']}/{summary[m]['output_tokens']}" for m in group))
        table.add_row("errors", *(str(summary[m]["errors"]) for m in group))
        console.print(table)
    for failure in report["failures"]:
        line = Text(
            f"FAIL {visible_line(redact(str(failure['case'])))} [{failure['model']} #{failure['repeat']}]: ",
            style="bold red",
        )
        line.append(visible_line(redact(str(failure["reason"]))), style="red")
        console.print(line)
    style = "green" if report["passed"] == report["total"] else "bold red"
    console.print(Text(summary_line(report), style=style))


class ProgressBar:
    """done/total, passes, failures, elapsed and ETA, redrawn on stderr as each conversation finishes."""

    def __init__(self, total: int, err: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.passed = self.failed = 0
        self.progress = Progress(
            TextColumn("eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[passed]} pass[/] [red]{task.fields[failed]} fail[/]"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=err),
            transient=True,
        )
        self.task = self.progress.add_task("eval", total=total, passed=0, failed=0)
        self.progress.start()

    def __call__(self, row: Mapping[str, Any]) -> None:
        if row.get("passed"):
            self.passed += 1
        else:
            self.failed += 1
        self.progress.update(self.task, advance=1, passed=self.passed, failed=self.failed)

    def close(self) -> None:
        self.progress.stop()

"""Tables and other Rich output of the commands that are not a conversation: ``tools list``/``tools show``,
``config show`` and the smoke report.

Owns how those look at a terminal; what goes in each cell is decided by the command (``commands/tools.py``,
``commands/config.py``, ``smoke/report.py``). Rich is imported inside each function: only a terminal pays
for it, and the command modules themselves never import Rich (a ruff rule keeps Rich under ``render/``).
Every cell is a ``Text``, never a ``str``: a description with ``[brackets]`` must not be read as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from crazycall.smoke.runner import CaseResult

WIDE_TABLE = 120
"""Columns from which the smoke table also shows the endpoint and the marker."""
REASON_COLUMN = 100
"""Columns from which the failure reason is a column of its own; below, each reason is printed whole under
the table (a reason squeezed into a narrow column would be one word per line)."""


def _stdout_console() -> Console:
    from rich.console import Console

    # emoji=False: every cell is a Text (never emoji-replaced anyway); it spares importing Rich's emoji table
    return Console(highlight=False, emoji=False)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal as Rich sees it (FORCE_COLOR, TTY_COMPATIBLE and the like included)."""
    return _stdout_console().is_terminal


def print_tool_table(rows: Sequence[Sequence[str]]) -> None:
    """``tools list`` at a terminal: Name, Parameters, Source, Description (cells already made visible)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Name", style="bold", overflow="fold")
    table.add_column("Parameters", overflow="fold")
    table.add_column("Source", overflow="fold")
    table.add_column("Description", overflow="fold")
    for row in rows:
        table.add_row(*map(Text, row))
    _stdout_console().print(table)


def print_tool(title: str, description: str, timeout: float | None, schema_json: str) -> None:
    """``tools show``: the title line, the description, the timeout and the schema, highlighted as JSON."""
    from rich.console import Console
    from rich.syntax import Syntax

    console = Console(highlight=False)
    console.print(title, markup=False, style="bold")
    console.print(description, markup=False)
    if timeout is not None:
        console.print(f"timeout: {timeout:g}s")
    console.print(Syntax(schema_json, "json", theme="ansi_dark", background_color="default"))


def print_settings_table(rows: Sequence[tuple[str, str, str]], footer: str) -> None:
    """``config show``: Setting, Value, Source (a route glob like ``gpt-[45]*`` is text, not markup)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Setting", style="bold", no_wrap=True)
    table.add_column("Value", overflow="fold")
    table.add_column("Source", overflow="fold")
    for name, value, source in rows:
        table.add_row(Text(name), Text(value), Text(source))
    console = Console(highlight=False)
    console.print(table)
    console.print(footer, markup=False)


def write_smoke_report(results: Sequence[CaseResult], out: TextIO, color: bool) -> None:
    """The smoke report at a terminal (``-o rich``), written to ``out``."""
    from rich.console import Console

    write_smoke_table(results, Console(file=out, no_color=not color or None, highlight=False))


def write_smoke_table(results: Sequence[CaseResult], console: Console) -> None:
    """The smoke table; it fits any width from 60 columns up and the reason is always whole."""
    from rich.table import Table
    from rich.text import Text

    from crazycall.redact import redact
    from crazycall.render.sanitize import visible_line
    from crazycall.smoke.report import latency, summary

    wide, inline = console.width >= WIDE_TABLE, console.width >= REASON_COLUMN
    table = Table(title="crazycall smoke", title_justify="left", expand=False)
    table.add_column("model", overflow="fold")
    table.add_column("protocol", overflow="fold")
    if wide:
        table.add_column("endpoint", overflow="fold")
        table.add_column("marker", overflow="fold")
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if inline:
        table.add_column("reason", overflow="fold", ratio=1)
    for r in results:
        status = Text("pass", style="bold green") if r.passed else Text("FAIL", style="bold red")
        cells: list[Text | str] = [visible_line(r.case.model), visible_line(r.case.protocol)]
        if wide:
            cells += [visible_line(redact(r.endpoint)), r.case.marker]
        cells += [latency(r), status]
        if inline:
            cells.append(Text(visible_line(redact(r.reason or "")), style="red"))
        table.add_row(*cells)
    console.print(table)
    if not inline:
        for r in results:
            if not r.passed:
                line = Text(f"FAIL {visible_line(r.case.name)}: ", style="bold red")
                line.append(visible_line(redact(r.reason or "")), style="red")
                console.print(line)
    style = "green" if all(r.passed for r in results) else "bold red"
    console.print(Text(summary(results), style=style))

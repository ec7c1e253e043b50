"""The ``config`` command group: ``config show`` prints the effective settings and where each came from.

Owns only the display. Resolution (flag > environment > config file > defaults) and the masking of the key
belong to ``crazycall.settings``; every printed value also passes through ``crazycall.redact``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def settings_report() -> dict[str, Any]:
    """The effective settings (key masked), each with its source, and the config file consulted."""
    from crazycall.redact import redact_data
    from crazycall.settings import load_settings

    settings = load_settings()
    path = settings.config_path
    report = {
        "config_file": str(path) if path else None,
        "config_file_exists": bool(path and path.is_file()),
        "settings": {
            name: {"value": value, "source": settings.sources.get(name, "default")}
            for name, value in settings.redacted().items()
        },
    }
    result: dict[str, Any] = redact_data(report)
    return result


def show_config(json_out: JsonOption = False) -> None:
    """Show the effective settings, the API key masked, and where each value came from."""
    import json

    report = settings_report()
    if json_out:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Setting", style="bold", no_wrap=True)
    table.add_column("Value", overflow="fold")
    table.add_column("Source", overflow="fold")
    for name, item in report["settings"].items():
        # Text, not str: a route glob like "gpt-[45]*" must not be read as Rich markup
        table.add_row(Text(name), Text(_display(item["value"])), Text(item["source"]))
    console = Console(highlight=False)
    console.print(table)
    state = "" if report["config_file_exists"] else " (not found)"
    console.print(f"config file: {report['config_file']}{state}", markup=False)


def _display(value: Any) -> str:
    import json

    if value is None:
        return "(not set)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else "(none)"
    return str(value)


def register(app: typer.Typer) -> None:
    """Add the ``config`` group to the root app."""
    from crazycall.cli import handled

    config_app = typer.Typer(
        name="config", help="Show crazycall's effective settings.", no_args_is_help=True, rich_markup_mode=None
    )
    config_app.command("show")(handled(show_config))
    app.add_typer(config_app)

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
    from crazycall.render.tables import print_settings_table

    rows = [(name, _display(item["value"]), item["source"]) for name, item in report["settings"].items()]
    state = "" if report["config_file_exists"] else " (not found)"
    print_settings_table(rows, f"config file: {report['config_file']}{state}")


def _display(value: Any) -> str:
    import json

    if value is None:
        return "(not set)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else "(none)"
    return str(value)


def register(app: typer.Typer) -> None:
    """Add the ``config`` group to the root app."""
    from crazycall.commands._handling import handled

    config_app = typer.Typer(
        name="config", help="Show crazycall's effective settings.", no_args_is_help=True, rich_markup_mode=None
    )
    config_app.command("show")(handled(show_config))
    app.add_typer(config_app)

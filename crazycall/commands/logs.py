"""``crazycall logs``: list recent runs from their transcripts; ``crazycall logs show [ID|last]`` renders one.

Owns the flags only. Finding runs and showing them is the transcript package's (``crazycall.transcript``:
``store.py`` and ``render.py``), imported when a command runs, so this module never reads the record format.
"""

from __future__ import annotations

import json

import typer

from crazycall.commands._handling import handled


def _width() -> int | None:
    """The terminal's width (COLUMNS first), or None for a pipe: a script gets every column whole."""
    import shutil

    size = shutil.get_terminal_size((0, 0))
    return size.columns or None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    logs_app = typer.Typer(help="List recent runs, or show one (transcripts).", add_completion=False)

    @logs_app.callback(invoke_without_command=True)
    @handled
    def logs_command(
        ctx: typer.Context,
        limit: int = typer.Option(20, "-n", "--limit", min=1, help="How many runs to list (newest first)."),
        json_output: bool = typer.Option(False, "--json", help="Print a JSON array."),
    ) -> None:
        """List recent runs: id, time, model, protocol, turns, outcome, first line of the prompt."""
        if ctx.invoked_subcommand is not None:
            return
        from crazycall.transcript import transcripts_dir
        from crazycall.transcript.render import run_rows, table

        rows = run_rows(limit)
        if json_output:
            typer.echo(json.dumps(rows, ensure_ascii=False))
        elif rows:
            typer.echo(table(rows, _width()))
        else:
            typer.echo(f"no runs recorded yet in {transcripts_dir()}", err=True)

    @logs_app.command("show")
    @handled
    def show_command(
        run_id: str = typer.Argument(
            "last",  # transcript.LATEST, not imported here: start-up stays lazy
            help="A run id (or a unique prefix), a transcript file, or 'last' (the default).",
        ),
        json_output: bool = typer.Option(False, "--json", help="Print the run and all its records as JSON."),
    ) -> None:
        """Show one run (the latest by default): requests, responses, tool calls and results, errors, outcome."""
        from crazycall.transcript import find_run
        from crazycall.transcript.render import show, show_json

        path = find_run(run_id)
        if json_output:
            typer.echo(json.dumps(show_json(path), ensure_ascii=False))
        else:
            typer.echo(show(path))

    app.add_typer(logs_app, name="logs")

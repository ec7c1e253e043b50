"""``crazycall smoke``: the flags (a contract with CI scripts) -> SmokeOptions -> crazycall.smoke.main.

Only typer is imported at module level; the run itself is imported when the command executes.
"""

from __future__ import annotations

from pathlib import Path

import typer

from crazycall.commands._handling import handled


def register(app: typer.Typer) -> None:
    """Add ``smoke`` to the root app."""

    @app.command("smoke")
    @handled
    def smoke_command(
        case: list[str] = typer.Option(
            [], "--case", metavar="MODEL[:PROTOCOL]", help="Add a case (repeatable); the protocol is routed if absent."
        ),
        file: Path | None = typer.Option(
            None, "-f", "--file", help="Cases from this smoke.yaml (default ./smoke.yaml when present)."
        ),
        no_defaults: bool = typer.Option(False, "--no-defaults", help="Skip the four built-in cases."),
        round_trip: bool = typer.Option(
            False, "--round-trip", help="Also run the tool, send the result back and require a text answer."
        ),
        offline: bool = typer.Option(False, "--offline", help="Use the built-in offline router (no key)."),
        fault: list[str] = typer.Option(
            [], "--fault", metavar="PROTOCOL=MODE", help="With --offline: inject text, http500, http401, cut, ..."
        ),
        base_url: str | None = typer.Option(None, "--base-url", help="Router base URL."),
        api_key: str | None = typer.Option(None, "--api-key", help="API key (prefer CRAZYROUTER_API_KEY)."),
        stream: bool = typer.Option(True, "--stream/--no-stream", help="Stream the answers (default on)."),
        tool_choice: str = typer.Option(
            "required", "--tool-choice", help="required (default) or tool (force the probe tool by name)."
        ),
        concurrency: int = typer.Option(4, "--concurrency", min=1, help="Cases run at the same time."),
        timeout: float = typer.Option(60.0, "--timeout", help="Seconds per case, retries included."),
        max_retries: int | None = typer.Option(None, "--max-retries", min=0, help="Retries (default 2)."),
        json_output: bool = typer.Option(False, "--json", help="Print a JSON array, one object per case."),
        output: str = typer.Option("auto", "-o", "--output", help="auto, rich, plain or json."),
        junit: Path | None = typer.Option(None, "--junit", metavar="FILE", help="Also write JUnit XML here."),
        no_color: bool = typer.Option(False, "--no-color", help="No colours (NO_COLOR is honoured too)."),
        verbose: bool = typer.Option(False, "-v", "--verbose", help="Tracebacks for errors."),
    ) -> None:
        """Check that each model returns a tool call on its protocol (exit 0 only when all pass)."""
        from crazycall.commands.offline import parse_faults
        from crazycall.smoke.main import SmokeFailed, SmokeOptions, smoke

        options = SmokeOptions(
            cases=tuple(case),
            file=file,
            no_defaults=no_defaults,
            offline=offline,
            faults=parse_faults(fault),
            base_url=base_url,
            api_key=api_key,
            stream=stream,
            round_trip=round_trip,
            tool_choice=tool_choice,
            concurrency=concurrency,
            timeout=timeout,
            max_retries=max_retries,
            output="json" if json_output else output,
            junit=junit,
            color=not no_color,
        )
        try:
            smoke(options)
        except SmokeFailed as failed:
            failed.reported = True  # the report (the --json array) already says which cases failed
            raise

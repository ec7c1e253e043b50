"""``crazycall eval CASES`` and ``crazycall eval report FILE...``: the flags (a contract) -> crazycall.eval.run.

Only typer is imported at module level; the run itself is imported when the command executes.
"""

from __future__ import annotations

from pathlib import Path

import typer

from crazycall.commands._handling import handled


def register(app: typer.Typer) -> None:
    """Add ``eval`` to the root app."""

    @app.command("eval")
    @handled
    def eval_command(
        target: list[str] = typer.Argument(
            ..., metavar="CASES | report FILE...", help="The cases file (YAML or .jsonl), or: report RESULTS.jsonl..."
        ),
        model: list[str] = typer.Option(
            [],
            "-m",
            "--model",
            metavar="MODEL[:PROTOCOL]",
            help="Models to evaluate (repeatable; default: the file's).",
        ),
        case: list[str] = typer.Option([], "--case", metavar="ID", help="Only these case ids (repeatable)."),
        repeat: int | None = typer.Option(None, "--repeat", help="Conversations per case and model."),
        concurrency: int = typer.Option(4, "--concurrency", help="Conversations at the same time."),
        out: Path | None = typer.Option(None, "--out", metavar="FILE", help="Write one JSON line per conversation."),
        resume: bool = typer.Option(False, "--resume", help="Run only the rows missing from --out."),
        shard: str | None = typer.Option(None, "--shard", metavar="I/N", help="Run a stable 1/N of the rows (auto/N)."),
        offline: bool = typer.Option(False, "--offline", help="Use the built-in offline router (no key)."),
        base_url: str | None = typer.Option(None, "--base-url", help="Router base URL."),
        api_key: str | None = typer.Option(None, "--api-key", help="API key (prefer CRAZYROUTER_API_KEY)."),
        stream: bool = typer.Option(True, "--stream/--no-stream", help="Stream the answers (default on)."),
        timeout: float | None = typer.Option(None, "--timeout", help="Seconds per request, retries included."),
        max_retries: int | None = typer.Option(None, "--max-retries", help="Retries per request (default 2)."),
        tool_timeout: float | None = typer.Option(None, "--tool-timeout", help="Seconds per tool call."),
        no_transcript: bool = typer.Option(False, "--no-transcript", help="Keep no transcript per conversation."),
        json_output: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
        junit: Path | None = typer.Option(None, "--junit", metavar="FILE", help="Also write JUnit XML here."),
        markdown: Path | None = typer.Option(None, "--markdown", metavar="FILE", help="Also write Markdown here."),
        min_pass_rate: float | None = typer.Option(
            None, "--min-pass-rate", metavar="R", help="Exit 0 when at least this share passed (0..1; default 1)."
        ),
        record: Path | None = typer.Option(
            None, "--record", metavar="DIR", help="Write one recording per case, model and repeat into DIR."
        ),
        replay: Path | None = typer.Option(
            None, "--replay", metavar="DIR", help="Answer every row from its recording in DIR (no router, no key)."
        ),
        replay_tools: bool = typer.Option(
            False, "--replay-tools", help="With --replay: tool results from the recordings too (tools do not run)."
        ),
        max_cost: float | None = typer.Option(
            None, "--max-cost", metavar="USD", help="No new conversation once the evaluation cost this (needs prices:)."
        ),
        verbose: bool = typer.Option(False, "-v", "--verbose", help="Tracebacks for errors."),
    ) -> None:
        """Evaluate tool calling: each case x model x repeat is a real conversation, checked against `expect`."""
        import sys

        from crazycall.errors import UsageError
        from crazycall.eval.run import EvalOptions, ReportOptions, evaluate, report_files
        from crazycall.tools.capture import protect_stdout

        if target[0] == "report":
            options = ReportOptions([Path(p) for p in target[1:]], json_output, junit, markdown, min_pass_rate)
            report_files(options, sys.stdout)
            return
        if len(target) != 1:
            raise UsageError(f"eval takes one cases file, got {len(target)} arguments (merging results: eval report)")
        run_options = EvalOptions(
            cases=Path(target[0]),
            models=tuple(model),
            case_ids=tuple(case),
            repeat=repeat,
            concurrency=concurrency,
            out=out,
            resume=resume,
            shard=shard,
            offline=offline,
            base_url=base_url,
            api_key=api_key,
            stream=stream,
            timeout=timeout,
            max_retries=max_retries,
            tool_timeout=tool_timeout,
            json_output=json_output,
            junit=junit,
            markdown=markdown,
            min_pass_rate=min_pass_rate,
            save_transcripts=not no_transcript,
            record=record,
            replay=replay,
            replay_tools=replay_tools,
            max_cost=max_cost,
        )
        # Tools (and plugins at import) write to fd 1 itself too; only the report may reach the real stdout.
        from crazycall.sigterm import sigterm_as_interrupt

        # SIGTERM takes Ctrl-C's way out (exit 143); command tools still running are killed at exit.
        with protect_stdout() as stdout, sigterm_as_interrupt():
            evaluate(run_options, stdout, sys.stderr)

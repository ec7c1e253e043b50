"""``crazycall eval`` from options to exit code: cases -> matrix (shard, resume) -> rows -> report -> outcome.

Owns the order of an eval run and ``eval report`` (merge results files into one report), the progress lines
on stderr, and the outcome rule: every row is written and the report printed before the run fails with
``EvalFailed`` (exit 11) when the pass rate is below ``--min-pass-rate`` (default: every row must pass).
It parses no flags (commands/eval.py) and runs no conversation itself (scheduler.py).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from crazycall.errors import BudgetExceeded, CrazycallError, EvalFailed, UsageError

MAX_CONCURRENCY = 1024
"""Threads (and connections) one process may use; beyond that, shard."""


@dataclass(frozen=True)
class EvalOptions:
    cases: Path
    models: Sequence[str] = ()
    case_ids: Sequence[str] = ()
    repeat: int | None = None
    concurrency: int = 4
    out: Path | None = None
    resume: bool = False
    shard: str | None = None
    offline: bool = False
    base_url: str | None = None
    api_key: str | None = None
    stream: bool = True
    timeout: float | None = None
    max_retries: int | None = None
    tool_timeout: float | None = None
    json_output: bool = False
    junit: Path | None = None
    markdown: Path | None = None
    min_pass_rate: float | None = None
    save_transcripts: bool = True
    record: Path | None = None
    replay: Path | None = None
    replay_tools: bool = False
    max_cost: float | None = None


def _check(opts: EvalOptions) -> None:
    if not 1 <= opts.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, got {opts.concurrency}")
    if opts.repeat is not None and opts.repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {opts.repeat}")
    if opts.min_pass_rate is not None and not 0 <= opts.min_pass_rate <= 1:
        raise UsageError(f"--min-pass-rate must be from 0 to 1, got {opts.min_pass_rate:g}")
    if opts.resume and opts.out is None:
        raise UsageError("--resume needs --out FILE (the results to resume)")
    if opts.record is not None and opts.replay is not None:
        raise UsageError("--record and --replay cannot be combined (record once, then replay)")
    if opts.replay is not None and not opts.replay.is_dir():
        raise UsageError(f"--replay {opts.replay}: no such directory (make one with eval --record DIR)")
    if opts.record is not None:
        try:  # once here, not once per row: an unwritable DIR is the run's one usage error
            opts.record.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--record {opts.record}: cannot create the directory: {exc.strerror or exc}") from None
    if opts.replay_tools and opts.replay is None:
        raise UsageError("--replay-tools needs --replay DIR (the recordings holding the tool results)")


def evaluate(opts: EvalOptions, out: TextIO, err: TextIO) -> dict[str, Any]:
    """Run the rows this invocation owns, then report every row of ``--out`` (or of this run)."""
    from crazycall.ask import router_endpoint
    from crazycall.eval import scheduler
    from crazycall.eval.cases import read_cases
    from crazycall.settings import load_settings
    from crazycall.tools.loader import open_registry

    _check(opts)
    shard = scheduler.parse_shard(opts.shard, os.environ)
    settings = load_settings(
        api_key=opts.api_key,
        base_url=opts.base_url,
        timeout=opts.timeout,
        max_retries=opts.max_retries,
        tool_timeout=opts.tool_timeout,
        max_cost=opts.max_cost,
    )
    file = read_cases(opts.cases)
    cases = _select(file.cases, opts.case_ids)
    specs = list(opts.models) or list(file.models)
    if not specs:
        raise UsageError(f"no models: add 'models:' to {opts.cases} or pass --model MODEL[:PROTOCOL]")
    lines = list(file.model_lines) if not opts.models else [0] * len(specs)
    models = [
        _model(scheduler, spec, settings.routes, f"{opts.cases}:{line}")
        for spec, line in zip(specs, lines, strict=True)
    ]
    done = [scheduler.row_key(r["case"], r["model"], r["repeat"]) for r in _previous(opts)]
    jobs = scheduler.plan_jobs(cases, models, opts.repeat, shard, done)
    budget = _budget(settings, models)
    tool_files = (file.tools,) if file.tools is not None else ()
    writer = scheduler.RowWriter(opts.out)
    rows: list[dict[str, Any]] = []
    try:
        with (
            open_registry(tool_files, ()) as registry,
            _endpoint(opts, settings, router_endpoint) as (base_url, api_key),
        ):
            from crazycall.ask import transport_options
            from crazycall.redact import redact

            ctx = scheduler.Context(
                base_url,
                api_key,
                registry,
                transport_options(settings),
                stream=opts.stream,
                tool_timeout=settings.tool_timeout,
                result_limit=settings.result_limit,
                save_transcripts=opts.save_transcripts,
                base_label="offline" if opts.offline else redact(base_url),
                record_dir=opts.record,
                replay_dir=opts.replay,
                replay_tools=opts.replay_tools,
                prices=settings.prices,
                budget=budget,
            )
            progress = _progress(len(jobs), err)

            def on_row(row: dict[str, Any]) -> None:
                writer.write(row)
                progress(row)

            try:
                rows = scheduler.run_jobs(jobs, ctx, opts.concurrency, on_row)
            finally:
                progress.close()
    finally:
        writer.close()
    all_rows = scheduler.read_rows([opts.out]) if opts.out is not None else rows
    return finish(all_rows, opts, out, budget.as_json() if budget is not None else None)


def _budget(settings: Any, models: Sequence[tuple[str, str]]) -> Any:
    """``--max-cost`` (or config ``max_cost``) over the whole evaluation; every model needs a price."""
    from crazycall.cost import price_for

    if settings.max_cost is None:
        return None
    for model, _protocol in models:
        if price_for(model, settings.prices) is None:
            raise UsageError(
                f"--max-cost needs a price for model {model!r} (add it under prices: in {settings.config_path})"
            )
    from crazycall.eval.budget import Budget

    return Budget(float(settings.max_cost))


@contextlib.contextmanager
def _endpoint(opts: EvalOptions, settings: Any, router_endpoint: Any) -> Iterator[tuple[str, str]]:
    """The router, or with ``--replay`` none at all: every answer comes from the recordings (no key needed)."""
    if opts.replay is not None:
        yield "http://replay.invalid", ""
        return
    with router_endpoint(opts.offline, settings) as endpoint:
        yield endpoint


def _model(scheduler: Any, spec: str, routes: Mapping[str, str], where: str) -> tuple[str, str]:
    """A model of ``--model`` (a usage error, exit 2) or of the file's ``models`` (a config error, exit 3)."""
    from crazycall.errors import ConfigError

    from_file = not where.endswith(":0")
    try:
        parsed: tuple[str, str] = scheduler.parse_model(spec, routes)
    except UsageError as err:
        message = str(err).replace("--case ", "--model " if not from_file else "", 1)
        if from_file:
            raise ConfigError(f"{where}: models: {message}") from None
        raise UsageError(message) from None
    return parsed


def _select(cases: Sequence[Any], ids: Sequence[str]) -> list[Any]:
    if not ids:
        return list(cases)
    known = {c.id for c in cases}
    missing = [i for i in ids if i not in known]
    if missing:
        raise UsageError(f"--case {missing[0]!r}: no such case; known: {', '.join(sorted(known))}")
    return [c for c in cases if c.id in set(ids)]


def _previous(opts: EvalOptions) -> list[dict[str, Any]]:
    """Rows already in ``--out`` (with --resume); without it a new run starts the file afresh."""
    from crazycall.eval.scheduler import read_rows

    if opts.out is None:
        return []
    if opts.resume:
        return read_rows([opts.out])
    try:
        opts.out.unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {opts.out}: cannot replace the results file: {exc.strerror or exc}") from None
    return []


def _progress(total: int, err: TextIO) -> Any:
    """A live bar at a terminal, one line per conversation otherwise."""
    if _isatty(err) and total:
        from crazycall.render.eval_view import ProgressBar

        return ProgressBar(total, err)
    return _Progress(total, err)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """One line per finished conversation on stderr: ``[3/8] PASS case [model #0] 120 ms``."""

    def __init__(self, total: int, err: TextIO) -> None:
        self.total, self.err, self.done = total, err, 0
        self.started = time.perf_counter()

    def __call__(self, row: Mapping[str, Any]) -> None:
        from crazycall.redact import redact
        from crazycall.render.sanitize import visible_line

        self.done += 1
        status = "PASS" if row.get("passed") else "FAIL"
        line = f"[{self.done}/{self.total}] {status} {row['case']} [{row['model']} #{row['repeat']}]"
        line += f" {row.get('latency_ms', 0):.0f} ms"
        if not row.get("passed"):
            line += f": {row.get('reason')}"
        self.err.write(visible_line(redact(line)) + "\n")
        self.err.flush()

    def close(self) -> None:
        return None


def finish(
    rows: Sequence[Mapping[str, Any]], opts: Any, out: TextIO, budget: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Print and write the report; raise EvalFailed when the pass rate is too low, BudgetExceeded (exit 7)
    when ``--max-cost`` kept conversations from starting."""
    from crazycall.eval import report as rpt
    from crazycall.render.summary import error_dict

    data = rpt.build(rows)
    if budget is not None:
        data["budget"] = dict(budget)
    # The files first: a file that cannot be written is then the run's one error (one JSON object with --json).
    if opts.markdown is not None:
        rpt.write_file("--markdown", opts.markdown, rpt.markdown(data))
    if opts.junit is not None:
        rpt.write_file("--junit", opts.junit, rpt.junit(rows, data, {"rows": str(len(rows))}))
    threshold = 1.0 if opts.min_pass_rate is None else opts.min_pass_rate
    error: CrazycallError | None = None
    if data["total"] and data["pass_rate"] < threshold:
        error = EvalFailed(f"{rpt.summary_line(data)}; below the pass rate {threshold:g}")
    if budget is not None and budget["not_started"]:
        error = BudgetExceeded(
            f"--max-cost {budget['max_cost']:g} reached: ${budget['spent_usd']:.6f} spent; "
            f"{budget['not_started']} conversations not started (run again with --out FILE --resume to finish)"
        )
    if opts.json_output:
        rpt.write_json({**data, "error": error_dict(error) if error else None}, out)
    elif _isatty(out):
        from crazycall.render.eval_view import write_table

        write_table(data, out, color="NO_COLOR" not in os.environ)
    else:
        rpt.write_text(data, out)
    if budget is not None and not opts.json_output:
        out.write(f"budget: ${budget['spent_usd']:.6f} of --max-cost {budget['max_cost']:g} spent; ")
        out.write(f"{budget['not_started']} conversations not started\n")
    out.flush()
    if error is not None:
        error.reported = opts.json_output
        raise error
    return data


@dataclass(frozen=True)
class ReportOptions:
    files: Sequence[Path]
    json_output: bool = False
    junit: Path | None = None
    markdown: Path | None = None
    min_pass_rate: float | None = None


def report_files(opts: ReportOptions, out: TextIO) -> dict[str, Any]:
    """``eval report FILE...``: merge results files (a row present twice counts once) into one report."""
    from crazycall.eval.scheduler import read_rows

    if not opts.files:
        raise UsageError("eval report: name at least one results file (JSON lines from --out)")
    for path in opts.files:
        if not path.is_file():
            raise UsageError(f"eval report: no such results file: {path}")
    return finish(read_rows(list(opts.files)), opts, out)

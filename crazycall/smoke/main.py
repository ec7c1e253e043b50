"""``crazycall smoke`` from options to exit code: settings -> matrix -> router -> run -> report.

Owns the order of a smoke run and the rule for its outcome: every case is reported (table, JSON, JUnit)
before the run fails; the run then raises ``SmokeFailed`` carrying the exit code of the most severe failure
class, so the CLI's one handler prints one line and exits with it. It parses no flags (commands/smoke.py)
and speaks no protocol.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from crazycall.ask import router_endpoint
from crazycall.errors import SmokeFailed as SmokeFailed  # its home is errors.py
from crazycall.errors import UsageError
from crazycall.settings import DEFAULT_SMOKE_CONCURRENCY, DEFAULT_SMOKE_TIMEOUT, load_settings
from crazycall.smoke.runner import TOOL_CHOICES, CaseResult

OUTPUT_MODES = ("auto", "rich", "plain", "json")


@dataclass(frozen=True)
class SmokeOptions:
    cases: Sequence[str] = ()
    """``--case MODEL[:PROTOCOL]`` entries."""
    file: Path | None = None
    """``--file``; None reads ./smoke.yaml when present."""
    no_defaults: bool = False
    offline: bool = False
    faults: Mapping[str, str] = field(default_factory=dict)
    """``--fault PROTOCOL=MODE`` for the in-process offline router."""
    base_url: str | None = None
    api_key: str | None = None
    stream: bool = True
    round_trip: bool = False
    tool_choice: str = "required"
    concurrency: int = DEFAULT_SMOKE_CONCURRENCY
    timeout: float = DEFAULT_SMOKE_TIMEOUT
    max_retries: int | None = None
    output: str = "auto"
    junit: Path | None = None
    color: bool = True


def _check(opts: SmokeOptions) -> None:
    if opts.output not in OUTPUT_MODES:
        raise UsageError(f"unknown output mode {opts.output!r}; choose one of: {', '.join(OUTPUT_MODES)}")
    if opts.tool_choice not in TOOL_CHOICES:
        raise UsageError(f"--tool-choice {opts.tool_choice!r}: choose one of: {', '.join(TOOL_CHOICES)}")
    if opts.faults and not opts.offline:
        raise UsageError("--fault only applies to the built-in router: add --offline")
    if opts.timeout <= 0:
        raise UsageError(f"--timeout must be more than 0 seconds, got {opts.timeout:g}")
    if opts.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {opts.concurrency}")


def smoke(opts: SmokeOptions, out: TextIO | None = None, cwd: Path | None = None) -> list[CaseResult]:
    """Run the matrix, report it, and raise SmokeFailed unless every case passed."""
    from crazycall.smoke.cases import build_matrix, find_smoke_file, read_smoke_file
    from crazycall.smoke.runner import RunConfig, overall_exit_code, prepare, run_case, run_cases

    out = out or sys.stdout
    _check(opts)
    settings = load_settings(api_key=opts.api_key, base_url=opts.base_url, max_retries=opts.max_retries)
    found = find_smoke_file(opts.file, cwd or Path.cwd())
    smoke_file = read_smoke_file(found[0], found[1], settings.routes) if found else None
    cases = build_matrix(opts.cases, smoke_file, no_defaults=opts.no_defaults, routes=settings.routes)
    with router_endpoint(opts.offline, settings, opts.faults) as (base_url, api_key):
        prepare(cases)
        started = time.perf_counter()
        config = RunConfig(
            base_url=base_url,
            api_key=api_key,
            stream=opts.stream,
            round_trip=opts.round_trip,
            tool_choice=opts.tool_choice,
            timeout=opts.timeout,
            max_retries=settings.max_retries,
            concurrency=opts.concurrency,
        )
        # base_url: one shared client and its warm connections for every case
        results = run_cases(cases, lambda case: run_case(case, config), opts.concurrency, base_url)
    elapsed_ms = (time.perf_counter() - started) * 1000
    _report(opts, results, out)
    if opts.junit is not None:
        _junit(opts, opts.junit, results, elapsed_ms, base_url)
    code = overall_exit_code(results)
    if code:
        failed = [r for r in results if not r.passed]
        first = f"{failed[0].case.name}: {failed[0].reason}"
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise SmokeFailed(f"{len(failed)} of {len(results)} smoke cases failed; {first}{more}", code)
    return results


def _report(opts: SmokeOptions, results: Sequence[CaseResult], out: TextIO) -> None:
    from crazycall.smoke import report

    mode = opts.output
    if mode == "auto":
        mode = "rich" if out.isatty() else "plain"
    if mode == "json":
        report.write_json(results, out)
    elif mode == "plain":
        report.write_plain(results, out)
    else:
        from crazycall.render.tables import write_smoke_report

        write_smoke_report(results, out, opts.color)
    out.flush()


def _junit(opts: SmokeOptions, path: Path, results: Sequence[CaseResult], elapsed_ms: float, base_url: str) -> None:
    from crazycall.smoke.report import write_junit

    properties = {
        "base_url": "offline" if opts.offline else base_url,
        "stream": str(opts.stream).lower(),
        "round_trip": str(opts.round_trip).lower(),
    }
    write_junit(path, results, elapsed_ms, properties)

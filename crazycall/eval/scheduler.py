"""Running an eval: the matrix of (case, model, repeat) rows, shards, resume, and each row through the engine.

Owns the row key and its stable shard hash (case id, model label and repeat: appending cases never moves a
row to another shard), which rows ``--resume`` skips (those already in ``--out``), and one conversation per
row driven by the same engine as ``ask`` (``HttpModel`` over a ``Transport`` on the shared client, the
``loop.run`` tool loop, a ``ToolRunner`` whose registry has the case's mocks in place of the real tools, a
transcript of its own). Rows run on crazycall.scheduler (smoke's too) and reach ``on_row`` as each finishes. A failed
conversation (provider down, loop limit) is a row with an ``error`` object, never a crash of the run.
``--record DIR`` / ``--replay DIR`` put each row's transcript at ``recording_path`` and answer the row from
it (crazycall.replay); ``--max-cost`` (budget.py) keeps rows from starting once the evaluation is spent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crazycall.errors import CrazycallError, UsageError
from crazycall.eval.assertions import Made, check
from crazycall.eval.cases import EvalCase
from crazycall.events import Emit, RunFailed, RunFinished
from crazycall.tools.runner import ToolRunner

if TYPE_CHECKING:
    from crazycall.eval.budget import Budget
    from crazycall.events import RunResult
    from crazycall.loop import LoopState
    from crazycall.model import Model
    from crazycall.tools.registry import Tool, ToolRegistry
    from crazycall.transport import TransportOptions

Row = dict[str, Any]


@dataclass(frozen=True)
class Job:
    case: EvalCase
    model: str
    protocol: str
    repeat: int

    @property
    def label(self) -> str:
        return f"{self.model}:{self.protocol}"

    @property
    def key(self) -> str:
        return row_key(self.case.id, self.label, self.repeat)


def row_key(case_id: str, label: str, repeat: int) -> str:
    return json.dumps([case_id, label, repeat], ensure_ascii=False)


def shard_index(key: str, count: int) -> int:
    """Stable over runs, machines and Python versions (not ``hash()``, which is salted per process)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count


def parse_shard(text: str | None, env: Mapping[str, str]) -> tuple[int, int] | None:
    """``I/N`` (0-based I) or ``auto/N`` (I from ``JOB_COMPLETION_INDEX``, a Kubernetes Indexed Job)."""
    if text is None:
        return None
    index, sep, count = text.partition("/")
    if index == "auto":
        index = env.get("JOB_COMPLETION_INDEX", "")
        if not index:
            raise UsageError("--shard auto/N: JOB_COMPLETION_INDEX is not set")
    if not sep or not index.isdigit() or not count.isdigit() or not 0 <= int(index) < int(count):
        raise UsageError(f"--shard {text!r}: expected I/N with 0 <= I < N (or auto/N), e.g. 0/4")
    return int(index), int(count)


def parse_model(spec: str, routes: Mapping[str, str]) -> tuple[str, str]:
    """``MODEL[:PROTOCOL]`` as smoke reads it -> (model, protocol)."""
    from crazycall.smoke.cases import parse_case

    case = parse_case(spec, routes)
    return case.model, case.protocol


def plan_jobs(
    cases: Sequence[EvalCase],
    models: Sequence[tuple[str, str]],
    repeat: int | None = None,
    shard: tuple[int, int] | None = None,
    done: Iterable[str] = (),
) -> list[Job]:
    """Every row of the matrix (case order, then model, then repeat) in this shard and not ``done``."""
    skip = set(done)
    jobs = []
    for case in cases:
        for model, protocol in models:
            for index in range(repeat or case.repeat):
                job = Job(case, model, protocol, index)
                if shard is not None and shard_index(job.key, shard[1]) != shard[0]:
                    continue
                if job.key not in skip:
                    jobs.append(job)
    return jobs


def read_rows(paths: Sequence[Path]) -> list[Row]:
    """The rows of results files, each key once (the last copy wins); a torn last line (a killed run) is skipped."""
    rows: dict[str, Row] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read the results file: {exc}") from None
        for line in text.splitlines():
            try:
                row = json.loads(line)
                key = row_key(row["case"], row["model"], row["repeat"])
            except (ValueError, KeyError, TypeError, RecursionError):
                continue
            rows[key] = row
    return list(rows.values())


def _end_torn_line(path: Path) -> None:
    """End a last line left without its newline (a run killed mid-write): the next row then starts a line of
    its own, and the torn fragment is a line ``read_rows`` skips."""
    try:
        with path.open("rb+") as file:
            size = file.seek(0, 2)
            if size:
                file.seek(size - 1)
                if file.read(1) != b"\n":
                    file.write(b"\n")
    except FileNotFoundError:
        return


class RowWriter:
    """Appends one JSON line per finished row and flushes it: a killed run loses only rows in flight."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._file = None
        if path is not None:
            try:
                if path.parent != Path(""):
                    path.parent.mkdir(parents=True, exist_ok=True)
                _end_torn_line(path)
                self._file = path.open("a", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--out {path}: cannot write the results file: {exc.strerror or exc}") from None

    def write(self, row: Row) -> None:
        if self._file is None:
            return
        with self._lock:
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass(frozen=True)
class Context:
    """What every row shares."""

    base_url: str
    api_key: str
    registry: ToolRegistry
    transport: TransportOptions
    stream: bool = True
    tool_timeout: float | None = None
    result_limit: int | None = None
    save_transcripts: bool = True
    base_label: str = ""
    """How the router is named in transcripts (``offline`` or the redacted base URL)."""
    wrap_model: Callable[[Model, Job], Model] | None = None
    """A hook around each row's model (the HttpModel): ``--record`` may wrap it, ``--replay`` replace it."""
    record_dir: Path | None = None
    """``--record DIR``: each row's transcript is written to ``recording_path(DIR, job)`` (a cassette)."""
    replay_dir: Path | None = None
    """``--replay DIR``: each row's model answers from ``recording_path(DIR, job)``; no network at all."""
    replay_tools: bool = False
    """``--replay-tools``: with ``--replay``, tool results come from the recording too (tools do not run)."""
    prices: Mapping[str, Any] | None = None
    """``prices:`` of the config file: a row whose model has a price reports ``cost_usd``."""
    budget: Budget | None = None
    """``--max-cost``: shared by every row; no conversation starts once it is spent."""


def recording_path(directory: Path, job: Job) -> Path:
    """Where ``--record`` puts the row's recording and ``--replay`` looks for it: a readable, filesystem-safe
    name plus a hash of the row key (two case ids that sanitize alike still get two files)."""
    import re

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{job.case.id}__{job.label}__{job.repeat}")[:120]
    digest = hashlib.sha256(job.key.encode()).hexdigest()[:10]
    return directory / f"{safe}-{digest}.jsonl"


def mocked_registry(registry: ToolRegistry, mock: Mapping[str, Any]) -> tuple[ToolRegistry, frozenset[str]]:
    """A copy of ``registry`` in which each mocked tool returns its stub (a mock of an unknown tool adds one)."""
    from crazycall.conversation import ToolSpec
    from crazycall.tools.registry import Tool, ToolRegistry

    if not mock:
        return registry, frozenset()
    copy = ToolRegistry(iter(registry))
    for name, value in mock.items():
        known = registry.get(name)
        stub = _stub(value)
        if known is not None:
            tool: Tool = replace(known, func=stub, invoke=None, confirm=False, source="mock")
            copy.replace(tool)
        else:
            spec = ToolSpec(name, f"{name} (mocked)", {"type": "object"})
            copy.add(Tool(spec, stub, "mock", kind="python"))
    return copy, frozenset(mock)


def _stub(value: Any) -> Callable[..., Any]:
    def stub(**_arguments: Any) -> Any:
        return value

    return stub


def _made(result: RunResult | None) -> list[Made]:
    return [Made(r.name, r.arguments) for r in (result.tool_calls if result else ())]


def run_job(job: Job, ctx: Context) -> Row:
    """One conversation for one row; never raises (a failure is the row's ``error``)."""
    from crazycall.conversation import Conversation
    from crazycall.loop import LoopState
    from crazycall.render.summary import error_dict
    from crazycall.transcript import Transcript, new_run_id

    transcript = Transcript(None)
    transcript.run_id = new_run_id()
    state = LoopState(Conversation.start(job.case.prompt, job.case.system))
    started = time.perf_counter()
    error: dict[str, Any] | None = None
    result: RunResult | None = None
    registry, mocked = mocked_registry(ctx.registry, job.case.mock)
    emit = transcript.wrap(lambda _event: None)  # the transcript records the run's end as ask's does
    try:
        result = _converse(job, ctx, state, registry, transcript, emit)
        emit(RunFinished(result))
    except CrazycallError as err:
        error = error_dict(err)
        result = state.result() if state.turns else None
        emit(RunFailed(err, result))
    except Exception as exc:  # a bug: reported on this row, the others still run
        error = {"type": "unexpected", "message": f"unexpected {type(exc).__name__}: {exc}", "exit_code": 1}
        emit(RunFailed(CrazycallError(error["message"])))
    finally:
        transcript.close()
    latency = (time.perf_counter() - started) * 1000
    return _row(job, result, error, mocked, latency, transcript)


def _converse(
    job: Job, ctx: Context, state: LoopState, registry: ToolRegistry, transcript: Any, emit: Emit
) -> RunResult:
    from crazycall.loop import LoopOptions, run
    from crazycall.model import HttpModel, TurnOptions, endpoint_for
    from crazycall.protocols import get_adapter
    from crazycall.transport import Transport

    if ctx.save_transcripts or ctx.record_dir is not None:
        from crazycall.transcript import conversation_to_json

        header = {
            "model": job.model,
            "protocol": job.protocol,
            "endpoint": endpoint_for(job.protocol, job.model, ctx.stream),
            "base_url": ctx.base_label,
            "stream": ctx.stream,
            "eval": {"case": job.case.id, "repeat": job.repeat},
            "conversation": conversation_to_json(state.conversation),
        }
        explicit = recording_path(ctx.record_dir, job) if ctx.record_dir is not None else None
        if explicit is not None:
            with contextlib.suppress(OSError):  # a new recording replaces the old one (transcripts append)
                explicit.unlink(missing_ok=True)
        path = transcript.location(explicit, transcript.run_id)
        transcript.start(path, transcript.run_id, header, explicit=explicit is not None)
    runner = ToolRunner(registry, default_timeout=ctx.tool_timeout or 30.0)
    if ctx.result_limit:
        runner.result_limit = ctx.result_limit
    options = LoopOptions(
        TurnOptions(response_schema=job.case.expect.output_schema), max_turns=job.case.max_turns, price=_price(job, ctx)
    )
    if ctx.replay_dir is not None:
        from crazycall.replay import load_recording, replay_model, replay_runner

        recording = load_recording(recording_path(ctx.replay_dir, job))
        tools = replay_runner(runner, recording) if ctx.replay_tools else runner
        replayed: RunResult = run(
            state, replay_model(recording, transcript.observe), tools, options, emit, transcript.message
        )
        return replayed
    with Transport(ctx.base_url, ctx.api_key, ctx.transport, observer=transcript.observe) as transport:
        model: Model = HttpModel(get_adapter(job.protocol), transport, job.model, stream=ctx.stream)
        if ctx.wrap_model is not None:
            model = ctx.wrap_model(model, job)
        result: RunResult = run(state, model, runner, options, emit, transcript.message)
        return result


def _price(job: Job, ctx: Context) -> Any:
    from crazycall.cost import price_for

    return price_for(job.model, ctx.prices) if ctx.prices else None


def _row(
    job: Job,
    result: RunResult | None,
    error: dict[str, Any] | None,
    mocked: frozenset[str],
    latency_ms: float,
    transcript: Any,
) -> Row:
    from crazycall.redact import redact_data

    text = result.text if result else ""
    turns = result.turns if result else 0
    verdicts = check(job.case.expect, _made(result), text, turns)
    calls = [
        {
            "name": r.name,
            "arguments": r.arguments,
            "result": r.result,
            "is_error": r.is_error,
            "mocked": r.name in mocked,
        }
        for r in (result.tool_calls if result else ())
    ]
    usage = result.usage if result else None
    passed = error is None and all(v.passed for v in verdicts)
    row: Row = {
        "case": job.case.id,
        "model": job.label,
        "protocol": job.protocol,
        "repeat": job.repeat,
        "passed": passed,
        "assertions": [v.as_json() for v in verdicts],
        "reason": _reason(error, verdicts),
        "calls": calls,
        "text": text,
        "turns": turns,
        "usage": {
            "input_tokens": usage.input_tokens if usage else 0,
            "output_tokens": usage.output_tokens if usage else 0,
        },
        "latency_ms": round(latency_ms, 1),
        "run_id": transcript.run_id,
        "transcript": str(transcript.path) if transcript.path is not None else None,
        "error": error,
    }
    if result is not None and "cost_usd" in result.extra:
        row["cost_usd"] = result.extra["cost_usd"]
    return dict(redact_data(row))


def _reason(error: dict[str, Any] | None, verdicts: Sequence[Any]) -> str | None:
    if error is not None:
        return " ".join(str(error["message"]).split())[:200]
    failed = [f"{v.name}: {v.reason}" for v in verdicts if not v.passed]
    return "; ".join(failed) or None


def run_jobs(jobs: Sequence[Job], ctx: Context, concurrency: int, on_row: Callable[[Row], None]) -> list[Row]:
    """Every job on the shared scheduler (crazycall.scheduler, as smoke's cases), at most ``concurrency`` at a
    time on ``ctx.base_url``'s shared client; ``on_row`` (called under a lock) sees each row as it ends."""
    from crazycall.scheduler import run_all

    def on_result(row: Row | None) -> None:
        if row is not None:  # None: not started, --max-cost was spent
            on_row(row)

    results = run_all(
        jobs,
        lambda job: _budgeted(job, ctx),
        concurrency,
        base_url=ctx.base_url,
        on_result=on_result,
        name="crazycall-eval",
    )
    return [row for row in results if row is not None]


def _budgeted(job: Job, ctx: Context) -> Row | None:
    """``run_job`` unless ``--max-cost`` is spent (then None: the row is not started, ``--resume`` may run it)."""
    if ctx.budget is None:
        return run_job(job, ctx)
    if not ctx.budget.admit():
        return None
    row = run_job(job, ctx)
    ctx.budget.add(float(row.get("cost_usd") or 0.0))
    return row

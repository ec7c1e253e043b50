"""``crazycall ask``: wire settings, tools, adapter, transport and renderer together and run the loop.

Owns the order of a run (pick a renderer -> resolve the settings -> plan the run once (``Plan``: continue an
earlier conversation or start one, route, endpoint, the options of loop, transport and tools) -> load tools ->
start the transcript -> run the loop on an ``HttpModel`` -> report) and the rule that a failing run still
reports what it knows (``RunFailed`` with the partial result, in the renderer and the transcript) before the
error reaches the CLI's handler. It does not parse flags (commands/ask.py), speak any protocol or know the
transcript's record shapes (transcript.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from crazycall import __version__
from crazycall.conversation import Conversation
from crazycall.errors import CrazycallError, Interrupted, OutputClosed, ToolErrorsPresent, UsageError
from crazycall.events import Emit, Event, RunFailed, RunFinished, RunResult, RunStarted
from crazycall.render import make_renderer
from crazycall.settings import ENV_API_KEY, Settings, load_settings
from crazycall.tools.approval import ToolPrompt, can_prompt

if TYPE_CHECKING:
    from crazycall.loop import LoopOptions, LoopState
    from crazycall.model import TurnOptions
    from crazycall.tools.session import ToolOptions
    from crazycall.transcript import Transcript
    from crazycall.transcript.recording import Recording
    from crazycall.transport import TransportOptions

OFFLINE_KEY = "offline"


@dataclass(frozen=True)
class AskOptions:
    """``crazycall ask``'s flags as given. The setting flags (``settings.FLAGS``: model, base URL, key, limits)
    are one mapping, resolved by ``load_settings`` (flag > env > config > default); the run uses the resolved
    ``Settings``. A new setting flag therefore needs no field here."""

    prompt: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Setting name -> its flag's value (None or absent: not given)."""
    protocol: str = "auto"
    offline: bool = False
    tool_files: Sequence[Path] = ()
    plugin_paths: Sequence[Path] = ()
    tool_choice: str = "auto"
    parallel: bool = True
    system: str | None = None
    temperature: float | None = None
    stream: bool = True
    output: str = "auto"
    quiet: bool = False
    color: bool = True
    show_reasoning: bool = True
    fail_on_tool_error: bool = False
    verbose: bool = False
    transcript: Path | None = None
    """--transcript PATH (None: the default location)."""
    save_transcript: bool = True
    """False with --no-transcript."""
    continue_last: bool = False
    """--continue: continue the latest conversation."""
    resume: str | None = None
    """--resume ID: continue that conversation."""
    allow_tools: Sequence[str] | None = None
    deny_tools: Sequence[str] = ()
    approve: Sequence[str] = ()
    yes: bool = False
    replay: str | None = None
    """--replay TRANSCRIPT_OR_RUN_ID: the model's turns come from that recording, not the network."""
    replay_tools: bool = False
    """--replay-tools: the tool results too."""
    schema: str | None = None
    """--schema: a JSON Schema inline or a JSON/YAML file the final answer must follow."""
    schema_retries: int | None = None
    strict: bool = False
    schema_mode: str = "auto"
    """--schema-mode: native, tool (a synthetic final_answer tool) or auto (native; the tool once refused)."""
    """--strict: the --schema rewritten to OpenAI's strict-mode rules, sent with strict: true (chat/responses)."""


@contextmanager
def router_endpoint(
    offline: bool, settings: Settings, faults: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """(base_url, api_key): the in-process offline router (with ``faults``), or the configured router and key."""
    if offline:
        from crazycall.offline.server import OfflineRouter

        with OfflineRouter(faults=faults) as router:
            yield router.url, OFFLINE_KEY
        return
    if not settings.api_key:
        raise UsageError(
            f"no API key: set {ENV_API_KEY}, pass --api-key, add api_key to {settings.config_path}, or try --offline"
        )
    yield settings.base_url, settings.api_key


class _OutputGuard:
    """Passes events to the renderer until its reader goes away (``| head -1``): that becomes ``OutputClosed``
    once, and later events (the failure report included) only reach the transcript."""

    def __init__(self, renderer: Emit) -> None:
        self.renderer = renderer
        self.closed = False

    def __call__(self, event: Event) -> None:
        if not self.closed:
            self._guarded(self.renderer, event)

    def flush(self, out: TextIO) -> None:
        if not self.closed:
            self._guarded(lambda _event: out.flush(), None)

    def _guarded(self, write: Callable[[Any], None], event: Any) -> None:
        try:
            write(event)
        except (BrokenPipeError, SystemExit):  # SystemExit: Rich's Console.on_broken_pipe answers a closed pipe so
            self.closed = True
            raise OutputClosed() from None


def _failed_result(error: CrazycallError, state: LoopState | None) -> RunResult | None:
    """What a failed run reports: the partial result, its ``stop_reason`` saying why the model did not finish
    (``interrupted`` or ``error``), except after --fail-on-tool-error, where the model did finish."""
    if state is None or not state.turns:
        return None
    result: RunResult = state.result()
    if isinstance(error, ToolErrorsPresent):
        return result
    return replace(result, stop_reason="interrupted" if isinstance(error, Interrupted) else "error")


class _Reporter:
    """Where a run's events go (the transcript first, then the renderer behind an ``_OutputGuard``), and how
    its result or its failure is stamped with the run's id and reported."""

    def __init__(self, transcript: Transcript, renderer: Emit, out: TextIO) -> None:
        self.transcript, self.out = transcript, out
        self.state: LoopState | None = None
        """The loop's state once the run is planned (before that, a failure has no partial result)."""
        self.guard = _OutputGuard(renderer)
        self.emit = transcript.wrap(self.guard)

    def flush(self) -> None:
        """The transport waits for the network: what the transcript and stdout hold goes out now."""
        self.transcript.flush()
        self.guard.flush(self.out)

    def stamped(self, result: RunResult) -> RunResult:
        path = self.transcript.path
        return replace(result, run_id=self.transcript.run_id, transcript=str(path) if path is not None else None)

    def finished(self, result: RunResult) -> RunResult:
        result = self.stamped(result)
        self.emit(RunFinished(result))
        return result

    def failed(self, error: CrazycallError) -> CrazycallError:
        partial = _failed_result(error, self.state)
        self.emit(RunFailed(error, self.stamped(partial) if partial is not None else None))
        error.reported = True  # the renderer showed it (or its reader is gone): the CLI adds no JSON of its own
        return error


def settings_for(opts: AskOptions) -> Settings:
    """The settings with this run's setting flags on top."""
    return load_settings(opts.settings)


def ask(opts: AskOptions, out: TextIO | None = None, err: TextIO | None = None) -> RunResult:
    """Run one conversation to its end.

    Every failure is first reported to the renderer (so ``--json`` still prints one object, with ``error``
    and whatever partial result exists), then raised for the CLI's handler. The transcript records each
    event before the renderer sees it. The tool session (and the processes it started) is closed on every
    way out, Ctrl-C included (``_run``'s ``with``).
    """
    from crazycall.transcript import Transcript, new_run_id

    out = out or sys.stdout
    err = err or sys.stderr
    transcript = Transcript(err)
    transcript.run_id = new_run_id()  # the run has an id from the start, also with --no-transcript
    renderer = make_renderer(
        opts.output, out, err, quiet=opts.quiet, color=opts.color, show_reasoning=opts.show_reasoning
    )
    report = _Reporter(transcript, renderer, out)
    # Approval may ask at a terminal (never with JSON output or without a TTY); a live display pauses first.
    tool_prompt = ToolPrompt(can_prompt(opts.output, sys.stdin, out, err), getattr(renderer, "pause", None))
    finished = False
    try:
        settings = settings_for(opts)
        result = _run(opts, settings, plan(opts, settings, err, tool_prompt), report, transcript)
        if opts.fail_on_tool_error and any(r.is_error for r in result.tool_calls):
            names = ", ".join(sorted({r.name for r in result.tool_calls if r.is_error}))
            raise ToolErrorsPresent(f"tool call(s) ended in error: {names} (--fail-on-tool-error)")
        finished = True  # from here on only the report can fail (a closed stdout): the transcript has its end
        return report.finished(result)
    except CrazycallError as error:
        if not finished:
            report.failed(error)
        raise
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM under sigterm_as_interrupt (commands/ask.py)
        from crazycall.sigterm import interrupted

        raise report.failed(interrupted(exc)) from None
    except BrokenPipeError:  # a write outside the renderer (a prompt, a note) found its reader gone
        report.guard.closed = True
        raise report.failed(OutputClosed()) from None
    except Exception as exc:  # a bug: still one line, one JSON object and a transcript record (exit 1)
        raise report.failed(CrazycallError(f"unexpected {type(exc).__name__}: {exc}")) from exc
    finally:
        transcript.close()


@dataclass(frozen=True)
class Plan:
    """Everything a run is made of, decided once from the options and the settings before anything starts:
    the model and protocol (from the flags, or carried over from a transcript), the starting conversation,
    the endpoint, and the options of the loop, the transport and the tools."""

    model: str
    protocol: str
    conversation: Conversation
    endpoint: str
    loop: LoopOptions
    transport: TransportOptions
    tools: ToolOptions
    resumed_from: str | None = None
    replay: Recording | None = None
    """--replay: the recording the model's turns come from."""


def plan(opts: AskOptions, settings: Settings, err: TextIO, tool_prompt: ToolPrompt | None = None) -> Plan:
    """Plan the run; continuing an earlier conversation says so on ``err``."""
    from crazycall.model import TurnOptions, endpoint_for

    recording = None
    if opts.replay is not None:
        from crazycall.replay.flags import replayed

        opts, settings, recording = replayed(opts, settings)
    elif opts.replay_tools:
        raise UsageError("--replay-tools needs --replay TRANSCRIPT_OR_RUN_ID")
    model, protocol, conversation, resumed_from = _start(opts, settings, err)
    if recording is not None and protocol != recording.protocol:
        message = (
            f"replay: {recording.source} was recorded on {recording.protocol}; it cannot be replayed on {protocol}"
        )
        raise UsageError(message)
    response_schema = _load_schema(opts.schema) if opts.schema is not None else None
    strict = _strict(opts, protocol)
    if strict and response_schema is not None:
        from crazycall.schema_strict import strict_schema

        response_schema = strict_schema(response_schema)  # validated as sent: null stands for "absent"
    turn = TurnOptions(opts.tool_choice, opts.parallel, settings.max_tokens, opts.temperature, response_schema, strict)
    return Plan(
        model=model,
        protocol=protocol,
        conversation=conversation,
        endpoint=endpoint_for(protocol, model, opts.stream),
        loop=_loop_options(opts, settings, model, turn),
        transport=transport_options(settings),
        tools=_tool_options(opts, settings, tool_prompt or ToolPrompt(False)),
        resumed_from=resumed_from,
        replay=recording,
    )


def _loop_options(opts: AskOptions, settings: Settings, model: str, turn: TurnOptions) -> LoopOptions:
    from crazycall.cost import price_for
    from crazycall.loop import LoopOptions
    from crazycall.schema_tool import check_mode

    price = price_for(model, settings.prices)
    if settings.max_cost is not None and price is None:
        raise UsageError(
            f"--max-cost needs a price for model {model!r} (add it under prices: in {settings.config_path}), "
            "or use --max-tokens-total"
        )
    return LoopOptions(
        turn,
        max_turns=settings.max_turns,
        schema_retries=_schema_retries(opts),
        schema_mode=check_mode(opts.schema_mode),
        price=price,
        max_cost=settings.max_cost,
        max_tokens_total=settings.max_tokens_total,
    )


def _load_schema(spec: str) -> dict[str, Any]:
    """--schema, checked before anything is sent (an invalid JSON Schema is a usage error, exit 2)."""
    from crazycall import schema

    return schema.load(spec)


def _strict(opts: AskOptions, protocol: str) -> bool:
    """--strict applies to OpenAI's two protocols; elsewhere the schema goes as given (no strict mode there)."""
    if opts.strict and opts.schema is None:
        raise UsageError("--strict needs --schema SCHEMA")
    return opts.strict and protocol in ("chat", "responses")


def _schema_retries(opts: AskOptions) -> int:
    from crazycall.settings import DEFAULT_SCHEMA_RETRIES

    return DEFAULT_SCHEMA_RETRIES if opts.schema_retries is None else opts.schema_retries


def _start(opts: AskOptions, settings: Settings, err: TextIO) -> tuple[str, str, Conversation, str | None]:
    """(model, protocol, conversation, run id continued): a new conversation, or one continued from a transcript."""
    from crazycall.conversation import user_text
    from crazycall.protocols import resolve_protocol
    from crazycall.transcript import find_transcript, foreign_provider_data, latest_transcript, load_prior

    if opts.resume is None and not opts.continue_last:
        protocol = resolve_protocol(settings.model, opts.protocol, settings.routes)
        return settings.model, protocol, Conversation.start(opts.prompt, opts.system), None
    if opts.resume is not None and opts.continue_last:
        raise UsageError("--continue and --resume cannot be used together")
    path = find_transcript(opts.resume) if opts.resume is not None else latest_transcript()
    prior = load_prior(path)
    # The earlier run's model and protocol carry over unless -m / --protocol say otherwise.
    flag_model = opts.settings.get("model")
    model = flag_model or prior.model or settings.model
    if opts.protocol != "auto" or flag_model or not prior.protocol:
        protocol = resolve_protocol(model, opts.protocol, settings.routes)
    else:
        protocol = prior.protocol
    conv = prior.conversation
    system = opts.system if opts.system is not None else conv.system
    conv = Conversation(system, conv.messages).append(user_text(opts.prompt))
    err.write(f"crazycall: continuing run {prior.run_id} ({model}, {protocol})\n")
    dropped = foreign_provider_data(conv, protocol)
    if dropped:  # adapters echo only their own provider_data (conversation.py): say what is left behind
        err.write(f"crazycall: note: dropped provider-only data from {', '.join(dropped)}\n")
        err.flush()
    return model, protocol, conv, prior.run_id


def transport_options(settings: Settings) -> TransportOptions:
    from crazycall.transport import TransportOptions

    return TransportOptions(
        deadline=settings.timeout,
        max_retries=settings.max_retries,
        max_response_bytes=settings.max_response_bytes,
        max_event_bytes=settings.max_event_bytes,
        max_stream_bytes=settings.max_stream_bytes,
        max_error_bytes=settings.max_error_bytes,
    )


def _tool_options(opts: AskOptions, settings: Settings, tool_prompt: ToolPrompt) -> ToolOptions:
    from crazycall.tools.session import ToolOptions

    return ToolOptions(
        tool_files=opts.tool_files,
        plugin_paths=opts.plugin_paths,
        allow=opts.allow_tools,
        deny=opts.deny_tools,
        approve=opts.approve,
        yes=opts.yes,
        tool_timeout=settings.tool_timeout,
        result_limit=settings.result_limit,
        verbose=opts.verbose,
        interactive=tool_prompt.interactive,
        before_prompt=tool_prompt.before_prompt,
    )


def start_transcript(opts: AskOptions, settings: Settings, plan: Plan, transcript: Transcript) -> None:
    from crazycall.redact import redact
    from crazycall.transcript import Transcript, conversation_to_json

    if not opts.save_transcript:
        return
    header = {
        "version": __version__,
        "model": plan.model,
        "protocol": plan.protocol,
        "endpoint": plan.endpoint,
        "base_url": "offline" if opts.offline else redact(settings.base_url),
        "stream": plan.replay.stream if plan.replay is not None else opts.stream,
        "settings": settings.redacted(),
        "resumed_from": plan.resumed_from,
        **({"replay": plan.replay.source} if plan.replay is not None else {}),
        "conversation": conversation_to_json(plan.conversation),
    }
    path = Transcript.location(opts.transcript, transcript.run_id)
    transcript.max_record = settings.max_transcript_record_bytes
    transcript.start(path, transcript.run_id, header, explicit=opts.transcript is not None)


def _run(opts: AskOptions, settings: Settings, plan: Plan, report: _Reporter, transcript: Transcript) -> RunResult:
    """Carry the plan out: open the tools and the router, start the transcript, run the loop on the model."""
    from crazycall.loop import LoopState, run
    from crazycall.model import HttpModel
    from crazycall.protocols import get_adapter
    from crazycall.tools.session import tool_session
    from crazycall.transport import Transport

    state = report.state = LoopState(plan.conversation)
    emit = report.emit
    with (
        tool_session(plan.tools, opts.tool_choice) as runner,
        _router(opts, settings, plan) as (base_url, api_key),
    ):
        start_transcript(opts, settings, plan, transcript)
        path = str(transcript.path) if transcript.path is not None else None
        names = tuple(runner.registry.names())
        structured = plan.loop.turn.response_schema is not None
        emit(RunStarted(plan.model, plan.protocol, plan.endpoint, names, transcript.run_id, path, structured))
        observe, flush = transcript.observe, report.flush
        if plan.replay is not None:  # no router, no key: the recording answers (crazycall.replay)
            from crazycall.replay.stand_in import replay_model
            from crazycall.replay.tools import replay_runner

            runner = replay_runner(runner, plan.replay) if opts.replay_tools else runner
            return run(state, replay_model(plan.replay, observe), runner, plan.loop, emit, transcript.message)
        with Transport(base_url, api_key, plan.transport, observer=observe, on_wait=flush) as transport:
            model = HttpModel(get_adapter(plan.protocol), transport, plan.model, stream=opts.stream)
            return run(state, model, runner, plan.loop, emit, transcript.message)


def _router(opts: AskOptions, settings: Settings, plan: Plan) -> AbstractContextManager[tuple[str, str]]:
    """``router_endpoint``, except for a replay, which needs neither a router nor a key."""
    if plan.replay is not None:
        return nullcontext(("", ""))
    return router_endpoint(opts.offline, settings)

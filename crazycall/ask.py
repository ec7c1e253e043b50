"""``crazycall ask``: wire settings, tools, adapter, transport and renderer together and run the loop.

Owns the order of a run (resolve settings -> route -> load tools -> pick a renderer -> loop -> report) and
the rule that a failing run still reports what it knows (``RunFailed`` with the partial result) before the
error reaches the CLI's handler. It does not parse flags (commands/ask.py) or speak any protocol.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from crazycall.conversation import Conversation
from crazycall.errors import CrazycallError, Interrupted, ToolErrorsPresent, UsageError
from crazycall.events import Emit, RunFailed, RunFinished, RunResult, RunStarted
from crazycall.render import make_renderer
from crazycall.settings import ENV_API_KEY, Settings, load_settings

OFFLINE_KEY = "offline"


@dataclass(frozen=True)
class AskOptions:
    prompt: str
    model: str | None = None
    protocol: str = "auto"
    base_url: str | None = None
    api_key: str | None = None
    offline: bool = False
    tool_files: Sequence[Path] = ()
    plugin_paths: Sequence[Path] = ()
    tool_choice: str = "auto"
    parallel: bool = True
    system: str | None = None
    max_turns: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = True
    output: str = "auto"
    quiet: bool = False
    color: bool = True
    show_reasoning: bool = True
    fail_on_tool_error: bool = False
    verbose: bool = False
    timeout: float | None = None
    max_retries: int | None = None
    tool_timeout: float | None = None
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


@contextmanager
def _router(opts: AskOptions, settings: Settings) -> Iterator[tuple[str, str]]:
    """(base_url, api_key): the in-process offline router, or the configured router and key."""
    if opts.offline:
        from crazycall.offline.server import OfflineRouter

        with OfflineRouter() as router:
            yield router.url, OFFLINE_KEY
        return
    if not settings.api_key:
        raise UsageError(
            f"no API key: set {ENV_API_KEY}, pass --api-key, add api_key to {settings.config_path}, or try --offline"
        )
    yield settings.base_url, settings.api_key


def ask(opts: AskOptions, out: TextIO | None = None, err: TextIO | None = None) -> RunResult:
    """Run one conversation to its end.

    Every failure is first reported to the renderer (so ``--json`` still prints one object, with ``error``
    and whatever partial result exists), then raised for the CLI's handler.
    """
    from crazycall.loop import LoopState

    out = out or sys.stdout
    err = err or sys.stderr
    emit = make_renderer(opts.output, out, err, quiet=opts.quiet, color=opts.color, show_reasoning=opts.show_reasoning)
    state = LoopState(Conversation.start(opts.prompt, opts.system))
    try:
        settings = load_settings(
            api_key=opts.api_key,
            base_url=opts.base_url,
            model=opts.model,
            timeout=opts.timeout,
            max_turns=opts.max_turns,
            max_tokens=opts.max_tokens,
            max_retries=opts.max_retries,
            tool_timeout=opts.tool_timeout,
        )
        result = _run(opts, settings, state, emit)
    except CrazycallError as error:
        emit(RunFailed(error, state.result() if state.turns else None))
        raise
    except KeyboardInterrupt:
        interrupted = Interrupted("interrupted")
        emit(RunFailed(interrupted, state.result() if state.turns else None))
        raise interrupted from None
    emit(RunFinished(result))
    if opts.fail_on_tool_error and any(r.is_error for r in result.tool_calls):
        failed = ", ".join(sorted({r.name for r in result.tool_calls if r.is_error}))
        raise ToolErrorsPresent(f"tool call(s) ended in error: {failed} (--fail-on-tool-error)")
    return result


def _run(opts: AskOptions, settings: Settings, state: Any, emit: Emit) -> RunResult:
    from crazycall.loop import DEFAULT_MAX_TURNS, LoopOptions, run
    from crazycall.protocols import get_adapter, resolve_protocol
    from crazycall.protocols.base import RequestOptions
    from crazycall.tools.session import ToolOptions, tool_session
    from crazycall.transport import Transport, TransportOptions

    protocol = resolve_protocol(settings.model, opts.protocol, settings.routes)
    adapter = get_adapter(protocol)
    request = RequestOptions(
        model=settings.model,
        stream=opts.stream,
        tool_choice=opts.tool_choice,
        parallel_tool_calls=opts.parallel,
        max_tokens=settings.max_tokens,
        temperature=opts.temperature,
    )
    loop_options = LoopOptions(request, max_turns=settings.max_turns or DEFAULT_MAX_TURNS)
    t_opts = TransportOptions(
        deadline=settings.timeout,
        max_retries=settings.max_retries if settings.max_retries is not None else 2,
    )
    tool_options = ToolOptions(
        tool_files=opts.tool_files,
        plugin_paths=opts.plugin_paths,
        allow=opts.allow_tools,
        deny=opts.deny_tools,
        approve=opts.approve,
        yes=opts.yes,
        tool_timeout=settings.tool_timeout,
        verbose=opts.verbose,
    )
    endpoint = adapter.build_request(state.conversation, [], request).path
    with tool_session(tool_options, opts.tool_choice) as runner, _router(opts, settings) as (base_url, api_key):
        emit(RunStarted(settings.model, protocol, endpoint, tuple(runner.registry.names())))
        with Transport(base_url, api_key, t_opts) as transport:
            return run(state, adapter, transport, runner, loop_options, emit)

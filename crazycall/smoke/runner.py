"""Running smoke cases: concurrently, each under a hard timeout, through the ordinary adapters and transport.

Owns one case's exchange (ask the case's model -- an ``HttpModel`` over a ``Transport`` of its own whose
retries follow the transport's policy -- for a turn, check the neutral response with probe.py, and with
``--round-trip`` run the probe and send its result back), the mapping of errors to one-line reasons and
exit-code classes, and what a case that times out reports. The concurrency and the per-case hard timeout are
crazycall.scheduler's (the one eval's rows run on): a case that hangs is reported as timed out, its transport
is closed, and it cannot keep the process alive. It prints nothing (report.py does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crazycall.conversation import Conversation, Message, ModelResponse, ToolCall, ToolResult
from crazycall.errors import (
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_TRANSPORT,
    EXIT_UNEXPECTED,
    CrazycallError,
    ProtocolViolation,
    ProviderError,
    StreamCut,
    TransportError,
    TransportTimeout,
)
from crazycall.events import StreamEvent
from crazycall.model import HttpModel, TurnOptions, ask_turn, endpoint_for
from crazycall.settings import DEFAULT_MAX_RETRIES, DEFAULT_SMOKE_CONCURRENCY, DEFAULT_SMOKE_TIMEOUT
from crazycall.smoke.cases import SmokeCase
from crazycall.smoke.probe import CaseFailure, expect_text_answer, expect_tool_call, run_probe

if TYPE_CHECKING:
    from crazycall.transport import Transport

TOOL_CHOICES = ("required", "tool")


@dataclass(frozen=True)
class RunConfig:
    base_url: str
    api_key: str
    stream: bool = True
    round_trip: bool = False
    tool_choice: str = "required"
    """``required`` (any tool; only the probe is offered) or ``tool`` (the probe forced by name)."""
    timeout: float = DEFAULT_SMOKE_TIMEOUT
    """Seconds for a whole case, retries and round trip included."""
    max_retries: int = DEFAULT_MAX_RETRIES
    concurrency: int = DEFAULT_SMOKE_CONCURRENCY


@dataclass(frozen=True)
class CaseResult:
    case: SmokeCase
    endpoint: str
    latency_ms: float
    reason: str | None = None
    """None when the case passed; else one line, e.g. ``HTTP 404 from /v1/responses: ...``."""
    exit_code: int = EXIT_OK
    detail: str = ""
    answer: str = ""
    """The final text of a passing ``--round-trip``."""

    @property
    def passed(self) -> bool:
        return self.reason is None


class Exchange:
    """One case's conversation with the router; ``events`` counts stream events seen (to spot a cut)."""

    def __init__(self, case: SmokeCase, config: RunConfig, transport: Transport) -> None:
        from crazycall.protocols import get_adapter

        self.case = case
        self.config = config
        self.model = HttpModel(get_adapter(case.protocol), transport, case.model, stream=config.stream)
        self.events = 0

    def ask(self, conversation: Conversation, options: TurnOptions) -> ModelResponse:
        """One turn through the Model seam, as the loop asks for it."""
        self.events = 0
        return ask_turn(self.model, conversation, [self.case.tool.spec], options, self._count)

    def _count(self, event: StreamEvent) -> None:
        self.events += 1

    def run(self) -> str:
        """Pass (returning the round trip's answer, or "") or raise CaseFailure / CrazycallError."""
        case, config = self.case, self.config
        choice = case.tool.name if config.tool_choice == "tool" else "required"
        options = TurnOptions(tool_choice=choice)
        conversation = Conversation.start(case.prompt)
        first = self.ask(conversation, options)
        expect_tool_call(first, case.tool)
        if not config.round_trip:
            return ""
        results = tuple(self._answer(call) for call in first.message.tool_calls)
        conversation = conversation.append(first.message, Message("tool", results))
        try:
            second = self.ask(conversation, options.after_tool_results())
        except CrazycallError as err:
            raise self.failure(err, prefix="round trip: ") from None
        return expect_text_answer(second)

    def _answer(self, call: ToolCall) -> ToolResult:
        """Every call of the turn gets a result (the providers reject unanswered calls, PROTOCOLS.md §1.3)."""
        tool = self.case.tool
        if call.name != tool.name or call.arguments_error or tool.validate(call.arguments):
            return ToolResult(call.id, call.name, f"not run: call {tool.name} with valid arguments", True)
        content, is_error = run_probe(tool, call.arguments)
        return ToolResult(call.id, call.name, content, is_error)

    def failure(self, err: CrazycallError, prefix: str = "") -> CaseFailure:
        """An error as a one-line reason of its exit-code class (the full message goes to ``detail``)."""
        path = self.model.endpoint
        message = _strip_prefix(str(err), f"{self.model.protocol} {path}: ")
        if isinstance(err, ProviderError):
            # The path actually requested: the Gemini adapter names its errors with a "{model}" template.
            if err.status is None:
                reason = f"error event in the stream from {path}: {_clip(err.provider_message)}"
            else:
                reason = f"HTTP {err.status} from {path}: {_clip(err.provider_message)}"
        elif isinstance(err, TransportError):
            reason = self._transport_reason(err, message)
        elif isinstance(err, ProtocolViolation):
            reason = f"protocol violation: {_clip(message)}"
        else:
            reason = _clip(message)
        return CaseFailure(prefix + reason, err.exit_code, str(err))

    def _transport_reason(self, err: TransportError, message: str) -> str:
        if isinstance(err, TransportTimeout):  # the deadline included
            return f"timeout after {self.config.timeout:g} s"
        # A body that stops part-way: events already arrived, the adapter saw no terminal event, or httpx
        # saw the connection close inside the (chunked) body.
        if self.events > 0 or isinstance(err, StreamCut):
            return f"{'stream' if self.config.stream else 'response'} cut: {_clip(message)}"
        return f"transport error: {_clip(message)}"


def _strip_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def endpoint_of(case: SmokeCase, config: RunConfig) -> str:
    """The path the case's requests go to (Gemini's names the model and the stream method)."""
    return endpoint_for(case.protocol, case.model, config.stream)


class _Attempt:
    """A case running in its own daemon thread; ``abandon`` closes its transport after a timeout."""

    def __init__(self, case: SmokeCase, config: RunConfig) -> None:
        self.case = case
        self.config = config
        self._lock = threading.Lock()
        self._transport: Transport | None = None
        self._abandoned = False
        self.started: float | None = None

    def _open(self) -> Transport:
        from crazycall.transport import Transport, TransportOptions

        timeout = self.config.timeout
        options = TransportOptions(
            connect_timeout=min(10.0, timeout),
            read_timeout=timeout,
            deadline=timeout,
            max_retries=self.config.max_retries,
            max_retry_wait=timeout,
        )
        config = self.config
        transport = Transport(config.base_url, config.api_key, options, connections=config.concurrency)
        self.started = time.perf_counter()  # latency measures the router, not building an SSL context
        with self._lock:
            self._transport = transport
            if self._abandoned:
                transport.close()
        return transport

    def run(self) -> tuple[str | None, int, str, str]:
        """(reason or None, exit code, detail, answer) -- never raises."""
        exchange: Exchange | None = None
        try:
            with self._open() as transport:
                exchange = Exchange(self.case, self.config, transport)
                return None, EXIT_OK, "", exchange.run()
        except CaseFailure as failure:
            return failure.reason, failure.exit_code, failure.detail, ""
        except CrazycallError as err:
            if exchange is None:
                return _clip(str(err)), err.exit_code, str(err), ""
            mapped = exchange.failure(err)
            return mapped.reason, mapped.exit_code, mapped.detail, ""
        except Exception as exc:  # a bug in crazycall: reported on this case, the others still run
            return f"unexpected {type(exc).__name__}: {_clip(str(exc))}", EXIT_UNEXPECTED, repr(exc), ""

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            transport = self._transport
        if transport is not None:
            transport.close()  # wakes the thread blocked on the socket; its late result is dropped


def prepare(cases: Sequence[SmokeCase]) -> None:
    """Import and compile what the cases need before any clock starts, so latency measures the router."""
    from importlib import import_module

    from crazycall.protocols import get_adapter

    import_module("crazycall.transport")  # httpx
    for case in cases:
        get_adapter(case.protocol)
        case.tool.validator()  # jsonschema


def run_case(case: SmokeCase, config: RunConfig) -> CaseResult:
    """Run one case; it fails with ``timeout after N s`` when it is not done within ``config.timeout``."""
    from crazycall.scheduler import within

    endpoint = endpoint_of(case, config)
    attempt = _Attempt(case, config)
    started = time.perf_counter()
    late: list[bool] = []

    def timed_out() -> tuple[str | None, int, str, str]:
        late.append(True)
        attempt.abandon()
        return f"timeout after {config.timeout:g} s", EXIT_TRANSPORT, "", ""

    reason, code, detail, answer = within(attempt.run, config.timeout, timed_out, name=f"smoke {case.name}")
    if not late:  # latency measures the router, not building an SSL context
        started = attempt.started or started
    latency = (time.perf_counter() - started) * 1000
    return CaseResult(case, endpoint, round(latency, 1), reason, code, detail, answer)


def run_cases(
    cases: Sequence[SmokeCase],
    run_one: Callable[[SmokeCase], CaseResult],
    concurrency: int = DEFAULT_SMOKE_CONCURRENCY,
    base_url: str | None = None,
) -> list[CaseResult]:
    """Every case on the shared scheduler (crazycall.scheduler, as eval's rows), at most ``concurrency`` at a
    time, holding ``base_url``'s shared client; results in case order. Ctrl-C -> Interrupted."""
    from crazycall.scheduler import run_all

    return run_all(cases, run_one, concurrency, base_url=base_url, name="crazycall-smoke")


#: most severe first: a crazycall bug, then the wire, then the network, then the provider
SEVERITY = (EXIT_UNEXPECTED, EXIT_PROTOCOL, EXIT_TRANSPORT)


def overall_exit_code(results: Sequence[CaseResult]) -> int:
    """0 when every case passed; else the exit code of the most severe failure class (1 > 6 > 5 > 4)."""
    codes = [r.exit_code for r in results if not r.passed]
    if not codes:
        return EXIT_OK

    def rank(code: int) -> tuple[int, int]:
        return (SEVERITY.index(code), 0) if code in SEVERITY else (len(SEVERITY), -code)

    return min(codes, key=rank)

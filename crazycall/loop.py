"""The protocol-agnostic tool loop.

Owns the turn structure: build a request through the adapter, send or stream it through the transport, pass
every event to ``emit``, append the assistant message, run the requested tools, append one tool message, and
repeat until the model answers without tool calls or ``max_turns`` is reached. It never branches on a protocol
name and never prints: renderers do that from the events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from crazycall.conversation import Conversation, Message, ModelResponse, ToolCall, Usage
from crazycall.errors import LoopLimitExceeded, ProtocolViolation
from crazycall.events import (
    Emit,
    ResponseCompleted,
    RunResult,
    StreamEvent,
    ToolCallRecord,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    TurnStarted,
)
from crazycall.protocols.base import ProtocolAdapter, RequestOptions, replay
from crazycall.tools.registry import ToolRegistry
from crazycall.tools.runner import CallOutcome, ToolRunner
from crazycall.transport import Transport

DEFAULT_MAX_TURNS = 10


@dataclass(frozen=True)
class LoopOptions:
    request: RequestOptions
    max_turns: int = DEFAULT_MAX_TURNS


@dataclass
class LoopState:
    """Everything known so far; kept by the caller so a failed run can still report it."""

    conversation: Conversation
    model: str = ""
    protocol: str = ""
    turns: int = 0
    usage: Usage = field(default_factory=Usage)
    records: list[ToolCallRecord] | None = None
    last: ModelResponse | None = None

    def result(self) -> RunResult:
        text = self.last.message.text if self.last else ""
        stop = self.last.stop_reason if self.last else ""
        records = tuple(self.records or ())
        return RunResult(self.model, self.protocol, text, stop, self.turns, records, self.usage)


def _model_events(
    adapter: ProtocolAdapter, transport: Transport, conv: Conversation, tools: Any, opts: RequestOptions
) -> Iterator[StreamEvent]:
    request = adapter.build_request(conv, tools, opts)
    if opts.stream:
        return transport.stream(adapter, request)
    return replay(adapter.parse_response(transport.send(adapter, request)))


def _record(outcome: CallOutcome) -> ToolCallRecord:
    call, result = outcome.call, outcome.result
    arguments: Any = call.raw_arguments if call.arguments_error else call.arguments
    value: Any = outcome.value
    if result.is_error or value is None:
        try:
            value = json.loads(result.content)
        except ValueError:
            value = result.content
    return ToolCallRecord(call.id, call.name, arguments, value, result.is_error, round(outcome.duration_ms, 1))


def run(
    state: LoopState,
    adapter: ProtocolAdapter,
    transport: Transport,
    runner: ToolRunner,
    options: LoopOptions,
    emit: Emit,
) -> RunResult:
    """Run the loop from ``state`` (updated in place) until a text answer; returns the run's result."""
    registry: ToolRegistry = runner.registry
    specs = registry.specs()
    opts = options.request
    state.model, state.protocol = opts.model, adapter.name
    state.records = state.records if state.records is not None else []
    while True:
        state.turns += 1
        emit(TurnStarted(state.turns))
        response: ModelResponse | None = None
        for event in _model_events(adapter, transport, state.conversation, specs, opts):
            emit(event)
            if isinstance(event, ResponseCompleted):
                response = event.response
        if response is None:
            raise ProtocolViolation(f"{adapter.name}: the response ended without a complete message")
        state.last = response
        state.usage = state.usage + response.usage
        state.conversation = state.conversation.append(response.message)
        emit(TurnFinished(state.turns, response.usage, response.stop_reason))
        calls = response.message.tool_calls
        if not calls:
            return state.result()
        if state.turns >= options.max_turns:
            raise LoopLimitExceeded(
                f"stopped after {state.turns} turns (--max-turns) with {len(calls)} tool call(s) still pending"
            )
        _run_tools(state, runner, calls, emit)
        # A forced choice (required / a named tool) applies to the first turn only; forcing it again would
        # make the model call tools forever.
        if opts.tool_choice != "none":
            opts = replace(opts, tool_choice="auto")


def _run_tools(state: LoopState, runner: ToolRunner, calls: tuple[ToolCall, ...], emit: Emit) -> None:
    def finished(outcome: CallOutcome) -> None:
        emit(ToolFinished(outcome.call, outcome.result, outcome.duration_ms, outcome.output))

    outcomes = runner.run(calls, on_start=lambda call: emit(ToolStarted(call)), on_finish=finished)
    assert state.records is not None
    state.records.extend(_record(o) for o in outcomes)
    # Results go back in call order whatever order they finished in (chat/gemini match by position too).
    state.conversation = state.conversation.append(Message("tool", tuple(o.result for o in outcomes)))

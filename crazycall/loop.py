"""The protocol-agnostic tool loop.

Owns the turn structure: ask the ``Model`` (crazycall/model.py) for a turn, pass every event to ``emit``,
append the assistant message, run the requested tools, append one tool message, and repeat until the model
answers without tool calls, ``max_turns`` is reached, or the model asks for the same call(s) with identical
arguments ``max_repeats`` rounds in a row. Two neutral stop reasons change the turn: a ``malformed_tool_call``
turn is asked again once and then fails (``MalformedToolCall``); a ``pause`` turn is kept and sent back as it
is so the model continues (a turn of its own, counted against ``max_turns``). It never branches on a protocol
name and never prints: renderers do that from the events. Whatever happens, ``LoopState`` holds everything so
far (the text of a turn cut short included) and ``on_message`` has seen every message appended, so a
transcript can keep it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from crazycall.conversation import (
    STOP_END_TURN,
    STOP_MALFORMED_TOOL_CALL,
    STOP_PAUSE,
    Conversation,
    Message,
    ModelResponse,
    ToolCall,
    ToolSpec,
    Usage,
    encode_arguments,
    user_text,
)
from crazycall.cost import Price, cost_usd
from crazycall.errors import BudgetExceeded, LoopLimitExceeded, MalformedToolCall, RepeatedToolCalls, SchemaMismatch
from crazycall.events import (
    Emit,
    RunResult,
    StreamEvent,
    TextDelta,
    ToolCallRecord,
    ToolCancelled,
    ToolFinished,
    ToolProgress,
    ToolStarted,
    TurnFinished,
    TurnStarted,
)
from crazycall.model import Model, TurnOptions, ask_turn
from crazycall.redact import redact, redact_data
from crazycall.schema_tool import ACCEPTED, SchemaFallback, results_message
from crazycall.settings import DEFAULT_MAX_REPEATS, DEFAULT_MAX_TURNS, DEFAULT_SCHEMA_RETRIES
from crazycall.textbuffer import TextBuffer
from crazycall.tools.runner import CallOutcome, Progress, ToolRunner

OnMessage = Callable[[Message], None]


@dataclass(frozen=True)
class LoopOptions:
    turn: TurnOptions = field(default_factory=TurnOptions)
    """The first turn's; later turns use ``turn.after_tool_results()``."""
    max_turns: int = DEFAULT_MAX_TURNS
    max_repeats: int = DEFAULT_MAX_REPEATS
    """Stop when this many consecutive rounds ask for the very same calls (names and arguments)."""
    schema_retries: int = DEFAULT_SCHEMA_RETRIES
    """``--schema-retries``: how many times an answer invalid against ``turn.response_schema`` is sent back."""
    schema_mode: str = "native"
    """``--schema-mode``: native, tool (the ``final_answer`` tool, schema_tool.py) or auto (native, then tool)."""
    price: Price | None = None
    """The model's price (``prices:``): the result then has ``cost_usd``."""
    max_cost: float | None = None
    """--max-cost, US dollars (needs ``price``): no model turn starts once the cost so far reaches it."""
    max_tokens_total: int | None = None
    """--max-tokens-total: no model turn starts once input plus output tokens so far reach it."""


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
    partial: TextBuffer = field(default_factory=TextBuffer)
    """Text received in a turn that has not completed (kept when the stream breaks)."""
    repeated: tuple[tuple[str, str], ...] = ()
    """The calls of the last round, as (name, arguments) pairs, and how many rounds in a row asked for them."""
    repeat_rounds: int = 0
    paused_text: str = ""
    """The text of turns the model paused (and continued in the next turn): the answer begins with it."""
    schema_attempts: int = 0
    """``--schema``: final answers judged so far (the first one and every retry)."""
    output: Any = None
    """``--schema``: the parsed value of the final answer once it validated."""
    tool_answer: str | None = None
    """``--schema-mode tool``: this turn's final answer, the arguments of its ``final_answer`` call as JSON."""
    price: Price | None = None
    """The model's price, when ``prices:`` has one: the result reports ``cost_usd``."""

    def result(self) -> RunResult:
        # The text of a turn that called tools is progress ("Calling get_weather."), not an answer.
        text = self.last.message.text if self.last and not self.last.message.tool_calls else ""
        if self.partial:
            text = self.partial.text()
        text = self.paused_text + text
        stop = self.last.stop_reason if self.last else ""
        if self.tool_answer is not None:  # the final_answer call ended the run: an answer, not a pending call
            text, stop = self.tool_answer, STOP_END_TURN
        records = tuple(self.records or ())
        extra: dict[str, Any] = {"output": self.output} if self.schema_attempts else {}
        if self.price is not None:
            extra["cost_usd"] = cost_usd(self.usage, self.price)
        return RunResult(self.model, self.protocol, text, stop, self.turns, records, self.usage, extra)


def _record(outcome: CallOutcome) -> ToolCallRecord:
    call, result = outcome.call, outcome.result
    arguments: Any = call.raw_arguments if call.arguments_error else call.arguments
    value: Any = outcome.value
    if value is not None and not result.is_error:
        try:  # reports are JSON: a value json cannot take is reported as the text the model got (str() inside)
            json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            value = None
    if result.is_error or value is None:
        try:
            value = json.loads(result.content)
        except (ValueError, RecursionError):
            value = result.content
    duration = round(outcome.duration_ms, 1)
    return ToolCallRecord(call.id, call.name, arguments, value, result.is_error, duration, outcome.declined)


def run(
    state: LoopState,
    model: Model,
    runner: ToolRunner,
    options: LoopOptions,
    emit: Emit,
    on_message: OnMessage | None = None,
) -> RunResult:
    """Run the loop from ``state`` (updated in place) until a text answer; returns the run's result."""
    specs = runner.registry.specs()
    opts = options.turn
    state.model, state.protocol = model.name, model.protocol
    state.price = options.price
    state.records = state.records if state.records is not None else []
    appended = on_message or (lambda message: None)
    fallback = _fallback(options)
    while True:
        _check_budget(state, options)
        state.turns += 1
        state.tool_answer = None
        emit(TurnStarted(state.turns))
        response = fallback.turn(lambda s, o: _turn_with_retry(state, model, s, o, emit), specs, opts)
        state.last = response
        state.usage = state.usage + response.usage
        if response.message.parts:  # an empty paused turn adds nothing; sent as is it would be rejected
            state.conversation = state.conversation.append(response.message)
            appended(response.message)
        emit(TurnFinished(state.turns, response.usage, response.stop_reason))
        calls = response.message.tool_calls
        if not calls and response.stop_reason == STOP_PAUSE:
            _continue_paused(state, response, options.max_turns)
            continue
        if not calls:
            if _answer_retried(state, opts.response_schema, options, appended):
                continue
            return state.result()
        final = fallback.final_call(calls)
        if final is not None:
            if _tool_answer_retried(state, fallback, calls, final, options, appended):
                continue
            return state.result()
        if state.turns >= options.max_turns:
            raise LoopLimitExceeded(
                f"stopped after {state.turns} turns (--max-turns) with {len(calls)} tool call(s) still pending"
            )
        _check_repeats(state, calls, options.max_repeats)
        _run_tools(state, runner, calls, emit)
        appended(state.conversation.messages[-1])
        opts = opts.after_tool_results()


def _turn_with_retry(
    state: LoopState, model: Model, specs: Sequence[ToolSpec], opts: TurnOptions, emit: Emit
) -> ModelResponse:
    """One turn; a turn that ended on a malformed tool call is asked again once (models misfire), then fails."""
    response = _one_turn(state, model, specs, opts, emit)
    if response.stop_reason != STOP_MALFORMED_TOOL_CALL:
        return response
    state.usage = state.usage + response.usage  # the failed attempt cost tokens too
    response = _one_turn(state, model, specs, opts, emit)
    if response.stop_reason != STOP_MALFORMED_TOOL_CALL:
        return response
    state.usage = state.usage + response.usage
    reason = response.raw_stop_reason or response.stop_reason
    raise MalformedToolCall(
        f"{model.protocol}: the model's tool call failed twice in a row (turn {state.turns}): {reason}"
    )


def _check_budget(state: LoopState, options: LoopOptions) -> None:
    """Budgets stop the loop before a model turn, never in one: what the turns so far produced is kept."""
    if not state.turns:
        return
    used = state.usage.input_tokens + state.usage.output_tokens
    if options.max_tokens_total is not None and used >= options.max_tokens_total:
        raise BudgetExceeded(
            f"stopped after {state.turns} turns: {used} tokens used reached "
            f"--max-tokens-total {options.max_tokens_total}"
        )
    if options.max_cost is not None and options.price is not None:
        spent = cost_usd(state.usage, options.price)
        if spent >= options.max_cost:
            raise BudgetExceeded(
                f"stopped after {state.turns} turns: ${spent:.6f} spent reached --max-cost {options.max_cost:g}"
            )


def _fallback(options: LoopOptions) -> SchemaFallback:
    return SchemaFallback(options.turn.response_schema, options.schema_mode)


def _tool_answer_retried(
    state: LoopState,
    fallback: SchemaFallback,
    calls: Sequence[ToolCall],
    final: ToolCall,
    options: LoopOptions,
    appended: OnMessage,
) -> bool:
    """``--schema-mode tool``: the ``final_answer`` call is the final answer, judged like a text one; its tool
    result is the correction (True: the loop asks again) or an acknowledgement (False: the run is done)."""
    state.tool_answer = fallback.answer_text(final)
    correction = _judge(state, fallback.schema, options) if fallback.schema is not None else None
    message = results_message(calls, final, correction or ACCEPTED, correction is not None)
    state.conversation = state.conversation.append(message)
    appended(message)
    return correction is not None


def _answer_retried(
    state: LoopState, schema: Mapping[str, Any] | None, options: LoopOptions, appended: OnMessage
) -> bool:
    """``--schema``: judge the final answer. True when it went back to the model with every violation (the loop
    asks again); False when it is valid (``state.output`` holds it); SchemaMismatch once retries are spent."""
    if schema is None:
        return False
    correction = _judge(state, schema, options)
    if correction is None:
        return False
    message = user_text(correction)
    state.conversation = state.conversation.append(message)
    state.paused_text = ""
    appended(message)
    return True


def _judge(state: LoopState, schema: Mapping[str, Any], options: LoopOptions) -> str | None:
    """The final answer judged: None when valid (``state.output`` holds it), else the correction to send;
    SchemaMismatch once retries (or turns) are spent."""
    from crazycall import schema as contract

    state.schema_attempts += 1
    checked = contract.validate(schema, state.result().text)
    if checked.ok:
        state.output = checked.value
        return None
    retries, shown = options.schema_retries, "; ".join(checked.violations[:3])
    if state.schema_attempts > retries:
        raise SchemaMismatch(
            f"the final answer is not valid against --schema after {retries} retr{'y' if retries == 1 else 'ies'} "
            f"(--schema-retries): {shown}"
        )
    if state.turns >= options.max_turns:  # a retry is a model turn like any other
        raise SchemaMismatch(f"the final answer is not valid against --schema and --max-turns is reached: {shown}")
    return contract.correction(checked, state.schema_attempts, retries)


def _continue_paused(state: LoopState, response: ModelResponse, max_turns: int) -> None:
    """A paused turn goes back as it is, with no new message, so the model continues it; that costs a turn."""
    if state.turns >= max_turns:
        raise LoopLimitExceeded(
            f"stopped after {state.turns} turns (--max-turns) with the model's answer paused, not finished"
        )
    state.paused_text += response.message.text


def _one_turn(
    state: LoopState, model: Model, specs: Sequence[ToolSpec], opts: TurnOptions, emit: Emit
) -> ModelResponse:
    """Ask for one turn and pass its events on; the text of a turn cut short stays in ``state.partial``."""
    state.partial = partial = TextBuffer()
    keep = partial.append

    def on_event(event: StreamEvent) -> None:
        if type(event) is TextDelta:  # events are final classes: cheaper than isinstance, once per delta
            keep(event.text)
        emit(event)

    response = ask_turn(model, state.conversation, specs, opts, on_event)
    state.partial = TextBuffer()
    return response


def _call_key(call: ToolCall) -> tuple[str, str]:
    return call.name, call.raw_arguments if call.arguments_error else encode_arguments(call.arguments)


def _check_repeats(state: LoopState, calls: tuple[ToolCall, ...], limit: int) -> None:
    """Stop a model that keeps asking for the same thing instead of burning tokens up to --max-turns."""
    key = tuple(sorted(_call_key(c) for c in calls))
    state.repeat_rounds = state.repeat_rounds + 1 if key == state.repeated else 1
    state.repeated = key
    if limit and state.repeat_rounds >= limit:
        shown = ", ".join(f"{name}({args})" for name, args in key)
        if len(shown) > 200:
            shown = shown[:199] + "…"
        raise RepeatedToolCalls(
            f"stopped after {state.turns} turns: the model asked for the same tool call(s) with identical "
            f"arguments {state.repeat_rounds} rounds in a row: {shown}"
        )


def _masked(outcome: CallOutcome) -> CallOutcome:
    """A tool can read the environment: whatever secret it returns or prints is masked before the model, the
    renderers or the transcript see it."""
    result = replace(outcome.result, content=redact(outcome.result.content))
    return replace(outcome, result=result, output=redact(outcome.output), value=redact_data(outcome.value))


def _run_tools(state: LoopState, runner: ToolRunner, calls: tuple[ToolCall, ...], emit: Emit) -> None:
    done: list[CallOutcome] = []

    def finished(outcome: CallOutcome) -> None:
        outcome = _masked(outcome)
        done.append(outcome)
        emit(ToolFinished(outcome.call, outcome.result, outcome.duration_ms, outcome.output, outcome.declined))

    def progressed(call: ToolCall, report: Progress) -> None:
        message = redact(report.message) if report.message else None
        emit(ToolProgress(call, report.progress, report.total, message))

    try:
        started = runner.run(
            calls, on_start=lambda call: emit(ToolStarted(call)), on_finish=finished, on_progress=progressed
        )
        outcomes = [_masked(o) for o in started]
    except KeyboardInterrupt:
        _interrupted(state, calls, done, emit)
        raise
    assert state.records is not None
    state.records.extend(_record(o) for o in outcomes)
    # Results go back in call order whatever order they finished in (chat/gemini match by position too).
    state.conversation = state.conversation.append(Message("tool", tuple(o.result for o in outcomes)))


def _interrupted(state: LoopState, calls: tuple[ToolCall, ...], done: list[CallOutcome], emit: Emit) -> None:
    """Ctrl-C while tools ran: the calls that finished keep their records (``--json``'s ``tool_calls``); each
    one still running gets a ``ToolCancelled`` event and no record, as it has no result."""
    by_call = {id(o.call): o for o in done}
    assert state.records is not None
    for call in calls:
        outcome = by_call.get(id(call))
        if outcome is not None:
            state.records.append(_record(outcome))
        else:
            emit(ToolCancelled(call))

"""The loop with a scripted adapter and transport: turn structure, tool errors, limits, ordering."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from crazycall.conversation import (
    STOP_END_TURN,
    Conversation,
    Message,
    ModelResponse,
    TextPart,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
    decode_arguments,
)
from crazycall.errors import LoopLimitExceeded
from crazycall.events import (
    ResponseCompleted,
    RunResult,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from crazycall.loop import LoopOptions, LoopState, run
from crazycall.protocols.assembler import replay
from crazycall.protocols.base import HttpRequest, RequestOptions
from crazycall.tools.registry import Tool, ToolRegistry
from crazycall.tools.runner import ToolRunner


def call(cid: str, name: str, raw: str) -> ToolCall:
    args, error = decode_arguments(raw)
    return ToolCall(cid, name, args, raw, {}, error)


def answer(*parts: Any, usage: Usage | None = None) -> ModelResponse:
    msg = Message("assistant", tuple(parts))
    stop = "tool_use" if msg.tool_calls else STOP_END_TURN
    return ModelResponse(msg, stop, usage or Usage(10, 5), "m")


class ScriptedAdapter:
    name = "scripted"

    def __init__(self) -> None:
        self.seen: list[tuple[Conversation, str]] = []

    def build_request(self, conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
        self.seen.append((conv, opts.tool_choice))
        return HttpRequest("/x", {}, opts.stream)

    def parse_response(self, body: Any) -> ModelResponse:
        assert isinstance(body, ModelResponse)
        return body


class ScriptedTransport:
    def __init__(self, responses: list[ModelResponse]) -> None:
        self.responses = responses

    def send(self, adapter: Any, request: HttpRequest) -> Any:
        return self.responses.pop(0)

    def stream(self, adapter: Any, request: HttpRequest) -> Iterator[Any]:
        return replay(self.responses.pop(0))


def registry(**funcs: Any) -> ToolRegistry:
    tools = []
    for name, (func, schema) in funcs.items():
        tools.append(Tool(ToolSpec(name, name, schema), func, f"test:{name}", timeout=None))
    return ToolRegistry(tools)


CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def weather(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": 21}


def go(
    responses: list[ModelResponse], reg: ToolRegistry, *, stream: bool = True, max_turns: int = 10, **opts: Any
) -> tuple[RunResult, list[Any], ScriptedAdapter, LoopState]:
    adapter = ScriptedAdapter()
    events: list[Any] = []
    state = LoopState(Conversation.start("hi"))
    options = LoopOptions(RequestOptions("m", stream=stream, **opts), max_turns=max_turns)
    runner = ToolRunner(reg, default_timeout=opts.pop("tool_timeout", 5.0))
    result = run(state, adapter, ScriptedTransport(responses), runner, options, events.append)  # type: ignore[arg-type]
    return result, events, adapter, state


@pytest.mark.parametrize("stream", [True, False])
def test_text_answer_ends_the_run_in_one_turn(stream: bool) -> None:
    result, events, _, _ = go([answer(TextPart("hello"))], registry(), stream=stream)
    assert result.text == "hello"
    assert result.turns == 1
    assert result.stop_reason == STOP_END_TURN
    assert [type(e) for e in events][-2:] == [ResponseCompleted, TurnFinished]
    assert TextDelta("hello") in events


def test_tool_call_round_trip_sends_the_result_back() -> None:
    responses = [answer(call("c1", "get_weather", '{"city":"Paris"}')), answer(TextPart("21 C"))]
    result, events, adapter, _ = go(responses, registry(get_weather=(weather, CITY)))
    assert result.text == "21 C"
    assert result.turns == 2
    assert result.usage == Usage(20, 10)
    second_conv = adapter.seen[1][0]
    tool_msg = second_conv.messages[-1]
    assert tool_msg.role == "tool"
    assert tool_msg.parts == (ToolResult("c1", "get_weather", '{"city": "Paris", "temp_c": 21}', False),)
    rec = result.tool_calls[0]
    assert (rec.id, rec.name, rec.arguments, rec.result, rec.is_error) == (
        "c1",
        "get_weather",
        {"city": "Paris"},
        {"city": "Paris", "temp_c": 21},
        False,
    )
    assert [type(e) for e in events if isinstance(e, (ToolStarted, ToolFinished))] == [ToolStarted, ToolFinished]


@pytest.mark.parametrize(
    ("tool_call", "expected"),
    [
        (call("c1", "nope", "{}"), "unknown tool 'nope'; available tools: get_weather"),
        (call("c1", "get_weather", "{bad"), "invalid arguments for get_weather: arguments are not valid JSON"),
        (call("c1", "get_weather", "[1]"), "arguments must be a JSON object, got list"),
        (call("c1", "get_weather", '{"city": 3}'), "$.city: 3 is not of type 'string'"),
        (call("c1", "get_weather", "{}"), "$: 'city' is a required property"),
        (call("c1", "", "{}"), "the tool call has no name"),
    ],
)
def test_bad_calls_become_error_results_the_model_can_act_on(tool_call: ToolCall, expected: str) -> None:
    result, _, adapter, _ = go([answer(tool_call), answer(TextPart("sorry"))], registry(get_weather=(weather, CITY)))
    sent = adapter.seen[1][0].messages[-1].parts[0]
    assert isinstance(sent, ToolResult)
    assert sent.is_error
    assert expected in sent.content
    assert result.tool_calls[0].is_error


def test_tool_exception_becomes_error_result() -> None:
    def boom(city: str) -> None:
        raise ValueError("no such city")

    result, _, adapter, _ = go(
        [answer(call("c1", "w", '{"city":"X"}')), answer(TextPart("ok"))], registry(w=(boom, CITY))
    )
    sent = adapter.seen[1][0].messages[-1].parts[0]
    assert sent == ToolResult("c1", "w", "ValueError: no such city", True)
    assert result.tool_calls[0].result == "ValueError: no such city"


def test_parallel_calls_run_concurrently_and_results_keep_call_order() -> None:
    def slow(city: str) -> str:
        time.sleep(0.3 if city == "A" else 0.05)
        return city

    calls = [call(f"c{i}", "slow", json.dumps({"city": c})) for i, c in enumerate("ABCD")]
    started = time.perf_counter()
    result, events, adapter, _ = go([answer(*calls), answer(TextPart("done"))], registry(slow=(slow, CITY)))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.3 + 0.05 * 4  # concurrent: well under the sequential sum (0.45 s)
    results = adapter.seen[1][0].messages[-1].parts
    assert [r.content for r in results] == ["A", "B", "C", "D"]  # type: ignore[union-attr]
    assert [r.id for r in result.tool_calls] == ["c0", "c1", "c2", "c3"]
    finished = [e.call.id for e in events if isinstance(e, ToolFinished)]
    assert finished[-1] == "c0"  # the slow one finished last: events follow completion, results follow calls


def test_tool_timeout_yields_error_and_run_continues() -> None:
    def hang(city: str) -> str:
        time.sleep(5)
        return "late"

    reg = ToolRegistry([Tool(ToolSpec("hang", "h", CITY), hang, "t", timeout=0.1)])
    result, _, adapter, _ = go([answer(call("c1", "hang", '{"city":"x"}')), answer(TextPart("gave up"))], reg)
    sent = adapter.seen[1][0].messages[-1].parts[0]
    assert sent == ToolResult("c1", "hang", "tool hang timed out after 0.1 s", True)
    assert result.text == "gave up"


def test_max_turns_raises_with_everything_so_far_kept() -> None:
    responses = [answer(call(f"c{i}", "get_weather", '{"city":"P"}')) for i in range(3)]
    with pytest.raises(LoopLimitExceeded, match="stopped after 2 turns"):
        go(responses, registry(get_weather=(weather, CITY)), max_turns=2)


def test_max_turns_state_holds_partial_result() -> None:
    responses = [answer(TextPart("thinking"), call(f"c{i}", "get_weather", '{"city":"P"}')) for i in range(3)]
    adapter = ScriptedAdapter()
    state = LoopState(Conversation.start("hi"))
    runner = ToolRunner(registry(get_weather=(weather, CITY)))
    with pytest.raises(LoopLimitExceeded):
        run(state, adapter, ScriptedTransport(responses), runner, LoopOptions(RequestOptions("m"), 2), lambda e: None)  # type: ignore[arg-type]
    partial = state.result()
    assert partial.turns == 2
    assert len(partial.tool_calls) == 1
    assert partial.text == ""  # "thinking" came with tool calls: progress, not an answer


def test_forced_tool_choice_applies_to_first_turn_only() -> None:
    responses = [answer(call("c1", "get_weather", '{"city":"P"}')), answer(TextPart("x"))]
    _, _, adapter, _ = go(responses, registry(get_weather=(weather, CITY)), tool_choice="required")
    assert [choice for _, choice in adapter.seen] == ["required", "auto"]


def test_tool_prints_are_captured_not_written_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    def noisy(city: str) -> str:
        print("debug from tool")
        return "ok"

    _, events, _, _ = go([answer(call("c1", "n", '{"city":"x"}')), answer(TextPart("y"))], registry(n=(noisy, CITY)))
    assert "debug from tool" not in capsys.readouterr().out
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.output == "debug from tool\n"

"""The final-tool fallback of ``--schema`` in the loop, with a function model: tool mode, auto's switch on a
refusal naming the structured-output field (and only then), and what each mode offers the model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crazycall.conversation import (
    STOP_END_TURN,
    STOP_TOOL_USE,
    Conversation,
    Message,
    ModelResponse,
    TextPart,
    ToolCall,
    ToolSpec,
    Usage,
)
from crazycall.errors import ProviderError
from crazycall.loop import LoopOptions, LoopState, run
from crazycall.model import TurnOptions
from crazycall.schema_tool import FINAL_TOOL, SchemaFallback, rejects_native
from crazycall.testing import Asked, FunctionModel
from crazycall.tools.registry import ToolRegistry
from crazycall.tools.runner import ToolRunner

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def final(arguments: dict[str, Any]) -> ModelResponse:
    call = ToolCall("c1", FINAL_TOOL, arguments, json.dumps(arguments))
    return ModelResponse(Message("assistant", (call,)), STOP_TOOL_USE, Usage(1, 1), "m")


def go(model: FunctionModel, mode: str) -> tuple[LoopState, Any]:
    state = LoopState(Conversation.start("hi"))
    options = LoopOptions(TurnOptions(response_schema=CITY), schema_mode=mode)
    result = run(state, model, ToolRunner(ToolRegistry([]), default_timeout=5.0), options, lambda _e: None)
    return state, result


def test_tool_mode_takes_the_call_as_the_answer_and_corrects_it_through_its_result() -> None:
    answers = iter([final({"city": 5}), final({"city": "Paris"})])
    model = FunctionModel(lambda asked: next(answers))
    state, result = go(model, "tool")
    assert result.text == '{"city": "Paris"}' and state.output == {"city": "Paris"}
    first = model.seen[0]
    assert [t.name for t in first.tools] == [FINAL_TOOL] and first.tools[0].parameters == CITY
    assert first.options.response_schema is None  # no native field alongside the tool
    correction = state.conversation.messages[2].tool_results[0]
    assert correction.is_error and "/city" in correction.content
    last = state.conversation.messages[-1].tool_results[0]
    assert not last.is_error and last.call_id == "c1"  # every call answered: the conversation can go on


def test_auto_switches_once_on_a_refusal_naming_the_native_field() -> None:
    def answer(asked: Asked) -> ModelResponse:
        if asked.options.response_schema is not None:
            raise ProviderError("Unknown parameter: 'response_format'.", status=400)
        return final({"city": "Paris"})

    model = FunctionModel(answer)
    state, _ = go(model, "auto")
    assert state.output == {"city": "Paris"}
    assert [a.options.response_schema is None for a in model.seen] == [False, True]


@pytest.mark.parametrize("mode", ["native", "auto"])
def test_other_failures_are_not_a_reason_to_switch(mode: str) -> None:
    said = "Unknown parameter: 'response_format'." if mode == "native" else "temperature is out of range"

    def answer(asked: Asked) -> ModelResponse:
        raise ProviderError(said, status=400)

    with pytest.raises(ProviderError):
        go(FunctionModel(answer), mode)


def test_native_mode_offers_no_final_tool() -> None:
    done = ModelResponse(Message("assistant", (TextPart('{"city": "Paris"}'),)), STOP_END_TURN, Usage(1, 1), "m")
    model = FunctionModel(lambda asked: done)
    state, _ = go(model, "native")
    assert state.output == {"city": "Paris"} and model.seen[0].tools == ()


@pytest.mark.parametrize(
    ("message", "status", "expected"),
    [
        ("Unknown parameter: 'response_format'.", 400, True),
        ("Unknown name \"responseJsonSchema\" at 'generation_config'", 400, True),
        ("output_config: Extra inputs are not permitted", 400, True),
        ("Unknown parameter: 'response_format'.", 500, False),
        ("max_tokens too large", 400, False),
    ],
)
def test_rejects_native(message: str, status: int, expected: bool) -> None:
    assert rejects_native(ProviderError(message, status=status)) is expected


def test_tool_choice_none_offers_and_forces_the_final_tool_alone() -> None:
    user_tool = ToolSpec("get_weather", "", {"type": "object"})
    tools, opts = SchemaFallback(CITY, "tool").inputs([user_tool], TurnOptions(tool_choice="none"))
    assert [t.name for t in tools] == [FINAL_TOOL] and opts.tool_choice == FINAL_TOOL

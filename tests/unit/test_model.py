"""The Model seam: endpoints known without a request, stream and non-stream alike, the forced-choice rule once,
the test doubles in crazycall.testing, and ask's run planned once from the settings."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crazycall.ask import AskOptions, plan, settings_for
from crazycall.conversation import STOP_END_TURN, Conversation, Message, ModelResponse, TextPart, ToolCall, ToolSpec
from crazycall.errors import ProtocolViolation, ProviderError
from crazycall.events import ResponseCompleted, StreamEvent, TextDelta
from crazycall.loop import LoopOptions, LoopState, run
from crazycall.model import HttpModel, Model, TurnOptions, ask_turn, endpoint_for
from crazycall.offline.server import OfflineRouter
from crazycall.protocols import PROTOCOLS, get_adapter
from crazycall.protocols.base import RequestOptions
from crazycall.settings import DEFAULT_MAX_RETRIES, DEFAULT_MAX_TURNS, FLAGS, load_settings
from crazycall.testing import Asked, FunctionModel, ScriptedModel
from crazycall.tools.registry import Tool, ToolRegistry
from crazycall.tools.runner import ToolRunner
from crazycall.transport import Transport

MODELS = ("gpt-5.4", "claude-sonnet-4-6", "gemini-2.5-pro", "org/odd:name?x=1 #y")
WEATHER = ToolSpec("get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}}})


def text(value: str) -> ModelResponse:
    return ModelResponse(Message("assistant", (TextPart(value),)), STOP_END_TURN, model="m")


@pytest.fixture(scope="module")
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter() as running:
        yield running


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [True, False])
def test_endpoint_is_the_path_every_request_goes_to(protocol: str, model: str, stream: bool) -> None:
    adapter = get_adapter(protocol)
    request = adapter.build_request(Conversation.start("hi"), [WEATHER], RequestOptions(model, stream=stream))
    assert adapter.endpoint(model, stream) == request.path
    assert endpoint_for(protocol, model, stream) == request.path


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize("stream", [True, False])
def test_http_model_answers_a_turn_as_events_streamed_or_not(
    router: OfflineRouter, protocol: str, stream: bool
) -> None:
    before = len(router.requests)
    with Transport(router.url, "k") as transport:
        model: Model = HttpModel(get_adapter(protocol), transport, "gpt-5.4", stream=stream)
        options = TurnOptions(tool_choice="required", max_tokens=50)
        events = list(model.events(Conversation.start("What is the weather in Paris?"), [WEATHER], options))
    assert (model.name, model.protocol) == ("gpt-5.4", protocol)
    completed = events[-1]
    assert isinstance(completed, ResponseCompleted)
    assert [c.name for c in completed.response.message.tool_calls] == ["get_weather"]
    (sent,) = router.requests[before:]
    assert sent.path == model.endpoint  # the endpoint known up front is where the turn went


@pytest.mark.parametrize(
    ("choice", "later"), [("required", "auto"), ("get_weather", "auto"), ("auto", "auto"), ("none", "none")]
)
def test_a_forced_tool_choice_applies_to_the_first_turn_only(choice: str, later: str) -> None:
    first = TurnOptions(tool_choice=choice, parallel_tool_calls=False, max_tokens=7, temperature=0.5)
    after = first.after_tool_results()
    assert after.tool_choice == later
    assert (after.parallel_tool_calls, after.max_tokens, after.temperature) == (False, 7, 0.5)


def test_scripted_model_plays_responses_events_and_errors_in_order() -> None:
    error = ProviderError("messages /v1/messages: HTTP 529: overloaded", status=529)
    events: list[StreamEvent] = [TextDelta("a"), ResponseCompleted(text("a"))]
    model = ScriptedModel([text("hello"), events, error])
    conv = Conversation.start("hi")
    played = list(model.events(conv, [WEATHER], TurnOptions()))
    assert played == [TextDelta("hello"), ResponseCompleted(text("hello"))]
    assert list(model.events(conv, [], TurnOptions())) == events
    with pytest.raises(ProviderError, match="overloaded"):
        model.events(conv, [], TurnOptions())
    with pytest.raises(AssertionError, match="turn 4 asked for, only 3 scripted"):
        model.events(conv, [], TurnOptions())
    assert [len(asked.tools) for asked in model.seen] == [1, 0, 0, 0]


def test_function_model_computes_each_turn_from_the_conversation() -> None:
    def echo_tool_result(asked: Asked) -> ModelResponse:
        last = asked.conversation.messages[-1]
        if last.role == "user":
            call = ToolCall("c1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
            return ModelResponse(Message("assistant", (call,)), "tool_use")
        return text(f"it said {last.parts[0].content}")  # type: ignore[union-attr]

    model = FunctionModel(echo_tool_result, name="fn-model")
    tool = Tool(WEATHER, lambda city: f"sunny in {city}", "test", timeout=None)
    state = LoopState(Conversation.start("weather?"))
    result = run(state, model, ToolRunner(ToolRegistry([tool])), LoopOptions(), lambda event: None)
    assert result.text == "it said sunny in Paris"
    assert (result.model, result.protocol, result.turns) == ("fn-model", "function", 2)
    assert [asked.conversation.messages[-1].role for asked in model.seen] == ["user", "tool"]


def test_the_run_is_planned_once_from_resolved_settings(tmp_path: Path) -> None:
    opts = AskOptions(
        prompt="hi", settings={"model": "gemini-2.5-pro"}, system="be brief", stream=False, tool_choice="required"
    )
    settings = load_settings(opts.settings, env={"XDG_CONFIG_HOME": str(tmp_path)})
    planned = plan(opts, settings, io.StringIO())
    assert (settings.max_turns, settings.max_retries) == (DEFAULT_MAX_TURNS, DEFAULT_MAX_RETRIES)
    assert (planned.model, planned.protocol) == ("gemini-2.5-pro", "gemini")
    assert planned.endpoint == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert planned.conversation == Conversation.start("hi", "be brief")
    assert planned.loop.max_turns == DEFAULT_MAX_TURNS
    assert planned.loop.turn.tool_choice == "required"
    assert planned.transport.max_retries == DEFAULT_MAX_RETRIES


def test_ask_turn_passes_every_event_on_and_needs_a_complete_response() -> None:
    seen: list[StreamEvent] = []
    model = ScriptedModel([text("ok"), [TextDelta("cut sh")]], protocol="chat")
    response = ask_turn(model, Conversation.start("hi"), [], TurnOptions(), seen.append)
    assert response == text("ok")
    assert seen == [TextDelta("ok"), ResponseCompleted(text("ok"))]
    with pytest.raises(ProtocolViolation, match=r"^chat: the response ended without a complete message$"):
        ask_turn(model, Conversation.start("hi"), [], TurnOptions(), seen.append)
    assert seen[-1] == TextDelta("cut sh")


def test_every_setting_flag_of_ask_reaches_the_settings() -> None:
    given: dict[str, Any] = {
        "api_key": "sk-test-key-0123456789",
        "base_url": "http://127.0.0.1:9",
        "model": "claude-x",
        "timeout": 5.0,
        "max_turns": 3,
        "max_tokens": 99,
        "max_retries": 0,
        "tool_timeout": 1.5,
        "max_cost": 0.25,
        "max_tokens_total": 5000,
    }
    assert set(given) == set(FLAGS)  # a new setting flag: give it here
    settings = settings_for(AskOptions(prompt="hi", settings=given))
    assert {name: getattr(settings, name) for name in FLAGS} == given
    assert {settings.sources[name] for name in FLAGS} == {"flag"}

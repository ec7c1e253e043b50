"""Model name -> protocol, overrides, config routes, and the Claude-on-responses refusal."""

from __future__ import annotations

import pytest

from crazycall.errors import UsageError
from crazycall.protocols import get_adapter, resolve_protocol


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-5.4", "chat"),
        ("claude-sonnet-4-6", "messages"),
        ("Claude-Opus-4", "messages"),
        ("gemini-3-pro", "gemini"),
        ("deepseek-chat", "chat"),
    ],
)
def test_builtin_routes(model: str, expected: str) -> None:
    assert resolve_protocol(model) == expected


def test_override_wins_and_auto_does_not() -> None:
    assert resolve_protocol("gpt-5.4", "responses") == "responses"
    assert resolve_protocol("claude-sonnet-4-6", "chat") == "chat"
    assert resolve_protocol("claude-sonnet-4-6", "auto") == "messages"


def test_config_routes_come_before_builtin_routes() -> None:
    routes = {"my-claude-*": "chat", "o*": "responses"}
    assert resolve_protocol("my-claude-1", routes=routes) == "chat"
    assert resolve_protocol("o4-mini", routes=routes) == "responses"
    assert resolve_protocol("claude-x", routes=routes) == "messages"


def test_claude_on_responses_is_refused_with_the_reason() -> None:
    with pytest.raises(UsageError, match="does not serve Claude models on /v1/responses") as info:
        resolve_protocol("claude-sonnet-4-6", "responses")
    assert info.value.exit_code == 2


def test_unknown_protocol_lists_the_choices() -> None:
    with pytest.raises(UsageError, match="unknown protocol 'grpc'; choose one of: auto, chat, responses"):
        resolve_protocol("gpt-5.4", "grpc")
    with pytest.raises(UsageError, match="route 'x-\\*' names unknown protocol 'nope'"):
        resolve_protocol("x-1", routes={"x-*": "nope"})


@pytest.mark.parametrize("name", ["chat", "responses", "messages", "gemini"])
def test_every_protocol_has_an_adapter_with_its_name(name: str) -> None:
    assert get_adapter(name).name == name

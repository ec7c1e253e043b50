"""Slash-command parsing (names, arguments, did-you-mean) and the chat session's state (undo, retry, clear,
system, usage per model, enabling tools), without any terminal or network."""

from __future__ import annotations

import pytest

from crazycall.chat import slash
from crazycall.chat.export import to_markdown
from crazycall.chat.session import ChatSession
from crazycall.conversation import Conversation, Message, TextPart, ToolCall, ToolResult, Usage, user_text
from crazycall.errors import UsageError


def test_parse_takes_the_name_and_the_rest_as_argument() -> None:
    assert slash.parse("/model  claude-sonnet-4-6 ") == slash.Slash("model", "claude-sonnet-4-6")
    assert slash.parse("/SYSTEM be brief please") == slash.Slash("system", "be brief please")
    assert slash.parse("/exit") == slash.Slash("exit", "")


def test_a_double_slash_is_a_message() -> None:
    assert not slash.is_command("//etc/passwd is a path")
    assert slash.unescape("//etc") == "/etc"
    assert slash.is_command("/help")


@pytest.mark.parametrize(("line", "hint"), [("/mdoel x", "/model"), ("/undoo", "/undo"), ("/trans", "/transcript")])
def test_unknown_command_says_did_you_mean(line: str, hint: str) -> None:
    with pytest.raises(UsageError) as info:
        slash.parse(line)
    assert f"unknown command {line.split()[0]} (did you mean {hint}?)" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_command_far_from_any_has_no_guess() -> None:
    with pytest.raises(UsageError, match=r"^unknown command /zzzzzzzz; /help"):
        slash.parse("/zzzzzzzz")


def test_a_command_that_needs_an_argument_says_so() -> None:
    with pytest.raises(UsageError, match="/save needs an argument"):
        slash.parse("/save")


def test_help_lists_every_command() -> None:
    text = "\n".join(slash.help_lines())
    for name in slash.COMMANDS:
        assert f"/{name}" in text


def _exchange(session: ChatSession, prompt: str, answer: str, model: str = "m1") -> None:
    session.begin(prompt)
    conv = session.conversation.append(user_text(prompt), Message("assistant", (TextPart(answer),)))
    session.finish(conv, model, Usage(10, 2), turns=1, tool_calls=0)


def test_undo_drops_the_last_exchange_only() -> None:
    session = ChatSession(Conversation("sys"), "m1", "chat")
    _exchange(session, "one", "1")
    _exchange(session, "two", "2")
    assert session.undo() == 2
    assert [m.text for m in session.conversation.messages] == ["one", "1"]
    assert session.conversation.system == "sys"
    session.undo()
    with pytest.raises(UsageError, match="nothing to undo"):
        session.undo()


def test_retry_returns_the_last_prompt_and_removes_its_exchange() -> None:
    session = ChatSession(Conversation(), "m1", "chat")
    with pytest.raises(UsageError, match="no message to resend"):
        session.retry_prompt()
    _exchange(session, "one", "1")
    _exchange(session, "two", "2")
    assert session.retry_prompt() == "two"
    assert [m.text for m in session.conversation.messages] == ["one", "1"]


def test_clear_keeps_the_system_prompt_and_system_sets_it() -> None:
    session = ChatSession(Conversation("sys"), "m1", "chat")
    _exchange(session, "one", "1")
    session.clear()
    assert session.conversation == Conversation("sys")
    session.set_system("new")
    assert session.conversation.system == "new"
    session.set_system("")
    assert session.conversation.system is None


def test_usage_is_counted_per_model() -> None:
    session = ChatSession(Conversation(), "m1", "chat")
    _exchange(session, "one", "1", model="m1")
    _exchange(session, "two", "2", model="m2")
    _exchange(session, "three", "3", model="m1")
    assert session.usage == {"m1": Usage(20, 4), "m2": Usage(10, 2)}
    assert session.usage_lines()[-1] == "total: 30 in / 6 out"
    assert "3 turns" in session.summary("RID") and "run RID" in session.summary("RID")


def test_tools_enable_disable_and_unknown_name() -> None:
    session = ChatSession(Conversation(), "m1", "chat")
    session.set_tool("get_weather", False, ["get_weather"])
    assert session.disabled == {"get_weather"}
    session.set_tool("get_weather", True, ["get_weather"])
    assert session.disabled == set()
    with pytest.raises(UsageError, match="no tool named 'nope'"):
        session.set_tool("nope", False, ["get_weather"])


def test_markdown_export_shows_calls_arguments_and_results_and_fences_hostile_text() -> None:
    call = ToolCall("c1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
    conv = Conversation("sys").append(
        user_text("weather?"),
        Message("assistant", (call,)),
        Message("tool", (ToolResult("c1", "get_weather", "```\n# not a heading", False),)),
        Message("assistant", (TextPart("sunny"),)),
    )
    text = to_markdown(conv, "m1", "chat")
    assert '{"city": "Paris"}' in text and "**Tool result** `get_weather`" in text
    assert "````\n```\n# not a heading\n````" in text  # a longer fence: the result cannot close it
    assert text.index("## User") < text.index("## Assistant") < text.index("## Tool results")

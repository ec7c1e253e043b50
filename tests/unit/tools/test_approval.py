"""Approval rules, the terminal prompt, the terminal check, and how the runner applies them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from crazycall.conversation import ToolCall, ToolSpec
from crazycall.tools.approval import (
    APPROVE_ONCE,
    APPROVE_RUN,
    DECLINE,
    NOT_PERMITTED,
    USER_DECLINED,
    Approval,
    TerminalPrompter,
    can_prompt,
    describe_call,
    not_permitted,
    user_declined,
)
from crazycall.tools.decorator import ToolOptions as DecoratorOptions
from crazycall.tools.decorator import options_of, tool
from crazycall.tools.loader import load_registry
from crazycall.tools.registry import Tool, ToolRegistry
from crazycall.tools.runner import CallOutcome, ToolRunner
from crazycall.tools.session import ToolOptions, make_approval, tool_session

SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}}


def call(cid: str, name: str, **arguments: Any) -> ToolCall:
    return ToolCall(cid, name, arguments, "{}")


class Answers:
    """A prompter that answers from a script and records what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, call: ToolCall) -> str:  # the Prompter protocol names its parameter ``call``
        self.asked.append(call.id)
        return self.answers.pop(0)


def registry(ran: list[str]) -> ToolRegistry:
    def delete(path: str = "") -> str:
        ran.append(f"delete {path}")
        return f"deleted {path}"

    def read(path: str = "") -> str:
        ran.append(f"read {path}")
        return f"read {path}"

    return ToolRegistry(
        [
            Tool(ToolSpec("delete", "Delete", SCHEMA), delete, "test:1", confirm=True),
            Tool(ToolSpec("read", "Read", SCHEMA), read, "test:2"),
        ]
    )


def test_only_tools_marked_confirm_are_held_back() -> None:
    approval = Approval(prompter=None)
    assert approval.review(call("1", "read"), confirm=False) is None
    assert approval.review(call("2", "delete"), confirm=True) == not_permitted("delete")


def test_yes_and_approve_pre_approve_without_asking() -> None:
    prompter = Answers()
    assert Approval(yes=True, prompter=prompter).review(call("1", "delete"), confirm=True) is None
    assert Approval(["delete"], prompter=prompter).review(call("2", "delete"), confirm=True) is None
    assert Approval(["other"]).review(call("3", "delete"), confirm=True) == not_permitted("delete")
    assert prompter.asked == []


def test_answers_once_for_this_run_and_no() -> None:
    prompter = Answers(APPROVE_ONCE, DECLINE, APPROVE_RUN)
    seen: list[str] = []
    approval = Approval(prompter=prompter, before_prompt=lambda c: seen.append(c.id))
    assert approval.review(call("1", "delete"), confirm=True) is None
    assert approval.review(call("2", "delete"), confirm=True) == user_declined("delete")
    assert approval.review(call("3", "delete"), confirm=True) is None
    assert approval.review(call("4", "delete"), confirm=True) is None  # remembered for the run
    assert prompter.asked == ["1", "2", "3"] and seen == ["1", "2", "3"]


def test_declined_messages_tell_the_model_what_happened() -> None:
    assert not_permitted("rm").reason == NOT_PERMITTED
    assert not_permitted("rm").message == (
        "not permitted: tool rm needs the user's confirmation and this run cannot ask for it (no interactive "
        "terminal), so it was not run. The user can allow it with --approve rm or --yes; do not call it again "
        "in this run."
    )
    assert user_declined("rm").reason == USER_DECLINED
    assert user_declined("rm").message == (
        "the user declined: tool rm was not run. Do not call it again unless the user asks; continue without "
        "its result."
    )


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("y\n", APPROVE_ONCE),
        ("YES\n", APPROVE_ONCE),
        ("a\n", APPROVE_RUN),
        ("always\n", APPROVE_RUN),
        ("n\n", DECLINE),
        ("\n", DECLINE),
        ("", DECLINE),  # end of input
        ("maybe\ny\n", APPROVE_ONCE),
        ("x\nx\nx\ny\n", DECLINE),  # three unreadable answers
    ],
)
def test_terminal_prompter(typed: str, answer: str) -> None:
    out = io.StringIO()
    prompter = TerminalPrompter(io.StringIO(typed), out)
    assert prompter(call("1", "delete", path="/tmp/x")) == answer
    shown = out.getvalue()
    assert shown.startswith('\nTool delete needs your approval. Arguments:\n{\n  "path": "/tmp/x"\n}\n')
    assert "Run it? [y] yes once, [a] yes for this run, [n] no (default): " in shown


def test_describe_call_escapes_what_could_redraw_the_screen() -> None:
    text = describe_call(call("1", "delete", path="a\x1b[2Jb\x9bc\u202ed"))
    assert text == ('\nTool delete needs your approval. Arguments:\n{\n  "path": "a\\u001b[2Jb\\u009bc\\u202ed"\n}\n')
    broken = ToolCall("2", "delete", {}, '{"path": "x', {}, "unterminated string")
    assert describe_call(broken) == '\nTool delete needs your approval. Arguments:\n{"path": "x\n'


class FakeStream:
    def __init__(self, tty: bool, closed: bool = False) -> None:
        self.tty, self.closed = tty, closed

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self.tty


@pytest.mark.parametrize(
    ("output", "ttys", "expected"),
    [
        ("auto", (True, True, True), True),
        ("plain", (True, True, True), True),
        ("rich", (True, True, True), True),
        ("json", (True, True, True), False),
        ("jsonl", (True, True, True), False),
        ("auto", (False, True, True), False),  # stdin a pipe or a file
        ("auto", (True, False, True), False),  # stdout redirected
        ("auto", (True, True, False), False),  # stderr redirected
    ],
)
def test_can_prompt(output: str, ttys: tuple[bool, bool, bool], expected: bool) -> None:
    assert can_prompt(output, *(FakeStream(t) for t in ttys)) is expected


def test_can_prompt_survives_closed_or_missing_streams() -> None:
    assert can_prompt("auto", None, FakeStream(True), FakeStream(True)) is False
    assert can_prompt("auto", FakeStream(True, closed=True), FakeStream(True), FakeStream(True)) is False


def test_runner_declines_without_running_and_marks_the_outcome() -> None:
    ran: list[str] = []
    runner = ToolRunner(registry(ran))  # no Approval given: nobody can be asked
    finished: list[CallOutcome] = []
    outcomes = runner.run([call("c1", "delete", path="x"), call("c2", "read", path="y")], on_finish=finished.append)
    assert ran == ["read y"]
    first, second = outcomes
    assert (first.result.is_error, first.result.content, first.declined) == (
        True,
        not_permitted("delete").message,
        NOT_PERMITTED,
    )
    assert (second.result.is_error, second.result.content, second.declined) == (False, "read y", None)
    assert [o.call.id for o in finished] == ["c1", "c2"]


def test_runner_asks_before_any_tool_starts_and_before_on_start() -> None:
    ran: list[str] = []
    order: list[str] = []

    def prompter(call: ToolCall) -> str:
        order.append(f"ask {call.id} (ran so far: {len(ran)})")
        return DECLINE if call.id == "c1" else APPROVE_ONCE

    runner = ToolRunner(registry(ran), approval=Approval(prompter=prompter))
    calls = [call("c1", "delete", path="a"), call("c2", "read", path="b"), call("c3", "delete", path="c")]
    outcomes = runner.run(calls, on_start=lambda c: order.append(f"start {c.id}"))
    assert order == ["ask c1 (ran so far: 0)", "start c1", "start c2", "ask c3 (ran so far: 0)", "start c3"]
    assert sorted(ran) == ["delete c", "read b"]
    assert [o.declined for o in outcomes] == [USER_DECLINED, None, None]
    assert outcomes[0].result.content == user_declined("delete").message


def test_invalid_calls_are_rejected_before_anyone_is_asked() -> None:
    prompter = Answers()
    runner = ToolRunner(registry([]), approval=Approval(prompter=prompter))
    (outcome,) = runner.run([call("c1", "delete", path=5)])
    assert outcome.result.content == "invalid arguments for delete: $.path: 5 is not of type 'string'"
    assert (outcome.declined, prompter.asked) == (None, [])


def test_decorator_and_yaml_mark_tools_confirm(tmp_path: Path) -> None:
    @tool(confirm=True)
    def wipe() -> None:
        """Wipe."""

    assert options_of(wipe) == DecoratorOptions(confirm=True)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "p.py").write_text(
        "import crazycall\n\n@crazycall.tool(confirm=True)\ndef wipe() -> None:\n    pass\n\n"
        "@crazycall.tool\ndef look() -> None:\n    pass\n\n@crazycall.tool(confirm=True)\ndef relaxed() -> None:\n"
        "    pass\n"
    )
    (tmp_path / "tools.yaml").write_text("look:\n  confirm: true\nrelaxed:\n  confirm: false\n")
    reg = load_registry(cwd=tmp_path, entry_points=False)
    assert {t.name: t.confirm for t in reg} == {"look": True, "relaxed": False, "wipe": True}


def test_decorator_rejects_a_non_boolean_confirm() -> None:
    from crazycall.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^@tool\(confirm=\.\.\.\): must be True or False, got 'yes'$"):
        tool(confirm="yes")  # type: ignore[call-overload]


def test_session_builds_the_approval_from_the_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert make_approval(ToolOptions()).prompter is None  # the safe default: never prompt
    assert isinstance(make_approval(ToolOptions(interactive=True)).prompter, TerminalPrompter)
    approval = make_approval(ToolOptions(approve=("a",), yes=True))
    assert (approval.approved, approval.yes) == ({"a"}, True)
    (tmp_path / "tools.yaml").write_text("rm:\n  command: [rm]\n  confirm: true\n")
    with tool_session(ToolOptions(approve=("rm",))) as runner:
        assert runner.approval.approved == {"rm"}
    from crazycall.errors import UsageError

    with (
        pytest.raises(UsageError, match=r"^--approve: unknown tool\(s\): rn; known: rm$"),
        tool_session(ToolOptions(approve=("rn",))),
    ):
        pass

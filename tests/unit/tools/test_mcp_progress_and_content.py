"""The runner's progress reporter (how a running tool reports how far it got) and the audience of MCP content."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from crazycall.conversation import ToolCall, ToolSpec
from crazycall.tools.mcp.content import USER_ONLY_NOTE, split_result
from crazycall.tools.registry import Tool, ToolFailed, ToolRegistry
from crazycall.tools.runner import Progress, ToolRunner, progress_reporter

EMPTY = {"type": "object", "properties": {}}


def test_a_tool_reports_progress_to_the_runners_thread_while_it_runs() -> None:
    late: list[Any] = []

    def working() -> str:
        report = progress_reporter()
        assert report is not None
        report(1, 2, "half")
        report(2, 2, None)
        late.append(report)
        return "done"

    registry = ToolRegistry([Tool(ToolSpec("work", "works", EMPTY), working, "test:work")])
    seen: list[tuple[str, Progress, bool]] = []
    main = threading.get_ident()

    def on_progress(call: ToolCall, progress: Progress) -> None:
        seen.append((call.name, progress, threading.get_ident() == main))

    outcomes = ToolRunner(registry).run([ToolCall("c1", "work", {}, "{}")], on_progress=on_progress)
    assert outcomes[0].result.content == "done"
    assert seen == [("work", Progress(1, 2, "half"), True), ("work", Progress(2, 2, None), True)]
    late[0](3, 2, "after the end")  # reported after the call ended: dropped, never raises
    assert progress_reporter() is None  # not in a tool thread


def block(text: str, *audience: str) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "text", "text": text}
    if audience:
        data["annotations"] = {"audience": list(audience)}
    return data


def test_content_follows_its_audience() -> None:
    data = {"content": [block("u", "user"), block("a", "assistant"), block("both", "user", "assistant"), block("x")]}
    assert split_result(data) == ("a\nboth\nx", "u", False)


def test_only_user_content_leaves_the_model_a_note_and_errors_keep_their_text() -> None:
    assert split_result({"content": [block("secret plan", "user")]}) == (USER_ONLY_NOTE, "secret plan", False)
    assert split_result({"content": [block("u", "user"), block("bad input")], "isError": True}) == (
        "bad input",
        "u",
        True,
    )
    assert split_result({"content": [block("u", "user")], "structuredContent": {"n": 1}}) == ({"n": 1}, "u", False)


def test_result_value_still_raises_for_errors() -> None:
    from crazycall.tools.mcp import result_value

    with pytest.raises(ToolFailed, match=r"^bad$"):
        result_value({"content": [block("bad")], "isError": True})

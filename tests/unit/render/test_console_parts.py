"""The exact look of the terminal renderer's printed lines: tool headers, results, the closing line."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from crazycall.conversation import ToolCall, Usage
from crazycall.render.console_parts import MarkdownBlock, closing_line, tool_header, tool_result


def plain(lines: list[Text], width: int = 60) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, _environ={})
    for line in lines:
        console.print(line, no_wrap=line.no_wrap, overflow=line.overflow)
    return out.getvalue()


def console(width: int = 60) -> Console:
    return Console(file=io.StringIO(), width=width, _environ={})


def test_short_arguments_share_the_header_line() -> None:
    call = ToolCall("c", "get_weather", {"city": "Paris", "unit": "celsius"}, "")
    assert plain(tool_header(call, 60)) == '⚙ get_weather {"city": "Paris", "unit": "celsius"}\n'


def test_long_arguments_are_pretty_printed_and_capped() -> None:
    call = ToolCall("c", "search", {f"key{i}": "v" * 10 for i in range(14)}, "")
    lines = plain(tool_header(call, 60)).splitlines()
    assert lines[:3] == ["⚙ search", "  {", '    "key0": "vvvvvvvvvv",']
    assert lines[12:] == ['    "key10": "vvvvvvvvvv",', "  … 4 more lines"]
    assert len(lines) == 14


def test_arguments_that_are_not_json_are_shown_as_sent() -> None:
    call = ToolCall("c", "get_weather", {}, '{"city": "Par', arguments_error="arguments are not valid JSON")
    assert plain(tool_header(call, 60)) == '⚙ get_weather {"city": "Par\n'


def test_a_result_shows_size_and_duration_and_at_most_four_lines() -> None:
    content = "\n".join(f"line {i}" for i in range(10))
    lines = tool_result(console(), ToolCall("c", "ls", {}, ""), content, False, 1534.0)
    assert plain(lines) == "✓ ls · 1.5 s · 69 chars\n  line 0\n  line 1\n  line 2\n  line 3\n  …\n"


def test_an_error_result_gives_the_reason_the_model_was_given() -> None:
    reason = "invalid arguments for get_weather: 'city' is a required property"
    lines = tool_result(console(), ToolCall("c", "get_weather", {}, ""), reason, True, 0.2)
    assert plain(lines) == (
        "✗ get_weather · 0 ms · error\n  invalid arguments for get_weather: 'city' is a required\n  property\n"
    )
    assert lines[0].style == "red"
    assert {span.style for line in lines[1:] for span in line.spans} | {lines[1].style} == {"red"}


def test_what_a_tool_printed_is_shown_on_one_dim_line() -> None:
    lines = tool_result(console(), ToolCall("c", "t", {}, ""), "ok", False, 3.0, output="step 1\nstep 2\n")
    assert plain(lines) == "✓ t · 3 ms · 2 chars\n  ok\n  output: step 1 step 2\n"
    assert lines[-1].style == "dim"


def test_closing_line_counts_and_failure() -> None:
    assert closing_line(1, 1, Usage(1234, 5), 0.04).plain == "1 turn · 1 tool call · 1,234 in / 5 out tokens · 0.0 s"
    labelled = closing_line(2, 2, Usage(), 1, label="gpt-5.4 via responses").plain
    assert labelled == "gpt-5.4 via responses · 2 turns · 2 tool calls · 0 in / 0 out tokens · 1.0 s"
    failed = closing_line(3, 0, Usage(), 12.345, "interrupted")
    assert failed.plain == "interrupted · 3 turns · 0 tool calls · 0 in / 0 out tokens · 12.3 s"
    assert failed.spans[0].style == "bold red"


def test_markdown_blocks_lose_rich_s_surrounding_blank_lines_and_padding() -> None:
    out = io.StringIO()
    con = Console(file=out, width=40, _environ={})
    for block in ("- a\n- b", "> quoted", "Para *graph*"):
        con.print(MarkdownBlock(block))
    assert out.getvalue() == " • a\n • b\n▌ quoted\nPara graph\n"

"""The pieces the terminal renderer prints: tool call headers, tool results, the closing line.

Pure functions from event data to Rich ``Text`` lines, so their exact look is tested without a run. They do not
decide when anything is printed (console.py) or what the live region shows (live_view.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.text import Text

from crazycall.conversation import ToolCall, Usage
from crazycall.redact import mask_known
from crazycall.render.plain import duration, one_line
from crazycall.render.sanitize import visible, visible_line

RESULT_LINES = 4
"""Lines of a tool result shown under its header; the full size is in the header."""
ARGUMENT_LINES = 12
"""Lines of pretty-printed arguments shown when they do not fit on the header line."""
INDENT = "  "


def _blank(segment: Segment) -> bool:
    style = segment.style
    return not segment.text.strip() and not (style is not None and style.bgcolor is not None)


def markdown_lines(console: Console, options: ConsoleOptions, text: str) -> list[list[Segment]]:
    """A Markdown block rendered to screen lines, without the blank lines Rich adds around some elements
    (lists, quotes, tables) and without trailing padding, so that blocks printed one by one space evenly."""
    from rich.markdown import Markdown

    lines = console.render_lines(Markdown(text), options.update(height=None), pad=False)
    trimmed = []
    for line in lines:
        end = len(line)
        while end and _blank(line[end - 1]):
            end -= 1
        kept = line[:end]
        if kept and not _has_background(kept[-1:]):
            kept[-1] = Segment(kept[-1].text.rstrip(" "), kept[-1].style, kept[-1].control)
        trimmed.append(kept)
    start, stop = 0, len(trimmed)
    while start < stop and not trimmed[start] and not _has_background(lines[start]):
        start += 1
    while stop > start and not trimmed[stop - 1] and not _has_background(lines[stop - 1]):
        stop -= 1
    return trimmed[start:stop]


def _has_background(line: list[Segment]) -> bool:
    """A padding line of a code block: spaces with a background colour, part of the block's look."""
    return any(seg.style is not None and seg.style.bgcolor is not None for seg in line)


class MarkdownBlock:
    """One finished Markdown block, printed once (see markdown_lines)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for line in markdown_lines(console, options, self.text):
            yield from line
            yield Segment.line()


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _arguments(call: ToolCall) -> Any:
    return call.raw_arguments if call.arguments_error else call.arguments


def _cropped(text: str, style: str) -> Text:
    """One line that never wraps: cut with an ellipsis at the console width."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="\n")


def _capped(lines: list[str], limit: int, style: str) -> list[Text]:
    shown = [_cropped(INDENT + line, style) for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(_cropped(f"{INDENT}… {plural(len(lines) - limit, 'more line')}", "dim"))
    return shown


def _wrapped(console: Console, text: str, width: int, limit: int, style: str) -> list[Text]:
    """``text`` wrapped to ``width`` minus the indent, at most ``limit`` screen lines, then an ellipsis line."""
    lines = Text(text, style=style).wrap(console, max(width - len(INDENT), 10), overflow="fold")
    shown = []
    for line in lines[:limit]:
        line.rstrip()
        shown.append(_cropped(INDENT, style) + line)
    if len(lines) > limit:
        shown.append(_cropped(INDENT + "…", "dim"))
    return shown


def tool_header(call: ToolCall, width: int) -> list[Text]:
    """``⚙ name {"compact": "arguments"}`` on one line, or the name and indented JSON below it when too wide."""
    args, name = _arguments(call), visible_line(call.name)
    compact = visible_line(mask_known(args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)))
    head = Text("⚙ ", style="cyan", no_wrap=True, overflow="ellipsis")
    head.append(name, style="bold cyan")
    if len(name) + len(compact) + 3 <= width or isinstance(args, str):
        head.append(" " + compact, style="cyan")
        return [head]
    pretty = visible(mask_known(json.dumps(args, ensure_ascii=False, indent=2))).splitlines()
    return [head, *_capped(pretty, ARGUMENT_LINES, "cyan")]


def tool_result(
    console: Console, call: ToolCall, content: str, is_error: bool, duration_ms: float, output: str = ""
) -> list[Text]:
    """``✓ name · 3 ms · 143 chars`` and the result in at most RESULT_LINES screen lines; errors in red with
    the reason the model was given."""
    style = "red" if is_error else "green"
    head = Text("✗ " if is_error else "✓ ", style=style, no_wrap=True, overflow="ellipsis")
    head.append(visible_line(call.name), style=f"bold {style}")
    size = "error" if is_error else plural(len(content), "char")
    head.append(f" · {duration(duration_ms)} · {size}", style=style)
    shown = visible(content)  # results and output are masked by the loop already
    lines = [head, *_wrapped(console, shown, console.width, RESULT_LINES, "red" if is_error else "dim")]
    if output.strip():
        lines.append(_cropped(INDENT + "output: " + visible_line(" ".join(output.split())), "dim"))
    return lines


def progress_text(progress: float, total: float | None, message: str | None) -> str:
    """A running tool's progress for its spinner row: ``indexing files · 3/10`` (``3/10``, ``indexing · 3``)."""
    count = f"{progress:g}/{total:g}" if total is not None else f"{progress:g}"
    head = one_line(message, 80) if message else ""  # a server's text: no escape codes reach the terminal
    return f"{head} · {count}" if head else count


def tool_declined(console: Console, call: ToolCall, message: str) -> list[Text]:
    """``✗ name · declined`` and the sentence for the user, wrapped (never cut: it ends with the flag to use)."""
    head = Text("✗ ", style="yellow", no_wrap=True, overflow="ellipsis")
    head.append(visible_line(call.name), style="bold yellow")
    head.append(" · declined", style="yellow")
    return [head, *_wrapped(console, visible(message), console.width, 10, "yellow")]


def tool_cancelled(name: str) -> Text:
    """The line that replaces a running call's spinner when the run is interrupted."""
    line = Text("✗ ", style="yellow", no_wrap=True, overflow="ellipsis")
    line.append(name, style="bold yellow")
    line.append(" · cancelled", style="yellow")
    return line


def closing_line(
    turns: int,
    tool_calls: int,
    usage: Usage,
    seconds: float,
    failure: str | None = None,
    label: str = "",
    cost: float | None = None,
) -> Text:
    """``gpt-5.4 via responses · 2 turns · 2 tool calls · 829 in / 82 out tokens · 0.3 s``, led by the failure
    when the run failed; the label keeps the model and protocol in view once the spinner that showed them is gone."""
    line = Text()
    if failure:
        line.append(f"{failure} · ", style="bold red")
    line.append(
        f"{label + ' · ' if label else ''}{plural(turns, 'turn')} · {plural(tool_calls, 'tool call')} · "
        f"{usage.input_tokens:,} in / {usage.output_tokens:,} out tokens · "
        f"{'' if cost is None else f'${cost:.4f} · '}{seconds:.1f} s",
        style="dim",
    )
    return line

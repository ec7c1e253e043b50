"""Cutting a streamed Markdown answer into finished blocks and the one block still growing.

The console renderer prints each finished block once and keeps only the open block in its live region, so the
cost of rendering an answer stays linear in its length instead of re-rendering the whole text on every delta.
This module owns the rule for "finished": a blank line outside a fenced code block, followed by a line that
cannot continue the block before it (not indented, and not the next item of a list). It does not render (no
Rich here) and is deliberately not a CommonMark parser: a wrong guess only moves a cut, and both sides still
render as Markdown.

Each piece of text is looked at once: deltas are split on newlines, complete lines are classified, the
incomplete last line is kept as chunks and joined only when its newline arrives.

``open_tail`` gives a live view what it needs of a long open block (a huge paragraph or code block): its end
only, so that a redraw costs the same however long the block has grown.
"""

from __future__ import annotations

import re

from crazycall.textbuffer import TextBuffer

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:\s|$)")


class BlockSplitter:
    """Feed text deltas; get back the Markdown blocks they finished."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        """Complete lines of the open block, blank lines inside it included."""
        self._partial = TextBuffer()
        """Chunks of the line still arriving (a long line can be thousands of deltas)."""
        self._fence: str | None = None
        """The opening fence (e.g. ```` ``` ````) while inside a fenced code block."""
        self._after_blank = False
        self._has_list = False
        self._length = 0
        """len("\\n".join(self._lines)): where the next line starts in ``open_text()``."""
        self._fence_line: str | None = None
        self._fence_at = 0
        """The line that opened the fence still open, and where it starts in ``open_text()``."""

    def feed(self, text: str) -> list[str]:
        """Take a delta; return the blocks it finished, in order (usually none)."""
        finished: list[str] = []
        pieces = text.split("\n")
        for piece in pieces[:-1]:
            self._partial.append(piece)
            line = self._partial.text()
            self._partial.clear()
            block = self._line(line)
            if block is not None:
                finished.append(block)
        if pieces[-1]:
            self._partial.append(pieces[-1])
        return finished

    def open_text(self) -> str:
        """The block still growing (what a live view shows), possibly empty."""
        lines = [*self._lines, self._partial.text()]
        return "\n".join(lines).strip("\n")

    def open_tail(self, limit: int) -> str:
        """``open_text()``, or for a block longer than ``limit`` characters only its end: from a cut made at a
        multiple of ``limit // 2`` (keeping half to all of ``limit``) and then moved on to the next line start,
        else the next space, unless that leaves less than a quarter. The cut, and with it how the kept lines
        wrap, moves only every ``limit // 2`` characters. Inside a fenced code block the fence's opening line
        is kept in front."""
        text = self.open_text()
        if len(text) <= limit:
            return text
        step = max(limit // 2, 1)
        start = (len(text) - step) // step * step
        for mark in ("\n", " "):
            at = text.find(mark, start)
            if at != -1 and len(text) - at > limit // 4:
                start = at + 1
                break
        tail = text[start:]
        if self._fence_line is not None and start > self._fence_at:
            tail = f"{self._fence_line}\n{tail}"
        return tail

    def close(self) -> str | None:
        """End of the text: the last block (None when there is nothing left), and a fresh state."""
        text = self.open_text()
        self._lines, self._length = [], 0
        self._partial.clear()
        self._fence, self._after_blank, self._has_list = None, False, False
        self._fence_line = None
        return text if text.strip() else None

    def _keep(self, line: str) -> int:
        """Add a line to the open block; returns where it starts in ``open_text()``."""
        at = self._length + (1 if self._lines else 0)
        self._lines.append(line)
        self._length = at + len(line)
        return at

    def _line(self, line: str) -> str | None:
        if self._fence is not None:
            self._keep(line)
            if _closes_fence(line, self._fence):
                self._fence = self._fence_line = None
            return None
        if not line.strip():
            if self._lines:  # blank lines before a block's first line are dropped
                self._keep(line)
                self._after_blank = True
            return None
        finished = self._take() if self._after_blank and self._starts_block(line) else None
        self._after_blank = False
        at = self._keep(line)
        self._has_list = self._has_list or bool(_LIST_ITEM.match(line))
        opening = _FENCE.match(line)
        if opening:
            self._fence, self._fence_line, self._fence_at = opening.group(1), line, at
        return finished

    def _starts_block(self, line: str) -> bool:
        if line[:1] in (" ", "\t"):
            return False  # a list item's continuation or indented code: still the same block
        # a loose list (items separated by blank lines) stays one block so its spacing matches a whole render
        return not (self._has_list and _LIST_ITEM.match(line))

    def _take(self) -> str:
        block = "\n".join(self._lines).strip("\n")
        self._lines, self._length = [], 0
        self._has_list = False
        return block


def _closes_fence(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]} and len(line) - len(line.lstrip(" ")) <= 3

"""Cutting a streamed Markdown answer into finished blocks and the one block still growing.

The console renderer prints each finished block once and keeps only the open block in its live region, so the
cost of rendering an answer stays linear in its length instead of re-rendering the whole text on every delta.
This module owns the rule for "finished": a blank line outside a fenced code block, followed by a line that
cannot continue the block before it (not indented, and not the next item of a list). It does not render (no
Rich here) and is deliberately not a CommonMark parser: a wrong guess only moves a cut, and both sides still
render as Markdown.

Each piece of text is looked at once: deltas are split on newlines, complete lines are classified, the
incomplete last line is kept as chunks and joined only when its newline arrives.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:\s|$)")


class BlockSplitter:
    """Feed text deltas; get back the Markdown blocks they finished."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        """Complete lines of the open block, blank lines inside it included."""
        self._partial: list[str] = []
        """Chunks of the line still arriving."""
        self._fence: str | None = None
        """The opening fence (e.g. ```` ``` ````) while inside a fenced code block."""
        self._after_blank = False
        self._has_list = False

    def feed(self, text: str) -> list[str]:
        """Take a delta; return the blocks it finished, in order (usually none)."""
        finished: list[str] = []
        pieces = text.split("\n")
        for piece in pieces[:-1]:
            self._partial.append(piece)
            line = "".join(self._partial)
            self._partial = []
            block = self._line(line)
            if block is not None:
                finished.append(block)
        if pieces[-1]:
            self._partial.append(pieces[-1])
        return finished

    def open_text(self) -> str:
        """The block still growing (what a live view shows), possibly empty."""
        lines = [*self._lines, "".join(self._partial)]
        return "\n".join(lines).strip("\n")

    def close(self) -> str | None:
        """End of the text: the last block (None when there is nothing left), and a fresh state."""
        text = self.open_text()
        self._lines, self._partial = [], []
        self._fence, self._after_blank, self._has_list = None, False, False
        return text if text.strip() else None

    def _line(self, line: str) -> str | None:
        if self._fence is not None:
            self._lines.append(line)
            if _closes_fence(line, self._fence):
                self._fence = None
            return None
        if not line.strip():
            if self._lines:  # blank lines before a block's first line are dropped
                self._lines.append(line)
                self._after_blank = True
            return None
        finished = self._take() if self._after_blank and self._starts_block(line) else None
        self._after_blank = False
        self._lines.append(line)
        self._has_list = self._has_list or bool(_LIST_ITEM.match(line))
        opening = _FENCE.match(line)
        if opening:
            self._fence = opening.group(1)
        return finished

    def _starts_block(self, line: str) -> bool:
        if line[:1] in (" ", "\t"):
            return False  # a list item's continuation or indented code: still the same block
        # a loose list (items separated by blank lines) stays one block so its spacing matches a whole render
        return not (self._has_list and _LIST_ITEM.match(line))

    def _take(self) -> str:
        block = "\n".join(self._lines).strip("\n")
        self._lines = []
        self._has_list = False
        return block


def _closes_fence(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]} and len(line) - len(line.lstrip(" ")) <= 3

"""A tiny terminal emulator for tests: what a person would see after Rich wrote its escape sequences.

Understands what Rich's Live and Console emit: printable text with auto-wrap, CR, LF (as CR LF, like a tty
with onlcr), cursor up/down/forward/back, column moves, erase in line, cursor show/hide, and it skips colour
(SGR) and OSC sequences (hyperlinks). Anything else is an error, so a renderer that starts emitting new
sequences makes the tests fail instead of passing on a garbled screen. The screen grows downward without
limit (a scrollback), which is what a capture of the whole run needs.
"""

from __future__ import annotations

import re

_CSI = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class Screen:
    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[list[str]] = [[]]
        self.row = 0
        self.col = 0
        self.cursor_visible = True
        self._pending_wrap = False

    def feed(self, data: str) -> Screen:
        i = 0
        while i < len(data):
            ch = data[i]
            if ch == "\x1b":
                i = self._escape(data, i)
                continue
            if ch == "\n":
                self._line_feed()
            elif ch == "\r":
                self.col, self._pending_wrap = 0, False
            elif ch == "\x07":
                pass
            else:
                self._put(ch)
            i += 1
        return self

    def text(self) -> str:
        """The screen's lines, trailing spaces and trailing empty lines removed."""
        rows = ["".join(line).rstrip() for line in self.lines]
        while rows and not rows[-1]:
            rows.pop()
        return "\n".join(rows)

    def _escape(self, data: str, i: int) -> int:
        osc = _OSC.match(data, i)
        if osc:
            return osc.end()
        csi = _CSI.match(data, i)
        if not csi:
            raise AssertionError(f"unexpected escape sequence {data[i : i + 8]!r}")
        params, op = csi.groups()
        n = int(params) if params.isdigit() else 1
        if op == "m":
            pass
        elif op == "A":
            self.row = max(self.row - n, 0)
        elif op == "B":
            self.row += n
            self._ensure_row()
        elif op == "C":
            self.col = min(self.col + n, self.width - 1)
        elif op == "D":
            self.col = max(self.col - n, 0)
        elif op == "G":
            self.col = n - 1
        elif op == "K":
            self._erase_line(int(params or 0))
        elif op in "lh" and params == "?25":
            self.cursor_visible = op == "h"
        else:
            raise AssertionError(f"unexpected escape sequence {csi.group()!r}")
        self._pending_wrap = False
        return csi.end()

    def _erase_line(self, mode: int) -> None:
        line = self.lines[self.row]
        if mode == 2:
            line.clear()
        elif mode == 0:
            del line[self.col :]
        else:
            raise AssertionError(f"unexpected erase mode {mode}")

    def _line_feed(self) -> None:
        self.row += 1
        self.col, self._pending_wrap = 0, False
        self._ensure_row()

    def _ensure_row(self) -> None:
        while len(self.lines) <= self.row:
            self.lines.append([])

    def _put(self, ch: str) -> None:
        if self._pending_wrap:
            self._line_feed()
        line = self.lines[self.row]
        while len(line) < self.col:
            line.append(" ")
        if self.col < len(line):
            line[self.col] = ch
        else:
            line.append(ch)
        self.col += 1
        if self.col >= self.width:
            self.col, self._pending_wrap = self.width - 1, True

"""Making text safe for a terminal: control characters shown, never obeyed.

Everything that came from the network or from a tool (model text, reasoning, provider error messages, tool
names, arguments and results, transcript contents) can hold control sequences: ``ESC]0;title BEL`` retitles
the window, ``ESC[2J`` clears the screen, a bare CR overwrites the line, C1 ``CSI`` (0x9b) is ESC-[ in one
byte. ``visible`` turns each such character into a printable stand-in, so that what reaches a terminal or
plain-text output reads the same as it arrived and cannot move the cursor or change the terminal:

- C0 controls (other than newline and tab) and DEL become their Unicode Control Pictures: ESC -> ``␛``,
  CR -> ``␍``, BEL -> ``␇``, DEL -> ``␡``. CRLF is a line end, not an overwrite: it becomes a newline.
- C1 controls (0x80-0x9f) become their 7-bit form after ``␛``: CSI (0x9b) -> ``␛[``, OSC (0x9d) -> ``␛]``.

JSON output needs none of this (JSON escapes control characters itself). This module decides nothing about
secrets (``crazycall.redact`` does) nor what is printed.

Cost: one ``str.translate`` with a precomputed table, and a ``str.replace`` only when a CR is present, so a
streamed answer pays almost nothing per delta.
"""

from __future__ import annotations

_TABLE: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"}
_TABLE[0x7F] = "\u2421"
_TABLE.update({code: "\u241b" + chr(code - 0x40) for code in range(0x80, 0xA0)})


def visible(text: str) -> str:
    """``text`` with every control character but newline and tab made visible (see the module docstring)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_TABLE)


def visible_line(text: str) -> str:
    """``visible`` for a one-line field (a table cell, a name): newlines and tabs become spaces as well."""
    return visible(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))

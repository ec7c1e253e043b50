"""``TextBuffer``: a text that grows by small pieces, kept in few strings.

A streamed answer arrives as thousands of deltas of a few characters each, and several places keep a turn's
text (the stream assembler, the loop's partial text, the plain renderer, the Markdown splitter's open line).
A list of the deltas would hold one string object per delta, about 50 bytes of overhead for 5 of text, so
memory would grow ten times faster than the answer. Here every ``JOIN_EVERY`` pieces are joined into one
block: the memory held is the text itself, and each character is copied a bounded number of times (linear).
"""

from __future__ import annotations

JOIN_EVERY = 256


class TextBuffer:
    """Append from one thread while another reads ``text()`` (a live view): the reader always sees a prefix
    of what was appended, never a piece twice, because joined blocks replace the state in one assignment."""

    __slots__ = ("_parts", "_pieces")

    def __init__(self) -> None:
        self._pieces: list[str] = []
        """Pieces appended since the last join (the same list as ``_parts[1]``: appending is one call)."""
        self._parts: tuple[list[str], list[str]] = ([], self._pieces)
        """(joined blocks, pieces): a new tuple, with new lists, each time the pieces are joined."""

    def append(self, text: str) -> None:
        pieces = self._pieces
        pieces.append(text)
        if len(pieces) >= JOIN_EVERY:
            self._pieces = []
            self._parts = ([*self._parts[0], "".join(pieces)], self._pieces)

    def text(self) -> str:
        """Everything appended so far, as one string."""
        blocks, pieces = self._parts
        return "".join(blocks) + "".join(pieces)

    def clear(self) -> None:
        self._pieces = []
        self._parts = ([], self._pieces)

    def __bool__(self) -> bool:
        blocks, pieces = self._parts
        return bool(blocks or pieces)

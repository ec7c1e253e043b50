"""Server-sent events: text in, events out, incrementally (sans-IO; the transport feeds it the body's text).

Owns the event-stream grammar of PROTOCOLS.md §0 (the WHATWG rules): lines end in ``\\r\\n``, ``\\r`` or
``\\n``; ``field: value`` lines, a single space after the colon dropped; ``:`` comments; ``data`` lines joined
with ``\\n``; an event dispatched at a blank line, named ``message`` when it has no ``event`` field; an event not
closed by a blank line when the stream ends is never dispatched. The events are exactly the ones httpx-sse would
produce for the same bytes in any chunking (a property test holds it to that), including its one quirk: once an
``id`` was seen, every blank line dispatches an event, as the last event id is never reset.

``read_events`` drives a parser over a response's text as it arrives, with the transport's two hooks.

Why not httpx-sse: it splits the body into lines one at a time and builds each event through several
Python calls; a long answer is tens of thousands of tiny events, and that per-line work was most of the time
spent per delta. Here a network chunk is split into whole events with ``str.split`` and the common
single-line ``data:`` event takes one slice. Deliberately not here: reconnection (``retry``, ``Last-Event-ID``)
and decoding bytes (the transport hands over text).

Bounded: with ``max_event``, an event (so also a line) longer than that many characters raises
``EventTooLarge`` as soon as it has grown past it, before the rest of it is read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping


class ServerEvent:
    """One dispatched event; has what an adapter reads (``protocols.base.SSE``)."""

    __slots__ = ("data", "event", "id")

    def __init__(self, event: str, data: str, id: str = "") -> None:
        self.event = event or "message"
        self.data = data
        self.id = id

    def __repr__(self) -> str:
        return f"ServerEvent(event={self.event!r}, data={self.data!r})"


class EventTooLarge(Exception):
    """One event of the stream is longer than the parser's ``max_event``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"one stream event is longer than the limit of {limit} characters")


class SSEParser:
    """Feed text as it arrives with ``feed``; each call returns the events it completed. ``close`` at the end."""

    def __init__(self, max_event: int | None = None) -> None:
        self._max = max_event
        self._pending: list[str] = []
        """Text after the last blank line, not yet a complete event (kept in pieces: no quadratic joins)."""
        self._pending_len = 0
        self._cr = False
        """The text so far ended in ``\\r``: it may be the first half of ``\\r\\n``."""
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None

    def feed(self, text: str) -> list[ServerEvent]:
        if self._cr:
            text = "\r" + text
            self._cr = False
        if text.endswith("\r"):
            self._cr = True
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text:
            return []
        pending = self._pending
        if "\n\n" not in text and not (pending and text[0] == "\n" and pending[-1].endswith("\n")):
            pending.append(text)  # no blank line yet: nothing can be dispatched
            self._pending_len += len(text)
            self._check(self._pending_len)
            return []
        if pending:
            pending.append(text)
            text = "".join(pending)
            pending.clear()
        blocks = text.split("\n\n")
        rest = blocks.pop()
        self._pending_len = len(rest)
        if self._max is not None:
            self._check(max(map(len, blocks), default=0))
            self._check(self._pending_len)
        if rest:
            pending.append(rest)
        return self._events(blocks)

    def _check(self, length: int) -> None:
        if self._max is not None and length > self._max:
            self._pending.clear()
            raise EventTooLarge(self._max)

    def close(self) -> list[ServerEvent]:
        """The stream ended: a held ``\\r`` ends its line; an event without its blank line is dropped."""
        out: list[ServerEvent] = []
        if self._cr:
            self._cr = False
            out = self.feed("\n")
        rest = "".join(self._pending)
        self._pending.clear()
        self._pending_len = 0
        # What is left holds no blank line but perhaps a first one (a lone id makes that an event: see above).
        if rest.startswith("\n"):
            self._dispatch(out)
        return out

    def _events(self, blocks: list[str]) -> list[ServerEvent]:
        """Each block is the text between two blank lines: its lines, then the blank line that dispatches."""
        out: list[ServerEvent] = []
        for block in blocks:
            # The common case, one ``data:`` line: no line loop at all. (Every block starts with no field
            # pending: the blank line that ended the previous block dispatched or found nothing.)
            if block.startswith("data:") and "\n" not in block:
                out.append(ServerEvent("message", block[6:] if block[5:6] == " " else block[5:], self._id))
                continue
            for line in block.split("\n"):
                self._line(line, out)
            self._dispatch(out)
        return out

    def _line(self, line: str, out: list[ServerEvent]) -> None:
        if not line:
            self._dispatch(out)
            return
        if line[0] == ":":
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            with contextlib.suppress(ValueError):
                self._retry = int(value)

    def _dispatch(self, out: list[ServerEvent]) -> None:
        if not (self._event or self._data or self._id or self._retry is not None):
            return
        out.append(ServerEvent(self._event, "\n".join(self._data), self._id))
        self._event, self._data, self._retry = "", [], None


def read_events(
    chunks: Iterator[str],
    before_read: Callable[[], None] | None = None,
    observer: Callable[[str, Mapping[str, str]], None] | None = None,
    max_event: int | None = None,
) -> Iterator[ServerEvent]:
    """The events of a stream whose text arrives in ``chunks``: ``before_read()`` runs before each chunk is
    asked for (it may block), ``observer("event", {"event", "data"})`` sees each event before it is yielded;
    ``EventTooLarge`` past ``max_event`` characters in one event."""
    parser = SSEParser(max_event)
    while True:
        if before_read is not None:
            before_read()
        text = next(chunks, None)
        events = parser.feed(text) if text is not None else parser.close()
        if observer is None:
            yield from events
        else:
            for sse in events:
                observer("event", {"event": sse.event, "data": sse.data})
                yield sse
        if text is None:
            return

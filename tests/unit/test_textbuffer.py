"""TextBuffer: the same text as joining the pieces, held in memory as the text rather than one object per piece."""

from __future__ import annotations

import tracemalloc

from crazycall.textbuffer import JOIN_EVERY, TextBuffer


def test_it_is_the_pieces_joined() -> None:
    buf = TextBuffer()
    assert not buf and buf.text() == ""
    pieces = [f"{i}," for i in range(3 * JOIN_EVERY + 5)]
    for n, piece in enumerate(pieces, 1):
        buf.append(piece)
        if n in (1, JOIN_EVERY - 1, JOIN_EVERY, JOIN_EVERY + 1, len(pieces)):
            assert buf.text() == "".join(pieces[:n])
    assert buf
    buf.clear()
    assert not buf and buf.text() == ""


def test_twenty_thousand_deltas_hold_about_the_text_not_a_string_object_each() -> None:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        buf = TextBuffer()
        for i in range(20_000):
            buf.append(f"w{i % 10}rd ")  # a new 5-character string each time, as json.loads makes them
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(buf.text()) == 100_000
    # a list of the pieces would hold ~20,000 x (8 + 54) bytes = 1.2 MB; the joined text is 100 kB
    assert held < 200_000, held

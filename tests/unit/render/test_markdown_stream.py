"""BlockSplitter: where a streamed Markdown answer is cut into finished blocks, whatever the chunking."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from crazycall.render.markdown_stream import BlockSplitter

ANSWER = (
    "# Weather\n\n"
    "It is *sunny* in Paris.\n"
    "Second line of the same paragraph.\n\n"
    "1. first\n\n"
    "2. second\n"
    "   continued\n\n"
    "```python\n"
    "x = 1\n\n\n"
    "y = 2\n"
    "```\n\n"
    "    indented code\n\n"
    "    more indented code\n\n"
    "~~~~\n"
    "~~~\n\n"
    "still code\n"
    "~~~~\n"
    "Last paragraph.\n"
)

BLOCKS = [
    "# Weather",
    "It is *sunny* in Paris.\nSecond line of the same paragraph.",
    "1. first\n\n2. second\n   continued",
    # an indented line after a blank line may continue the block before it: never cut there
    "```python\nx = 1\n\n\ny = 2\n```\n\n    indented code\n\n    more indented code",
    "~~~~\n~~~\n\nstill code\n~~~~\nLast paragraph.",
]


def split(chunks: list[str]) -> list[str]:
    splitter = BlockSplitter()
    blocks: list[str] = []
    for chunk in chunks:
        blocks.extend(splitter.feed(chunk))
    last = splitter.close()
    return [*blocks, *([last] if last is not None else [])]


def test_whole_text_gives_each_block_once() -> None:
    assert split([ANSWER]) == BLOCKS


def test_character_by_character_gives_the_same_blocks() -> None:
    assert split(list(ANSWER)) == BLOCKS


@given(st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=30))
def test_any_chunking_gives_the_same_blocks(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [ANSWER[a:b] for a, b in zip([0, *points], [*points, len(ANSWER)], strict=True)]
    assert split(chunks) == BLOCKS


def test_a_block_is_finished_only_when_the_next_one_starts() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("First paragraph.\n\n") == []
    assert splitter.open_text() == "First paragraph."
    assert splitter.feed("Sec") == []  # the next line is not complete yet: it could still be a continuation
    assert splitter.feed("ond.\n") == ["First paragraph."]
    assert splitter.open_text() == "Second."


def test_open_text_shows_the_growing_block_with_its_partial_line() -> None:
    splitter = BlockSplitter()
    splitter.feed("```\ncode line\npart")
    assert splitter.open_text() == "```\ncode line\npart"


def test_a_paragraph_after_a_list_starts_a_new_block() -> None:
    assert split(["- a\n- b\n\nAfter the list.\n"]) == ["- a\n- b", "After the list."]


def test_leading_blank_lines_are_dropped_and_whitespace_alone_is_no_block() -> None:
    assert split(["\n\n\nHello\n"]) == ["Hello"]
    assert split(["  \n\n"]) == []


def test_close_resets_for_the_next_stretch_of_text() -> None:
    splitter = BlockSplitter()
    splitter.feed("```\nunclosed fence\n")
    assert splitter.close() == "```\nunclosed fence"
    assert splitter.feed("a\n\nb\n") == ["a"]  # not inside a fence any more
    assert splitter.close() == "b"
    assert splitter.close() is None


def test_open_tail_is_the_open_text_while_it_is_short() -> None:
    splitter = BlockSplitter()
    splitter.feed("Done.\n\nA short paragraph\nstill growing")
    assert splitter.open_tail(1000) == splitter.open_text() == "A short paragraph\nstill growing"


def test_open_tail_of_a_long_paragraph_keeps_its_end_from_a_cut_that_rarely_moves() -> None:
    splitter = BlockSplitter()
    tails = []
    for i in range(400):
        splitter.feed(f"w{i:03d} ")
        tails.append(splitter.open_tail(400))
    text = splitter.open_text()
    tail = tails[-1]
    assert text.endswith(tail) and 100 < len(tail) <= 400 and text[-len(tail) - 1] == " "
    # how far into the text each tail starts: it changes every 200 characters (40 deltas), not at every delta
    offsets = [5 * (i + 1) - len(t) for i, t in enumerate(tails)]
    assert len(set(offsets)) <= 2000 // 200 + 1
    assert all(a <= b for a, b in itertools.pairwise(offsets))


def test_open_tail_cuts_a_long_block_at_a_line_start_and_keeps_an_open_fence() -> None:
    splitter = BlockSplitter()
    splitter.feed("```python\n" + "".join(f"line_{i} = {i}\n" for i in range(300)))
    tail = splitter.open_tail(500)
    assert tail.startswith("```python\nline_") and splitter.open_text().endswith(tail.split("\n", 1)[1])
    assert 125 < len(tail) <= 500 + len("```python\n")
    splitter.feed("```\nAfter the fence, in the same block, " + "word " * 200)
    tail = splitter.open_tail(500)
    assert not tail.startswith("```") and splitter.open_text().endswith(tail)

"""crazycall.sse: the same events as httpx-sse for the same text, whatever the chunking, and the grammar itself."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crazycall.sse import SSEParser
from tests.helpers import FIXTURES, httpx_sse_events


def parse(text: str, cuts: list[int] | None = None) -> list[tuple[str, str, str]]:
    """Our events for ``text`` fed in pieces cut at the given offsets (whole when None)."""
    parser = SSEParser()
    bounds = [0, *sorted(set(cuts or [])), len(text)]
    out = []
    for a, b in itertools.pairwise(bounds):
        if b > a:
            out.extend(parser.feed(text[a:b]))
    out.extend(parser.close())
    return [(e.event, e.data, e.id) for e in out]


def reference(text: str) -> list[tuple[str, str, str]]:
    return [(e.event, e.data, e.id) for e in httpx_sse_events(text)]


def test_the_grammar() -> None:
    text = (
        ": a comment\n"
        "data: one\n\n"
        "event: named\ndata:two\ndata:  three\n\n"  # no space after the colon; only one space dropped
        "data\n\n"  # a field name alone: empty data
        "event: ignored-without-blank-line\ndata: four"
    )
    assert parse(text) == [
        ("message", "one", ""),
        ("named", "two\n three", ""),
        ("message", "", ""),
    ]


def test_line_endings_and_a_blank_line_split_across_chunks() -> None:
    text = "data: a\r\n\r\ndata: b\r\rdata: c\n\n"
    expected = [("message", "a", ""), ("message", "b", ""), ("message", "c", "")]
    for cut in range(len(text) + 1):
        assert parse(text, [cut]) == expected, cut


def test_a_trailing_cr_at_the_end_of_the_stream_ends_its_line() -> None:
    assert parse("data: x\n\r") == [("message", "x", "")]
    assert parse("data: x\r") == []


def test_an_id_is_kept_and_makes_every_blank_line_an_event() -> None:
    # httpx-sse's behaviour (the last event id is never reset), kept so that the two never differ
    assert parse("id: 7\ndata: a\n\n\n") == [("message", "a", "7"), ("message", "", "7")]
    assert parse("id: 7\ndata: a\n\n\n") == reference("id: 7\ndata: a\n\n\n")


def test_every_fixture_stream_parses_as_httpx_sse_parses_it() -> None:
    for path in sorted(FIXTURES.glob("*/*.sse")):
        text = path.read_text(encoding="utf-8")
        assert parse(text) == reference(text), path.name
        assert parse(text, list(range(0, len(text), 7))) == reference(text), path.name


PIECES = st.sampled_from(
    ["data: x", "data:y", "data", "event: e", "event:", "id: 1", "id: a\0b", "retry: 5", "retry: x", ": c", "z: q", ""]
)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.tuples(PIECES, ENDINGS), max_size=14),
    tail=st.sampled_from(["", "data: t", "\r", "\n"]),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
def test_any_text_in_any_chunking_gives_the_events_httpx_sse_gives(
    lines: list[tuple[str, str]], tail: str, cuts: list[int]
) -> None:
    text = "".join(a + b for a, b in lines) + tail
    assert parse(text, [c for c in cuts if c <= len(text)]) == reference(text)

"""Property tests for base.StreamAssembler: how deltas are cut and interleaved never changes the result.

A wire can split text and argument strings anywhere, even between the two halves of a UTF-16 surrogate pair
(a JSON ``\\ud83d\\ude00`` escape cut in two arrives as two lone surrogates), and can interleave the deltas of
different parts (parallel tool calls). The assembled ModelResponse, and the concatenation of what was shown,
must be the same for every such delivery.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crazycall.conversation import ReasoningPart, TextPart, ToolCall
from crazycall.events import ReasoningDelta, TextDelta, ToolCallArgumentsDelta, ToolCallStarted
from crazycall.protocols.assembler import StreamAssembler

# Text with astral characters (emoji, CJK extension B), BMP text and ASCII JSON-ish punctuation.
CHARS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")) | st.sampled_from(
    ["😀", "𠀋", "é", '"', "\\", "{", "}", "é"]
)
TEXT = st.text(CHARS, max_size=24)


def utf16_units(text: str) -> str:
    """The text as a JSON decoder yields it piecewise: every astral character as two surrogate halves."""
    out = []
    for ch in text:
        code = ord(ch) - 0x10000
        out.append(ch if code < 0 else chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF)))
    return "".join(out)


@dataclass(frozen=True)
class Spec:
    kind: str  # "text" | "reasoning" | "tool"
    content: str
    call_id: str = ""
    name: str = ""


SPEC = st.one_of(
    st.builds(Spec, st.just("text"), TEXT),
    st.builds(Spec, st.just("reasoning"), TEXT),
    st.builds(
        Spec,
        st.just("tool"),
        TEXT | st.dictionaries(st.text(max_size=4), TEXT, max_size=3).map(json.dumps),
        st.text("abc123_", min_size=1, max_size=6),
        st.sampled_from(["get_weather", "get_time", "x"]),
    ),
)


def as_decoded(piece: str) -> str:
    """A piece as json.loads returns it from an escaped wire string: whole pairs joined, lone halves kept."""
    return str(json.loads(json.dumps(piece)))


def cut(units: str, points: list[int]) -> list[str]:
    """``units`` cut at the given positions (any position, between surrogate halves included)."""
    marks = sorted({p % (len(units) + 1) for p in points})
    bounds = [0, *marks, len(units)]
    return [as_decoded(units[a:b]) for a, b in itertools.pairwise(bounds)]


def deliver(specs: list[Spec], pieces: list[list[str]], order: list[int]) -> tuple[Any, list[str]]:
    """Start every part (wire order = first appearance), then feed the pieces interleaved as ``order`` says."""
    asm = StreamAssembler("test")
    for i, spec in enumerate(specs):
        if spec.kind == "tool":
            assert asm.start_tool_call(i, spec.call_id, spec.name) == ToolCallStarted(
                sum(s.kind == "tool" for s in specs[:i]), spec.call_id, spec.name
            )
        else:
            asm.ensure(i, spec.kind)
    queues = [list(p) for p in pieces]
    picks = [k % len(specs) for k in order] if specs else []
    shown = [""] * len(specs)
    for i in picks + [i for i, q in enumerate(queues) for _ in q]:
        if not queues[i]:
            continue
        piece = queues[i].pop(0)
        kind = specs[i].kind
        event: Any
        if kind == "tool":
            event = asm.tool_arguments(i, piece)
            assert event is None or isinstance(event, ToolCallArgumentsDelta)
            shown[i] += event.delta if event else ""
        else:
            event = asm.text(piece, i) if kind == "text" else asm.reasoning(piece, i)
            assert event is None or isinstance(event, TextDelta if kind == "text" else ReasoningDelta)
            shown[i] += event.text if event else ""
    return asm.finish("end_turn"), shown


@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(SPEC, max_size=4),
    points=st.lists(st.lists(st.integers(0, 200), max_size=6), min_size=4, max_size=4),
    order=st.lists(st.integers(0, 3), max_size=30),
)
def test_any_split_and_interleaving_gives_the_same_response(
    specs: list[Spec], points: list[list[int]], order: list[int]
) -> None:
    whole, whole_shown = deliver(specs, [[s.content] if s.content else [] for s in specs], [])
    pieces = [cut(utf16_units(s.content), points[i]) for i, s in enumerate(specs)]
    split, split_shown = deliver(specs, pieces, order)
    assert split == whole
    for i, spec in enumerate(specs):
        # What was shown, concatenated, is the text itself: no surrogate half ever reaches a renderer.
        assert split_shown[i] == whole_shown[i] == spec.content


@settings(max_examples=200, deadline=None)
@given(specs=st.lists(SPEC, min_size=1, max_size=4))
def test_the_response_keeps_every_part_in_first_appearance_order(specs: list[Spec]) -> None:
    response, _ = deliver(specs, [[s.content] if s.content else [] for s in specs], [])
    expected: list[Any] = []
    for spec in specs:
        if spec.kind == "tool":
            expected.append((spec.call_id, spec.name, spec.content))
        elif spec.content:  # an empty text or reasoning part without provider data is dropped
            expected.append(spec.content)
    got: list[Any] = []
    for part in response.message.parts:
        if isinstance(part, ToolCall):
            got.append((part.id, part.name, part.raw_arguments))
        else:
            assert isinstance(part, (TextPart, ReasoningPart))
            got.append(part.text)
    assert got == expected
    tools = [s for s in specs if s.kind == "tool"]
    assert response.stop_reason == ("tool_use" if tools else "end_turn")


def test_consecutive_astral_characters_cut_between_their_halves() -> None:
    """'😀😀' cut at UTF-16 code units (as a JavaScript router may): each delta starts with the low half of one
    emoji and ends with the high half of the next. Nothing shown or kept may become U+FFFD."""
    asm = StreamAssembler("test")
    shown = [asm.text(piece) for piece in ["a\ud83d", "\ude00\ud83d", "\ude00b"]]
    assert "".join(e.text for e in shown if e is not None) == "a😀😀b"
    assert asm.finish("end_turn").message.text == "a😀😀b"

"""Property tests across all four adapters: bytes through the real httpx + httpx-sse parser into parse_stream.

The per-adapter tests feed event objects; these start one step earlier, at the bytes a router sends, so that
line endings, chunk boundaries, comments, truncation and corrupted bytes all pass through the same SSE parser
the transport uses. Whatever arrives, the outcome is neutral events ending in exactly one ResponseCompleted, or
a CrazycallError; never another exception. And chunking never changes the outcome.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crazycall.errors import CrazycallError, ProviderError
from crazycall.events import ResponseCompleted
from crazycall.protocols import get_adapter
from tests.helpers import FIXTURES, sse_events

#: the ids adapters make up when the wire has none (uuid4: different on every run)
_SYNTHETIC = re.compile(r"gemini-call-[0-9a-f]{32}|call_[0-9a-f]{24}(?![0-9a-f])")
PROTOCOLS = ["chat", "responses", "messages", "gemini"]
STREAMS = [(p, path.name) for p in PROTOCOLS for path in sorted((FIXTURES / p).glob("*.sse"))]
BODIES = [(p, path.name) for p in PROTOCOLS for path in sorted((FIXTURES / p).glob("*.json"))]
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def raw(protocol: str, name: str) -> bytes:
    return (FIXTURES / protocol / name).read_bytes()


def outcome(protocol: str, data: bytes, chunk: int | None) -> Any:
    """What the adapter makes of these bytes: a comparable summary of its events, or its error."""
    adapter = get_adapter(protocol)
    try:
        events = list(adapter.parse_stream(sse_events(data, chunk)))
    except CrazycallError as err:
        return ("error", type(err).__name__, str(err))
    assert events, "a stream that ends without error must end with a ResponseCompleted"
    assert isinstance(events[-1], ResponseCompleted)
    assert sum(isinstance(e, ResponseCompleted) for e in events) == 1
    return ("events", _stable(repr(events)))


def _stable(text: str) -> str:
    """Made-up call ids, numbered in order of appearance, so that two parses of the same bytes compare equal."""
    names: dict[str, str] = {}
    return _SYNTHETIC.sub(lambda m: names.setdefault(m.group(), f"<call {len(names)}>"), text)


def test_every_fixture_stream_survives_one_byte_chunks() -> None:
    for protocol, name in STREAMS:
        assert outcome(protocol, raw(protocol, name), 1) == outcome(protocol, raw(protocol, name), None), name


@SETTINGS
@given(which=st.sampled_from(STREAMS), chunk=st.integers(1, 64), crlf=st.booleans(), comments=st.booleans())
def test_line_endings_chunking_and_comments_change_nothing(
    which: tuple[str, str], chunk: int, crlf: bool, comments: bool
) -> None:
    protocol, name = which
    text = raw(protocol, name).decode("utf-8").replace("\r\n", "\n")
    if comments:  # PROTOCOLS.md §0: lines that start with ':' are comments (keep-alives)
        text = text.replace("\n\n", "\n: keep-alive\n\n")
    if crlf:
        text = text.replace("\n", "\r\n")
    assert outcome(protocol, text.encode(), chunk) == outcome(protocol, raw(protocol, name), None)


MUTATION = st.sampled_from(["truncate", "delete", "insert", "duplicate_line", "flip", "drop_blank"])


def mutate(data: bytes, kind: str, at: int, span: int, junk: bytes) -> bytes:
    at %= len(data) + 1
    if kind == "truncate":
        return data[:at]
    if kind == "delete":
        return data[:at] + data[at + span :]
    if kind == "insert":
        return data[:at] + junk + data[at:]
    if kind == "flip" and at < len(data):
        return data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :]
    lines = data.split(b"\n")
    i = at % len(lines)
    if kind == "duplicate_line":
        return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if kind == "drop_blank":  # two events run together
        blanks = [n for n, line in enumerate(lines) if not line.strip()]
        if blanks:
            del lines[blanks[at % len(blanks)]]
        return b"\n".join(lines)
    return data


JUNK = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"data: {\n\n", b"event: error\n", b"data: [DONE]\n\n", b"\xff\xfe", b"retry: 5\n", b"id: 9\n\n"]),
)


@SETTINGS
@given(
    which=st.sampled_from(STREAMS),
    mutations=st.lists(st.tuples(MUTATION, st.integers(0, 10_000), st.integers(1, 40), JUNK), min_size=1, max_size=3),
    chunk=st.integers(1, 32),
)
def test_mutated_byte_streams_yield_events_or_crazycall_errors(
    which: tuple[str, str], mutations: list[tuple[str, int, int, bytes]], chunk: int
) -> None:
    protocol, name = which
    data = raw(protocol, name)
    for kind, at, span, junk in mutations:
        data = mutate(data, kind, at, span, junk)
    # The outcome is well-formed (checked inside) and does not depend on where the network cut the bytes.
    assert outcome(protocol, data, chunk) == outcome(protocol, data, None)


@SETTINGS
@given(protocol=st.sampled_from(PROTOCOLS), data=st.binary(max_size=300), chunk=st.integers(1, 16))
def test_arbitrary_bytes(protocol: str, data: bytes, chunk: int) -> None:
    assert outcome(protocol, data, chunk) == outcome(protocol, data, None)


@SETTINGS
@given(
    protocol=st.sampled_from(PROTOCOLS),
    lines=st.lists(
        st.tuples(
            st.sampled_from(["", "message", "error", "ping", "response.completed", "message_stop", "x.unknown"]),
            st.one_of(st.text(max_size=20), st.just("[DONE]"), st.just("{}"), st.just('{"error": {}}')),
        ),
        max_size=6,
    ),
)
def test_arbitrary_well_framed_events(protocol: str, lines: list[tuple[str, str]]) -> None:
    text = "".join((f"event: {name}\n" if name else "") + f"data: {data}\n\n" for name, data in lines)
    outcome(protocol, text.encode("utf-8", "surrogatepass"), None)


# ---------------------------------------------------------------- bodies and error bodies


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@SETTINGS
@given(which=st.sampled_from(BODIES), data=st.binary(max_size=40), at=st.integers(0, 10_000))
def test_truncated_or_corrupted_bodies_decode_to_a_response_or_a_crazycall_error(
    which: tuple[str, str], data: bytes, at: int
) -> None:
    """The transport's own path: bytes -> json.loads (a ProtocolViolation when not JSON) -> parse_response."""
    protocol, name = which
    body = raw(protocol, name)
    at %= len(body) + 1
    corrupted = body[:at] + data + body[at + len(data) :]
    try:
        value = json.loads(corrupted)
    except ValueError:
        return  # the transport reports this itself (tested in test_transport.py)
    adapter = get_adapter(protocol)
    try:
        response = adapter.parse_response(value)
    except CrazycallError:
        return
    assert response.message.role == "assistant"


@SETTINGS
@given(
    protocol=st.sampled_from(PROTOCOLS),
    status=st.integers(100, 599),
    body=st.one_of(st.binary(max_size=60), JSON.map(lambda v: json.dumps(v).encode())),
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "retry-after-ms", "x-should-retry", "request-id", "x-request-id", "X-Other"]),
        st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=30),
        max_size=4,
    ),
)
def test_parse_error_always_returns_a_one_line_provider_error(
    protocol: str, status: int, body: bytes, headers: dict[str, str]
) -> None:
    err = get_adapter(protocol).parse_error(status, body, headers)
    assert isinstance(err, ProviderError)
    assert err.status == status
    line = str(err)
    assert "\n" not in line and line
    assert err.retry_after is None or err.retry_after >= 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_fixture_folders_are_not_empty(protocol: str) -> None:
    """The properties above are only as good as their seeds."""
    assert [n for p, n in STREAMS if p == protocol] and [n for p, n in BODIES if p == protocol]
    assert Path(FIXTURES / protocol).is_dir()

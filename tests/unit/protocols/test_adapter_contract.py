"""The contract every protocol adapter keeps, as one property harness run over all four.

Whatever a server sends — any JSON body, a fixture with a node replaced or deleted, any sequence of events
shaped from that protocol's own vocabulary, a fixture stream with events mutated, dropped or spliced in — an
adapter either parses it or raises a CrazycallError (ProtocolViolation, ProviderError, TransportError), never
anything else. A stream that parses ends in exactly one ResponseCompleted, and a response that parses can be
sent back: the follow-up request builds, and is standard JSON when what came in was.

The per-protocol input comes from tests/fixtures/<protocol>/ alone (bodies, streams, and the keys, strings and
event names found in them), so a new fixture or a fifth adapter is covered without touching this file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import CrazycallError
from crazycall.events import ResponseCompleted
from crazycall.protocols import PROTOCOLS, get_adapter
from crazycall.protocols.base import ProtocolAdapter, RequestOptions, SSEvent
from tests.helpers import FIXTURES, fixture_json, fixture_text, sse_events

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WEATHER = ToolSpec("get_weather", "", {"type": "object", "properties": {"city": {"type": "string"}}})

JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@functools.cache
def adapter(protocol: str) -> ProtocolAdapter:
    return get_adapter(protocol)


@functools.cache
def bodies(protocol: str) -> tuple[str, ...]:
    """Every JSON fixture of the protocol, error bodies included (an error in a 200 is hostile input too)."""
    return tuple(sorted(p.name for p in (FIXTURES / protocol).glob("*.json")))


@functools.cache
def streams(protocol: str) -> tuple[tuple[SSEvent, ...], ...]:
    found = sorted((FIXTURES / protocol).glob("*.sse"))
    return tuple(
        tuple(SSEvent(e.data, e.event) for e in sse_events(fixture_text(f"{protocol}/{p.name}"))) for p in found
    )


def _walk(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from _walk(child)


@functools.cache
def vocabulary(protocol: str) -> tuple[tuple[str, ...], tuple[Any, ...], tuple[str, ...]]:
    """The object keys, leaf values and SSE event names that occur in the protocol's fixtures."""
    documents = [fixture_json(f"{protocol}/{name}") for name in bodies(protocol)]
    for stream in streams(protocol):
        for event in stream:
            with contextlib.suppress(ValueError):
                documents.append(json.loads(event.data))
    nodes = [node for doc in documents for node in _walk(doc)]
    keys = sorted({key for node in nodes if isinstance(node, dict) for key in node})
    leaves = sorted({json.dumps(n) for n in nodes if not isinstance(n, (dict, list))})
    names = sorted({event.event for stream in streams(protocol) for event in stream} | {"message", ""})
    return tuple(keys), tuple(json.loads(leaf) for leaf in leaves), tuple(names)


# Strategies are built once per protocol (functools.cache): building and validating one per example is slow.


@functools.cache
def anything(protocol: str) -> st.SearchStrategy[Any]:
    """Arbitrary JSON, or JSON built from the protocol's own keys and values (reaches deeper branches)."""
    keys, leaves, _ = vocabulary(protocol)
    shaped = st.recursive(
        st.sampled_from(leaves) | JSON,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(keys), children, max_size=5),
        max_leaves=16,
    )
    return JSON | shaped


@functools.cache
def event(protocol: str) -> st.SearchStrategy[SSEvent]:
    """One SSE event: JSON (arbitrary or shaped), text or [DONE], under one of the protocol's event names."""
    payload = st.one_of(anything(protocol).map(json.dumps), st.text(max_size=12), st.just("[DONE]"))
    return st.builds(SSEvent, data=payload, event=st.sampled_from(vocabulary(protocol)[2]))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += paths(child, (*prefix, index))
    return out


def mutate(value: Any, data: st.DataObject, new: st.SearchStrategy[Any]) -> Any:
    """``value`` with one node (drawn from all of them) replaced by ``new``, or deleted from its object."""
    path = data.draw(st.sampled_from(paths(value)))
    if not path:
        return data.draw(new)
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(new)
    return value


def only_crazycall_errors(run: Callable[[], object]) -> None:
    with contextlib.suppress(CrazycallError):
        run()


def parse_stream(protocol: str, events: list[SSEvent]) -> None:
    out = list(adapter(protocol).parse_stream(events))
    assert isinstance(out[-1], ResponseCompleted), out[-1:]
    assert sum(isinstance(e, ResponseCompleted) for e in out) == 1
    wire_json = not any(word in e.data for e in events for word in ("Infinity", "NaN"))
    follow_up(protocol, out[-1].response, strict=wire_json)


def parse_body(protocol: str, value: Any) -> None:
    follow_up(protocol, adapter(protocol).parse_response(value), strict=finite(value))


def finite(value: Any) -> bool:
    """No inf in ``value``: it could have come from standard JSON (Python's json also reads ``Infinity``)."""
    return all(not isinstance(node, float) or math.isfinite(node) for node in _walk(value))


def follow_up(protocol: str, response: ModelResponse, strict: bool) -> None:
    """Whatever was parsed goes back out: the next request builds, and is standard JSON if the input was."""
    conversation = Conversation.start("Go").append(response.message)
    for stream in (False, True):
        request = adapter(protocol).build_request(conversation, [WEATHER], RequestOptions("m-1", stream=stream))
        json.dumps(request.body, allow_nan=not strict)


# ---------------------------------------------------------------- bodies

parametrize_protocols = pytest.mark.parametrize("protocol", list(PROTOCOLS))


@parametrize_protocols
def test_every_protocol_has_fixture_bodies_and_streams(protocol: str) -> None:
    # the properties below draw from these; an empty list would make them test nothing
    assert bodies(protocol) and streams(protocol) and vocabulary(protocol)[1]
    assert len(vocabulary(protocol)[0]) > 5


@parametrize_protocols
@PROPERTY
@given(data=st.data())
def test_any_json_body_parses_or_raises_a_crazycall_error(protocol: str, data: st.DataObject) -> None:
    value = data.draw(anything(protocol))
    only_crazycall_errors(lambda: parse_body(protocol, value))


@parametrize_protocols
@PROPERTY
@given(data=st.data())
def test_a_mutated_fixture_body_parses_or_raises_a_crazycall_error(protocol: str, data: st.DataObject) -> None:
    value = fixture_json(f"{protocol}/{data.draw(st.sampled_from(bodies(protocol)))}")
    for _ in range(data.draw(st.integers(1, 3))):
        value = mutate(value, data, anything(protocol))
    only_crazycall_errors(lambda: parse_body(protocol, value))


# ---------------------------------------------------------------- streams


@parametrize_protocols
@PROPERTY
@given(data=st.data())
def test_any_event_sequence_parses_or_raises_a_crazycall_error(protocol: str, data: st.DataObject) -> None:
    events = data.draw(st.lists(event(protocol), max_size=10))
    only_crazycall_errors(lambda: parse_stream(protocol, events))


@parametrize_protocols
@PROPERTY
@given(data=st.data())
def test_a_mutated_fixture_stream_parses_or_raises_a_crazycall_error(protocol: str, data: st.DataObject) -> None:
    """Well-formed streams with fields replaced or deleted, events dropped or taken from another stream."""
    pool = streams(protocol)
    events = list(data.draw(st.sampled_from(pool)))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(events) - 1))
        action = data.draw(st.sampled_from(["mutate", "drop", "splice"]))
        if action == "drop" and len(events) > 1:
            del events[i]
        elif action == "splice":
            events.insert(i, data.draw(st.sampled_from(data.draw(st.sampled_from(pool)))))
        else:
            with contextlib.suppress(ValueError):  # [DONE] and garbage lines stay as they are
                value = mutate(json.loads(events[i].data), data, anything(protocol))
                events[i] = SSEvent(json.dumps(value), events[i].event)
    only_crazycall_errors(lambda: parse_stream(protocol, events))

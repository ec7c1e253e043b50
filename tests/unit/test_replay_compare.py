"""The request comparison of ``--replay``: the first difference as a path; only generated ids, masks and the
transcript's cuts are ignored. And how a transcript's records become a recording's exchanges."""

from __future__ import annotations

from typing import Any

import pytest

from crazycall.errors import UsageError
from crazycall.replay.compare import ABSENT, Difference, first_difference, normalized, shown
from crazycall.transcript.recording import recording_from_records


def test_equal_bodies_have_no_difference() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True, "n": 1.5}
    assert first_difference(body, normalized(body)) is None


def test_the_first_difference_is_a_path_with_both_values() -> None:
    recorded = {"messages": [{"content": "a"}, {"content": "x"}, {"role": "tool", "content": '{"t": 21}'}]}
    now = {"messages": [{"content": "a"}, {"content": "y"}, {"role": "tool", "content": '{"t": 22}'}]}
    found = first_difference(recorded, now)
    assert found == Difference("messages[1].content", "x", "y")
    assert found.describe() == 'messages[1].content: recorded "x", now "y"'


def test_a_missing_or_extra_key_or_item_is_a_difference() -> None:
    assert first_difference({"a": 1, "b": 2}, {"a": 1}) == Difference("b", 2, ABSENT)
    assert first_difference({"a": 1}, {"a": 1, "c": 3}) == Difference("c", ABSENT, 3)
    assert first_difference({"t": [1]}, {"t": [1, 2]}) == Difference("t[1]", ABSENT, 2)
    assert Difference("c", ABSENT, 3).describe() == "c: recorded (absent), now 3"


@pytest.mark.parametrize(("recorded", "now"), [(True, 1), (1, "1"), (None, 0), ([], {})])
def test_types_are_compared_strictly(recorded: Any, now: Any) -> None:
    assert first_difference({"v": recorded}, {"v": now}) is not None


def test_an_int_and_the_same_float_are_one_number() -> None:
    assert first_difference({"v": 1}, {"v": 1.0}) is None


def test_ids_crazycall_generates_are_ignored() -> None:
    recorded = {"id": "call_" + "a" * 24, "g": "gemini-call-" + "1" * 32, "args": '{"id": "call_' + "b" * 24 + '"}'}
    now = {"id": "call_" + "c" * 24, "g": "gemini-call-" + "2" * 32, "args": '{"id": "call_' + "d" * 24 + '"}'}
    assert first_difference(recorded, now) is None
    assert first_difference({"id": "call_" + "a" * 24}, {"id": "call_123"}) is not None  # the router's own id


def test_a_string_the_transcript_cut_matches_what_it_was_cut_from() -> None:
    long = "x" * 50 + "tail"
    assert first_difference({"s": "x" * 50 + "...[cut: 4 more characters]"}, {"s": long}) is None
    assert first_difference({"s": "x" * 50 + "...[cut: 9 more characters]"}, {"s": long}) is not None


def test_the_new_body_is_masked_as_the_transcript_masks_it() -> None:
    secret = {"prompt": "see https://api.example/v1?key=abcdefghijklmnopqrstuvwxyz0123456789"}
    masked = normalized(secret)
    assert "abcdefghijklmnop" not in str(masked)
    assert first_difference(masked, normalized(secret)) is None


def test_long_values_are_shown_cut() -> None:
    text = shown("z" * 1000)
    assert len(text) < 220 and text.endswith("(1002 characters)")


def _records(*records: dict[str, Any]) -> list[dict[str, Any]]:
    run = {"type": "run", "model": "gpt-5.4", "protocol": "chat", "stream": True}
    return [run, *records]


def test_records_become_exchanges_and_retried_attempts_are_left_out() -> None:
    request = {"type": "request", "turn": 1, "path": "/v1/chat/completions", "body": {"n": 1}}
    records = _records(
        request,
        {"type": "response", "turn": 1, "status": 503, "body": "busy"},
        {"type": "retry", "turn": 1, "attempt": 1},
        {**request, "attempt": 2},
        {"type": "response", "turn": 1, "status": 200},
        {"type": "event", "turn": 1, "event": "message", "data": "{}"},
        {"type": "event", "turn": 1, "event": "message", "data": "[DONE]"},
        {"type": "tool_result", "id": "c1", "name": "t", "content": "ok"},
    )
    recording = recording_from_records(records, "r.jsonl")
    assert (recording.model, recording.protocol, recording.stream) == ("gpt-5.4", "chat", True)
    assert len(recording.exchanges) == 1
    exchange = recording.exchanges[0]
    assert exchange.status == 200 and exchange.request["attempt"] == 2
    assert exchange.events == [("message", "{}"), ("message", "[DONE]")]
    assert [r["id"] for r in recording.tool_results] == ["c1"]


def test_a_transcript_without_requests_is_not_a_recording() -> None:
    with pytest.raises(UsageError, match=r"r\.jsonl is not a recording: it has no recorded request"):
        recording_from_records(_records(), "r.jsonl")
    with pytest.raises(UsageError, match="it has no run record"):
        recording_from_records([], "r.jsonl")


def test_a_recording_without_a_protocol_is_refused() -> None:
    records: list[dict[str, Any]] = [
        {"type": "run", "model": "m"},
        {"type": "request", "turn": 1, "path": "/v1/x", "body": {}},
    ]
    with pytest.raises(UsageError, match="names no protocol in its run record"):
        recording_from_records(records, "r.jsonl")


def test_a_request_record_cut_whole_still_opens_its_exchange() -> None:
    records = _records(
        {"type": "request", "turn": 1, "path": "/v1/x", "body": {}},
        {"type": "response", "turn": 1, "status": 200, "body": "{}"},
        {"type": "request", "turn": 2, "cut": '{"type": "request", ...'},
        {"type": "response", "turn": 2, "status": 200, "body": "[]"},
    )
    first, second = recording_from_records(records, "r.jsonl").exchanges
    assert first.body == "{}" and second.body == "[]" and "path" not in second.request


def test_replaying_a_request_cut_whole_is_a_usage_error_naming_the_limit() -> None:
    from crazycall.protocols import get_adapter
    from crazycall.protocols.base import HttpRequest
    from crazycall.replay.stand_in import ReplayTransport

    records = _records({"type": "request", "turn": 1, "cut": "..."}, {"type": "response", "status": 200, "body": "{}"})
    transport = ReplayTransport(recording_from_records(records, "r.jsonl"))
    with pytest.raises(UsageError, match=r"request 1 of r\.jsonl was cut whole .*max_transcript_record_bytes"):
        transport.send(get_adapter("chat"), HttpRequest("/v1/chat/completions", {"model": "m"}, False))

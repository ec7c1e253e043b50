"""One case's exchange with a scripted transport, error -> reason mapping, timeouts, the pool, exit codes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest

from crazycall.conversation import STOP_END_TURN, Message, ModelResponse, TextPart, ToolCall
from crazycall.errors import (
    CrazycallError,
    DeadlineExceeded,
    ProtocolViolation,
    ProviderError,
    StreamCut,
    TransportError,
    TransportTimeout,
)
from crazycall.events import StreamEvent
from crazycall.protocols.assembler import replay
from crazycall.protocols.base import HttpRequest, ProtocolAdapter
from crazycall.smoke.cases import SmokeCase, make_case
from crazycall.smoke.probe import CaseFailure
from crazycall.smoke.runner import CaseResult, Exchange, RunConfig, overall_exit_code, run_case, run_cases

CONFIG = RunConfig(base_url="http://127.0.0.1:9", api_key="k")


def answer(*parts: TextPart | ToolCall) -> ModelResponse:
    return ModelResponse(Message("assistant", parts), STOP_END_TURN)


GOOD_CALL = ToolCall("call_1", "get_time", {"timezone": "UTC"}, '{"timezone":"UTC"}')


class Cut:
    """Deliver the response's first events, then fail as a dropped connection would."""

    def __init__(self, response: ModelResponse, error: CrazycallError) -> None:
        self.response = response
        self.error = error


Script = ModelResponse | CrazycallError | Cut


class ScriptedTransport:
    """Stands in for crazycall.transport.Transport: one scripted outcome per request, requests recorded."""

    def __init__(self, *outcomes: Script) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[HttpRequest] = []

    def stream(self, adapter: ProtocolAdapter, request: HttpRequest) -> Iterator[StreamEvent]:
        self.requests.append(request)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, CrazycallError):
            raise outcome
        if isinstance(outcome, Cut):
            yield from list(replay(outcome.response))[:-1]
            raise outcome.error
        yield from replay(outcome)


def exchange(case: SmokeCase, transport: ScriptedTransport, **config: Any) -> Exchange:
    from dataclasses import replace

    return Exchange(case, replace(CONFIG, **config), cast(Any, transport))


def failure_of(case: SmokeCase, *outcomes: Script, **config: Any) -> CaseFailure:
    with pytest.raises(CaseFailure) as info:
        ex = exchange(case, ScriptedTransport(*outcomes), **config)
        try:
            ex.run()
        except CrazycallError as err:
            raise ex.failure(err) from None
    return info.value


CHAT = make_case("gpt-5.4", "chat")
RESPONSES = make_case("gpt-5.4", "responses")
MESSAGES = make_case("claude-sonnet-4-6", "messages")


def test_forced_call_passes_and_the_request_forces_the_probe() -> None:
    transport = ScriptedTransport(answer(GOOD_CALL))
    assert exchange(CHAT, transport).run() == ""
    (request,) = transport.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in request.body["tools"]] == ["get_time"]
    assert request.body["messages"] == [{"role": "user", "content": CHAT.prompt}]


def test_tool_choice_tool_names_the_probe() -> None:
    transport = ScriptedTransport(answer(GOOD_CALL))
    exchange(MESSAGES, transport, tool_choice="tool").run()
    assert transport.requests[0].body["tool_choice"] == {"type": "tool", "name": "get_time"}


def test_round_trip_sends_the_real_result_back_and_requires_text() -> None:
    transport = ScriptedTransport(answer(GOOD_CALL), answer(TextPart("It is 12:00 UTC.")))
    assert exchange(CHAT, transport, round_trip=True).run() == "It is 12:00 UTC."
    first, second = transport.requests
    assert "tool_choice" in first.body and second.body["tool_choice"] == "auto"  # forced on the first turn only
    tool_message = second.body["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    result = json.loads(tool_message["content"])
    assert result["timezone"] == "UTC" and result["time"].endswith("+00:00")


def test_round_trip_with_a_tool_error_still_needs_a_text_answer() -> None:
    bad_zone = ToolCall("call_1", "get_time", {"timezone": "Nowhere/Land"}, '{"timezone":"Nowhere/Land"}')
    transport = ScriptedTransport(answer(bad_zone), answer(TextPart("That zone does not exist.")))
    assert exchange(CHAT, transport, round_trip=True).run() == "That zone does not exist."
    assert "unknown time zone 'Nowhere/Land'" in transport.requests[1].body["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("second", "reason", "code"),
    [
        (answer(GOOD_CALL), "round trip: called get_time again instead of answering in text", 4),
        (answer(), "round trip: no text answer (stop reason end_turn)", 4),
        (
            ProviderError("tool_call_id not found", status=400, endpoint="/v1/chat/completions"),
            "round trip: HTTP 400 from /v1/chat/completions: tool_call_id not found",
            4,
        ),
        (ProtocolViolation("chat: stream data is not JSON: 'x'"), "round trip: protocol violation: chat: stream", 6),
    ],
)
def test_round_trip_failures(second: Script, reason: str, code: int) -> None:
    failure = failure_of(CHAT, answer(GOOD_CALL), second, round_trip=True)
    assert failure.reason.startswith(reason), failure.reason
    assert failure.exit_code == code


def test_round_trip_is_not_attempted_after_a_failed_first_answer() -> None:
    transport = ScriptedTransport(answer(TextPart("noon")))
    with pytest.raises(CaseFailure, match="answered in text, no tool call"):
        exchange(CHAT, transport, round_trip=True).run()
    assert len(transport.requests) == 1


@pytest.mark.parametrize(
    ("case", "outcome", "reason", "code"),
    [
        (
            RESPONSES,
            ProviderError("Invalid URL (POST /v1/responses)", status=404, endpoint="/v1/responses"),
            "HTTP 404 from /v1/responses: Invalid URL (POST /v1/responses)",
            4,
        ),
        (
            MESSAGES,
            ProviderError("Overloaded", protocol="messages", error_type="overloaded_error"),
            "error event in the stream from /v1/messages: Overloaded",
            4,
        ),
        (
            CHAT,
            TransportError("chat /v1/chat/completions: ConnectError: [Errno 111] Connection refused"),
            "transport error: ConnectError: [Errno 111] Connection refused",
            5,
        ),
        (
            CHAT,
            TransportTimeout("chat /v1/chat/completions: ReadTimeout: timed out"),
            "timeout after 60 s",
            5,
        ),
        (CHAT, DeadlineExceeded("request took longer than the 60 s deadline"), "timeout after 60 s", 5),
        (
            CHAT,
            Cut(answer(GOOD_CALL), TransportError("chat /v1/chat/completions: RemoteProtocolError: peer closed")),
            "stream cut: RemoteProtocolError: peer closed",
            5,
        ),
        (
            CHAT,
            StreamCut("chat /v1/chat/completions: stream ended before data: [DONE] and before any finish_reason"),
            "stream cut: stream ended before data: [DONE]",
            5,
        ),
        (
            CHAT,
            ProtocolViolation("chat /v1/chat/completions: expected an event stream, got text/html: '<html>'"),
            "protocol violation: expected an event stream, got text/html",
            6,
        ),
    ],
)
def test_errors_become_one_line_reasons(case: SmokeCase, outcome: Script, reason: str, code: int) -> None:
    failure = failure_of(case, outcome)
    assert failure.reason.startswith(reason), failure.reason
    assert failure.exit_code == code
    assert failure.detail  # the full message is kept for JUnit and --json


def test_a_non_streamed_body_cut_short_is_a_response_cut() -> None:
    error = StreamCut(
        "chat /v1/chat/completions: RemoteProtocolError: peer closed connection without sending "
        "complete message body (received 259 bytes, expected 519)"
    )
    ex = exchange(CHAT, ScriptedTransport(), stream=False)
    assert ex.failure(error).reason.startswith("response cut: RemoteProtocolError: peer closed connection")


def test_a_case_that_hangs_times_out() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (backlog) and never answers
    try:
        config = RunConfig(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}", api_key="k", timeout=0.3)
        result = run_case(CHAT, config)
    finally:
        silent.close()
    assert (result.reason, result.exit_code, result.endpoint) == ("timeout after 0.3 s", 5, "/v1/chat/completions")
    assert not result.passed


def test_refused_connection_is_a_transport_failure() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    result = run_case(CHAT, RunConfig(base_url=f"http://127.0.0.1:{port}", api_key="k", max_retries=0))
    assert result.reason is not None and result.reason.startswith("transport error: ConnectError: ")
    assert result.exit_code == 5


def fake_result(case: SmokeCase, code: int = 0) -> CaseResult:
    return CaseResult(case, "/x", 1.0, None if code == 0 else "boom", code)


def test_run_cases_runs_concurrently_and_keeps_case_order() -> None:
    cases = [make_case(f"m{i}", "chat") for i in range(4)]
    barrier = threading.Barrier(4, timeout=10)  # breaks (and fails the test) unless all four run at once

    def run_one(case: SmokeCase) -> CaseResult:
        barrier.wait()
        return fake_result(case)

    results = run_cases(cases, run_one, concurrency=4)
    assert [r.case.model for r in results] == ["m0", "m1", "m2", "m3"]


def test_run_cases_respects_the_concurrency_limit() -> None:
    cases = [make_case(f"m{i}", "chat") for i in range(6)]
    lock = threading.Lock()
    active, peak = 0, 0
    both_started = threading.Barrier(2, timeout=10)

    def run_one(case: SmokeCase) -> CaseResult:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        if case.model in ("m0", "m1"):
            both_started.wait()  # proves two run together
        with lock:
            active -= 1
        return fake_result(case)

    run_cases(cases, run_one, concurrency=2)
    assert peak == 2


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([0, 0, 0], 0),
        ([0, 4, 0], 4),
        ([4, 5, 4], 5),
        ([5, 6, 4], 6),
        ([6, 1, 4], 1),
        ([2, 4], 4),
        ([2, 3], 3),
    ],
)
def test_overall_exit_code_is_the_most_severe_failure(codes: list[int], expected: int) -> None:
    results = [fake_result(make_case(f"m{i}", "chat"), code) for i, code in enumerate(codes)]
    assert overall_exit_code(results) == expected


def test_tool_result_message_shape_is_neutral() -> None:
    # the round trip appends exactly one tool message holding one result (what every adapter expects)
    transport = ScriptedTransport(answer(GOOD_CALL), answer(TextPart("ok")))
    exchange(MESSAGES, transport, round_trip=True).run()
    last = transport.requests[1].body["messages"][-1]
    assert last["role"] == "user"
    assert [b["type"] for b in last["content"]] == ["tool_result"]
    assert last["content"][0]["tool_use_id"] == "call_1"


def test_round_trip_answers_every_call_of_the_turn() -> None:
    other = ToolCall("call_2", "get_weather", {"city": "Paris"}, '{"city":"Paris"}')
    transport = ScriptedTransport(answer(GOOD_CALL, other), answer(TextPart("done")))
    assert exchange(CHAT, transport, round_trip=True).run() == "done"
    tool_messages = transport.requests[1].body["messages"][-2:]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_1", "call_2"]
    assert json.loads(tool_messages[0]["content"])["timezone"] == "UTC"
    # chat has no error flag on the wire: the adapter marks error results in the text
    assert tool_messages[1]["content"] == "ERROR: not run: call get_time with valid arguments"

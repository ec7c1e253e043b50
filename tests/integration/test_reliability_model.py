"""A misbehaving model through the real CLI and the offline router's fault injection, in all four protocols.

Every case ends one of two ways, never with a traceback: the model gets an error result it can act on (and the
run goes on), or the run stops with the documented exit code and a one-line reason.
"""

from __future__ import annotations

import pytest

from crazycall.offline.faults import CallFault, Fault
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import PROTOCOLS, STREAMS, WEATHER, ask, assert_clean_failure

REQUIRED = "invalid arguments for get_weather: $: 'city' is a required property"


# ---------------------------------------------------------------- broken bodies and streams


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_malformed_json_body_is_exit_6(router: OfflineRouter, protocol: str) -> None:
    router.script(Fault(body='{"id": "x", "choices": [tru'))
    message = assert_clean_failure(ask(router, protocol, WEATHER, stream=False), 6)
    assert message.endswith("""response body is not JSON: '{"id": "x", "choices": [tru'""")
    assert len(router.requests) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_garbage_data_line_in_a_stream_is_exit_6(router: OfflineRouter, protocol: str) -> None:
    router.script("garbage")
    message = assert_clean_failure(ask(router, protocol, WEATHER), 6)
    assert message.startswith(f"{protocol}: ")
    assert "not JSON: 'this is not JSON {'" in message


@pytest.mark.parametrize("fault", ["noise", "unknown_events"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sse_noise_and_unknown_event_types_are_ignored(router: OfflineRouter, protocol: str, fault: str) -> None:
    router.script(fault, fault)
    outcome = ask(router, protocol, WEATHER)
    assert outcome.code == 0, outcome.stderr
    assert outcome.data["tool_calls"][0]["arguments"]["city"] == "Paris"
    assert "Paris" in outcome.data["text"]
    assert router.pending_faults() == 0  # both turns really got the fault


#: what a stream without its last event means per protocol: chat's [DONE] and Anthropic's message_stop come
#: after the stop reason, which is enough to finish; Responses' response.completed and Gemini's finishReason
#: chunk carry the answer itself, so their absence is a stream cut short (exit 5).
NO_TERMINATOR = {"chat": 0, "messages": 0, "responses": 5, "gemini": 5}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_missing_terminator(router: OfflineRouter, protocol: str) -> None:
    router.script("no_terminator")
    outcome = ask(router, protocol, "--max-retries", "0", WEATHER)
    if NO_TERMINATOR[protocol] == 0:
        assert outcome.code == 0, outcome.stderr
        assert outcome.data["turns"] == 2
    else:
        message = assert_clean_failure(outcome, 5)
        assert message.startswith(f"{protocol}: stream ended before")


@pytest.mark.parametrize("protocol", ["chat", "responses", "messages"])
def test_stream_cut_in_the_middle_of_a_tool_calls_arguments(router: OfflineRouter, protocol: str) -> None:
    router.script("cut")
    outcome = ask(router, protocol, WEATHER)
    message = assert_clean_failure(outcome, 5)
    path = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "messages": "/v1/messages"}[protocol]
    assert message == (
        f"{protocol} {path}: RemoteProtocolError: peer closed connection without sending complete message body "
        "(incomplete chunked read)"
    )
    assert outcome.data.get("tool_calls", []) == []  # nothing half-received was run
    assert len(router.requests) == 1  # the call had started arriving: reported, not retried


@pytest.mark.parametrize(("protocol", "stream"), [*((p, False) for p in PROTOCOLS), ("gemini", True)])
def test_a_cut_before_anything_arrived_is_retried(router: OfflineRouter, protocol: str, stream: bool) -> None:
    # Not streaming, the cut truncates the body; Gemini's cut drops its only (whole-call) chunk. Either way the
    # client has nothing yet, so it retries (up to --max-retries) and then reports the cut.
    router.script("cut")
    outcome = ask(router, protocol, WEATHER, stream=stream)
    assert outcome.code == 0, outcome.stderr
    assert len(router.requests) == 3  # cut, retry, second turn
    router.script("cut", "cut")
    message = assert_clean_failure(ask(router, protocol, "--max-retries", "1", WEATHER, stream=stream), 5)
    assert "RemoteProtocolError: peer closed connection without sending complete message body" in message


# ---------------------------------------------------------------- bad tool calls


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("args_empty", REQUIRED),
        ("args_null", REQUIRED),
        ("args_invalid", "invalid arguments for get_weather: $.city: 5 is not of type 'string'"),
        ("unknown_name", "unknown tool 'no_such_tool'; available tools: get_weather, search_products, get_time"),
    ],
)
def test_bad_calls_become_error_results_and_the_run_goes_on(
    router: OfflineRouter, protocol: str, stream: bool, fault: str, expected: str
) -> None:
    router.script(fault)
    outcome = ask(router, protocol, WEATHER, stream=stream)
    assert outcome.code == 0, outcome.stderr
    first = outcome.data["tool_calls"][0]
    assert first["is_error"] is True
    assert first["result"] == expected
    assert expected in router.requests[1].body.__repr__()  # the model was told, in its own wire shape


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_arguments_that_are_not_json(router: OfflineRouter, protocol: str) -> None:
    router.script("args_not_json")
    outcome = ask(router, protocol, WEATHER)
    assert outcome.code == 0, outcome.stderr
    first = outcome.data["tool_calls"][0]
    assert first["is_error"] is True
    assert (
        first["arguments"] == '{"city": "Par' if protocol != "gemini" else first["arguments"] == '"{\\"city\\": \\"Par"'
    )
    if protocol == "gemini":  # args must be an object on this wire: the string itself is what arrived
        assert first["result"].startswith("invalid arguments for get_weather: arguments must be a JSON object, got str")
    else:
        assert first["result"].startswith("invalid arguments for get_weather: arguments are not valid JSON (")


@pytest.mark.parametrize("protocol", ["chat", "messages"])
def test_empty_name_is_an_error_result_then_the_model_recovers(router: OfflineRouter, protocol: str) -> None:
    router.script("empty_name")
    outcome = ask(router, protocol, WEATHER)
    assert outcome.code == 0, outcome.stderr
    calls = outcome.data["tool_calls"]
    assert calls[0]["name"] == "" and calls[0]["is_error"] is True
    assert calls[0]["result"] == "the tool call has no name; call one of: get_weather, search_products, get_time"
    assert calls[1]["name"] == "get_weather" and calls[1]["is_error"] is False  # the model acted on the error


@pytest.mark.parametrize("protocol", ["responses", "gemini"])
def test_empty_name_where_the_adapter_refuses_it(router: OfflineRouter, protocol: str) -> None:
    router.script("empty_name")
    message = assert_clean_failure(ask(router, protocol, WEATHER), 6)
    assert message in (
        "responses: function_call item at output[1] lacks call_id or name",
        "gemini: functionCall.name is missing",
    )


@pytest.mark.parametrize("protocol", ["chat", "gemini"])
def test_call_without_an_id_gets_one_made_up(router: OfflineRouter, protocol: str) -> None:
    router.script("no_call_id")
    outcome = ask(router, protocol, WEATHER)
    assert outcome.code == 0, outcome.stderr
    call = outcome.data["tool_calls"][0]
    assert call["id"] and call["is_error"] is False


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        ("responses", "responses: function_call item at output[1] lacks call_id or name"),
        ("messages", "messages: expected a string at content_block_start.content_block.id, got null"),
    ],
)
def test_call_without_an_id_cannot_be_answered(router: OfflineRouter, protocol: str, expected: str) -> None:
    router.script("no_call_id")  # a result must name its call's id on these wires (§2.3, §3.3): nothing to send
    assert assert_clean_failure(ask(router, protocol, WEATHER), 6) == expected


def test_call_fault_fields_combine(router: OfflineRouter) -> None:
    router.script(Fault(calls=CallFault(name="get_time", arguments='{"timezone": "Mars/Olympus"}')))
    outcome = ask(router, "messages", WEATHER, stream=False)
    assert outcome.code == 0, outcome.stderr
    first = outcome.data["tool_calls"][0]
    assert (first["name"], first["arguments"]) == ("get_time", {"timezone": "Mars/Olympus"})
    assert first["is_error"] is True and "unknown time zone 'Mars/Olympus'" in first["result"]


# ---------------------------------------------------------------- a model that repeats itself


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_same_call_three_rounds_in_a_row_stops_the_run(router: OfflineRouter, protocol: str, stream: bool) -> None:
    router.script(Fault(), *["repeat"] * 5)
    outcome = ask(router, protocol, WEATHER, stream=stream)
    message = assert_clean_failure(outcome, 7)
    assert message == (
        "stopped after 3 turns: the model asked for the same tool call(s) with identical arguments 3 rounds in a "
        'row: get_weather({"city":"Paris","unit":"celsius"})'
    )
    data = outcome.data
    assert data["error"]["type"] == "repeated_tool_calls"
    assert data["turns"] == 3
    assert [c["name"] for c in data["tool_calls"]] == ["get_weather", "get_weather"]  # what ran is reported
    assert len(router.requests) == 3  # stopped instead of burning turns up to --max-turns (10)


def test_a_repeat_with_different_arguments_is_not_a_repeat(router: OfflineRouter) -> None:
    rome = Fault(repeat=True, calls=CallFault(arguments='{"city": "Rome"}'))
    router.script(Fault(), "repeat", rome, "repeat")  # Paris, Paris, Rome, Paris: never three alike
    outcome = ask(router, "chat", "--max-turns", "4", WEATHER)
    message = assert_clean_failure(outcome, 7)
    assert message == "stopped after 4 turns (--max-turns) with 1 tool call(s) still pending"
    assert outcome.data["error"]["type"] == "max_turns"
    assert [c["arguments"]["city"] for c in outcome.data["tool_calls"]] == ["Paris", "Paris", "Rome"]

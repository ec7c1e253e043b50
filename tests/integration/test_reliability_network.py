"""A flaky router through the real CLI: retries, exhausted retries, --max-retries, --timeout, keep-alive."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import (
    CHAINED,
    FAST_503,
    KEY,
    PROTOCOLS,
    STREAMS,
    WEATHER,
    ask,
    assert_clean_failure,
    invoke,
)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_two_503s_then_the_run_succeeds(router: OfflineRouter, protocol: str, stream: bool) -> None:
    router.script(FAST_503, FAST_503)
    outcome = ask(router, protocol, WEATHER, stream=stream)
    assert outcome.code == 0, outcome.stderr
    assert outcome.data["turns"] == 2
    assert outcome.data["tool_calls"][0]["name"] == "get_weather"
    assert len(router.requests) == 4  # 2 failed + 2 turns
    assert router.connections == 1  # a 503 does not cost the connection


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_retries_exhausted_end_with_exit_4_and_one_exact_line(router: OfflineRouter, protocol: str) -> None:
    router.script(*[FAST_503] * 3)
    outcome = ask(router, protocol, WEATHER)
    message = assert_clean_failure(outcome, 4)
    expected_type = {"chat": "server_error", "responses": "server_error", "messages": "api_error"}
    path = {
        "chat": "/v1/chat/completions",
        "responses": "/v1/responses",
        "messages": "/v1/messages",
        "gemini": "/v1beta/models/gemini-3-pro:streamGenerateContent",
    }[protocol]
    assert message.startswith(f"{protocol} {path}: HTTP 503 {expected_type.get(protocol, 'UNAVAILABLE')}: ")
    assert message.endswith("(request id req_3)")  # the last attempt's id: three requests, two retries
    assert len(router.requests) == 3
    assert outcome.data["error"]["type"] == "server_error"


def test_max_retries_flag(router: OfflineRouter) -> None:
    router.script(FAST_503, FAST_503)
    outcome = ask(router, "chat", "--max-retries", "1", WEATHER)
    assert_clean_failure(outcome, 4)
    assert len(router.requests) == 2


def test_max_retries_from_the_config_file(router: OfflineRouter, clean_env: Path) -> None:
    config = clean_env / "config" / "crazycall" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("max_retries: 0\n", encoding="utf-8")
    router.script(FAST_503)
    assert_clean_failure(ask(router, "messages", WEATHER), 4)
    assert len(router.requests) == 1


def test_401_is_not_retried(router: OfflineRouter) -> None:
    outcome = ask(router, "messages", WEATHER, key="sk-wrong-key-000000")
    message = assert_clean_failure(outcome, 4)
    assert message == "messages /v1/messages: HTTP 401 authentication_error: invalid x-api-key (request id req_1)"
    assert len(router.requests) == 1
    assert outcome.data["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_multi_turn_run_uses_one_connection(router: OfflineRouter, protocol: str, stream: bool) -> None:
    outcome = ask(router, protocol, CHAINED, stream=stream)
    assert outcome.code == 0, outcome.stderr
    assert outcome.data["turns"] == 3
    assert len(router.requests) == 3
    assert router.connections == 1


def test_timeout_flag_is_a_whole_request_deadline(router: OfflineRouter) -> None:
    router.script(Fault(event_delay=0.25))  # a stream that trickles: ~16 events, ~4 s in all
    started = time.monotonic()
    outcome = ask(router, "messages", "--timeout", "0.6", WEATHER)
    elapsed = time.monotonic() - started
    message = assert_clean_failure(outcome, 5)
    assert message == "messages /v1/messages: no complete answer within the 0.6 s deadline (--timeout)"
    assert elapsed < 3.0
    assert outcome.data["error"]["type"] == "transport_error"


def test_timeout_from_the_config_file(router: OfflineRouter, clean_env: Path) -> None:
    config = clean_env / "config" / "crazycall" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("timeout: 0.5\n", encoding="utf-8")
    router.script(Fault(delay=2.5))
    started = time.monotonic()
    message = assert_clean_failure(ask(router, "chat", WEATHER, stream=False), 5)
    assert time.monotonic() - started < 2.3
    assert message.endswith("no complete answer within the 0.5 s deadline (--timeout)")


@pytest.mark.parametrize("protocol", ["chat", "responses", "messages"])
def test_a_stream_cut_after_text_keeps_the_partial_answer(router: OfflineRouter, protocol: str) -> None:
    router.script("cut")  # "Calling get_weather and get_time." arrives, then the stream dies mid-arguments
    outcome = ask(router, protocol, "What are the weather in Paris and the time in Europe/Paris?")
    message = assert_clean_failure(outcome, 5)
    assert "RemoteProtocolError" in message
    assert outcome.data["text"] == "Calling get_weather and get_time."
    assert outcome.data["turns"] == 1
    assert len(router.requests) == 1  # events were delivered: not retried


def test_connection_refused_is_exit_5() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = invoke(
        "ask", "--base-url", f"http://127.0.0.1:{port}", "--api-key", KEY, "--json", "--max-retries", "0", WEATHER
    )
    message = assert_clean_failure(outcome, 5)
    assert message.startswith("chat /v1/chat/completions: ConnectError: ")

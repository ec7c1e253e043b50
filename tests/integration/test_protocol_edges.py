"""Stop reasons that change the turn, through the real CLI against a scripted router on 127.0.0.1.

Gemini ``MALFORMED_FUNCTION_CALL`` (and kin) is a failed turn: asked again once, then exit 6 with the reason and
``finishMessage``. Anthropic ``pause_turn`` is an unfinished turn: its content goes back as it is, with no new user
message, and the model continues (a turn of its own). ``refusal`` is ``content_filter``. Each in stream and not.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from crazycall.errors import EXIT_MAX_TURNS, EXIT_OK, EXIT_PROTOCOL
from tests.integration.conftest import KEY, REPO, Outcome, assert_clean_failure, invoke

STREAMS = [True, False]


class Scripted:
    """A router that answers each request with the next scripted reply (the last one repeats), recording bodies."""

    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                scripted.requests.append(body)
                reply = scripted.replies[min(len(scripted.requests), len(scripted.replies)) - 1]
                stream = "streamGenerateContent" in self.path or body.get("stream") is True
                data = (_anthropic_sse(reply) if "stop_reason" in reply else _gemini_sse(reply)) if stream else reply
                raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
                self.send_response(200)
                self.send_header("content-type", "text/event-stream" if stream else "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Scripted:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _gemini_sse(reply: dict[str, Any]) -> str:
    return f"data: {json.dumps(reply)}\r\n\r\n"  # one chunk; the stream ends when the connection closes (§4.4)


def _anthropic_sse(reply: dict[str, Any]) -> str:
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"message": {**reply, "content": [], "stop_reason": None}}),
    ]
    for index, block in enumerate(reply["content"]):
        events.append(("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}))
        delta = {"type": "text_delta", "text": block["text"]}
        events.append(("content_block_delta", {"index": index, "delta": delta}))
        events.append(("content_block_stop", {"index": index}))
    events.append(("message_delta", {"delta": {"stop_reason": reply["stop_reason"]}, "usage": {"output_tokens": 3}}))
    events.append(("message_stop", {}))
    return "".join(f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n" for name, data in events)


def gemini(finish: str, text: str = "", message: str = "") -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]} if text else {}}
    candidate.update(finishReason=finish, index=0)
    if message:
        candidate["finishMessage"] = message
    return {"candidates": [candidate], "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2}}


def anthropic(stop: str, text: str) -> dict[str, Any]:
    usage = {"input_tokens": 9, "output_tokens": 3}
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "usage": usage} | {
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop,
    }


def ask(router: Scripted, model: str, stream: bool, *args: str) -> Outcome:
    flag = "--stream" if stream else "--no-stream"
    base = ["ask", "--base-url", router.url, "--api-key", KEY, "--max-retries", "0", "--json", "-m", model, flag]
    return invoke(*base, *args, "What is the weather in Paris?")


MALFORMED = "Malformed function call: print(default_api.get_weather(city='Paris'"


@pytest.mark.parametrize("stream", STREAMS)
def test_gemini_malformed_call_is_retried_once_then_succeeds(stream: bool) -> None:
    with Scripted([gemini("MALFORMED_FUNCTION_CALL", message=MALFORMED), gemini("STOP", "All good.")]) as router:
        outcome = ask(router, "gemini-3-pro", stream)
    assert outcome.code == EXIT_OK, outcome.stderr
    assert outcome.data["text"] == "All good."
    assert outcome.data["turns"] == 1
    assert outcome.data["usage"]["input_tokens"] == 14  # the failed attempt's tokens count too
    assert len(router.requests) == 2
    # the retry sends the very same conversation: the failed (empty) model turn is not kept
    assert router.requests[1]["contents"] == router.requests[0]["contents"]


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"])
def test_gemini_malformed_call_twice_is_exit_6_naming_the_reason(stream: bool, reason: str) -> None:
    with Scripted([gemini(reason, message=MALFORMED)]) as router:
        outcome = ask(router, "gemini-3-pro", stream)
    line = assert_clean_failure(outcome, EXIT_PROTOCOL)
    assert reason in line and MALFORMED in line, line
    assert outcome.data["error"]["type"] == "malformed_tool_call"
    assert len(router.requests) == 2


@pytest.mark.parametrize("stream", STREAMS)
def test_anthropic_pause_turn_is_sent_back_to_continue(stream: bool) -> None:
    replies = [anthropic("pause_turn", "Searching the web. "), anthropic("end_turn", "It is sunny.")]
    with Scripted(replies) as router:
        outcome = ask(router, "claude-sonnet-4-6", stream)
    assert outcome.code == EXIT_OK, outcome.stderr
    assert outcome.data["text"] == "Searching the web. It is sunny."
    assert outcome.data["turns"] == 2
    assert outcome.data["stop_reason"] == "end_turn"
    assert len(router.requests) == 2
    first, second = (request["messages"] for request in router.requests)
    # §3.3: the paused content goes back unchanged, with no new user message after it
    assert second == [*first, {"role": "assistant", "content": [{"type": "text", "text": "Searching the web. "}]}]


@pytest.mark.parametrize("stream", STREAMS)
def test_anthropic_pause_turn_counts_against_max_turns(stream: bool) -> None:
    with Scripted([anthropic("pause_turn", "Still searching. ")]) as router:
        outcome = ask(router, "claude-sonnet-4-6", stream, "--max-turns", "2")
    line = assert_clean_failure(outcome, EXIT_MAX_TURNS)
    assert "paused" in line and "2 turns" in line, line
    assert len(router.requests) == 2


@pytest.mark.parametrize("stream", STREAMS)
def test_anthropic_refusal_is_content_filter(stream: bool) -> None:
    with Scripted([anthropic("refusal", "I can't help with that.")]) as router:
        outcome = ask(router, "claude-sonnet-4-6", stream)
    assert outcome.code == EXIT_OK, outcome.stderr
    assert outcome.data["stop_reason"] == "content_filter"
    assert len(router.requests) == 1


OFFLINE_MODELS = {
    "chat": ("gpt-4o", "auto"),
    "responses": ("gpt-5.4", "responses"),
    "messages": ("claude-sonnet-4-6", "auto"),
    "gemini": ("gemini-3-pro", "auto"),
}
THINK = "Think it over: what is the weather in Paris?"


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("protocol", list(OFFLINE_MODELS))
@pytest.mark.parametrize("shown", [True, False])
def test_offline_reasoning_round_trip(protocol: str, stream: bool, shown: bool) -> None:
    """The offline router reasons when asked; the follow-up carrying it back passes the router's checks."""
    model, flag = OFFLINE_MODELS[protocol]
    args = ["ask", "--offline", "-m", model, "-p", flag, "--stream" if stream else "--no-stream", "-o", "plain"]
    args += ["-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]
    outcome = invoke(*args, *([] if shown else ["--no-reasoning"]), THINK)
    assert outcome.code == EXIT_OK, outcome.stderr
    assert outcome.stdout.startswith("get_weather returned {"), outcome.stdout
    assert "done: 2 turns, 1 tool call" in outcome.stderr
    reasoning = [line for line in outcome.stderr.splitlines() if line.startswith("reasoning: ")]
    if shown:
        assert reasoning == [
            "reasoning: The user asks me to think it over. I will call get_weather first.",
            "reasoning: The user asks me to think it over. The tool results are in: I can answer now.",
        ]
    else:
        assert reasoning == []
        assert "think it over" not in outcome.stdout + outcome.stderr

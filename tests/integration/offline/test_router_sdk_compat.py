"""The offline router accepts what today's official SDKs send, and behaves like the providers where it matters.

Anthropic SDK 2.x authenticates with ``Authorization: Bearer`` and a newer ``anthropic-version`` (PROTOCOLS.md
§8); Responses returns ``encrypted_content`` only when ``include`` asks for it; many clients at once do not wait
for a listen backlog of 5; ``offline-router -v`` logs one line per request and Ctrl-C ends it cleanly even when
it was started with SIGINT ignored.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest

from crazycall.offline.server import OfflineRouter, _Server

from .support import (
    BEARER,
    CHAT,
    MESSAGES,
    RESPONSES,
    chat_tools,
    datas,
    events,
    gemini_path,
    messages_tools,
    post,
    responses_tools,
)
from .test_cli import LISTENING, _first_line

SDK2 = {"Authorization": "Bearer sdk-key", "anthropic-version": "2026-10-21"}


def _message(prompt: str = "hi") -> dict[str, Any]:
    return {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]}


def test_anthropic_sdk2_bearer_auth_and_new_version_are_accepted(client: httpx.Client) -> None:
    reply = post(client, MESSAGES, _message(), SDK2)
    assert reply.status_code == 200, reply.text
    assert reply.json()["content"][0]["text"] == 'Offline router: you said "hi"'


def test_anthropic_bearer_key_is_still_checked() -> None:
    with OfflineRouter(api_key="sdk-key") as router, httpx.Client(base_url=router.url) as client:
        assert post(client, MESSAGES, _message(), SDK2).status_code == 200
        wrong = post(client, MESSAGES, _message(), {**SDK2, "Authorization": "Bearer other"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def _responses(include: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-5.4", "input": [{"role": "user", "content": "weather in Paris?"}]}
    body.update(tools=responses_tools("get_weather"), store=False)
    if include is not None:
        body["include"] = include
    return body


def test_responses_encrypted_reasoning_only_when_included(client: httpx.Client) -> None:
    asked = post(client, RESPONSES, _responses(["reasoning.encrypted_content"]), BEARER).json()
    assert "encrypted_content" in asked["output"][0]
    forgot = post(client, RESPONSES, _responses(None), BEARER).json()
    reasoning = forgot["output"][0]
    assert reasoning["type"] == "reasoning" and "encrypted_content" not in reasoning
    # A client that forgot include with store:false cannot echo the item: the follow-up fails as it would live.
    follow = _responses(None)
    call = forgot["output"][1]
    follow["input"] += [reasoning, call, {"type": "function_call_output", "call_id": call["call_id"], "output": "18"}]
    failed = post(client, RESPONSES, follow, BEARER)
    assert failed.status_code == 404
    assert "Items are not persisted when `store` is set to false" in failed.json()["error"]["message"]


def test_include_must_be_a_list(client: httpx.Client) -> None:
    failed = post(client, RESPONSES, _responses("reasoning.encrypted_content"), BEARER)  # type: ignore[arg-type]
    assert failed.status_code == 400
    assert failed.json()["error"]["param"] == "include"


def test_listen_backlog_takes_many_simultaneous_clients() -> None:
    """64 connections complete their handshake while the server accepts none (backlog 5 would stall them)."""
    server = _Server(("127.0.0.1", 0), OfflineRouter())
    clients: list[socket.socket] = []
    try:
        for _ in range(64):
            sock = socket.socket()
            clients.append(sock)
            sock.settimeout(0.5)
            sock.connect(server.server_address[:2])  # times out once the accept queue is full
    finally:
        for sock in clients:
            sock.close()
        server.server_close()


#: what a shell does to a background job: SIGINT ignored, a disposition exec keeps (no preexec_fn: threads here)
_IGNORING = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"


def _router_process(*args: str, ignore_sigint: bool = False) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "crazycall", "offline-router", "--port", "0", *args]
    if ignore_sigint:
        command = [sys.executable, "-c", _IGNORING, *command]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ctrl_c_stops_the_router_even_with_sigint_inherited_ignored() -> None:
    with _router_process(ignore_sigint=True) as process:
        try:
            assert LISTENING.match(_first_line(process))
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
    assert "Traceback" not in err
    assert err == "crazycall offline router stopped\n"


@pytest.mark.parametrize("verbose", [True, False])
def test_verbose_logs_one_line_per_request_without_keys(verbose: bool) -> None:
    with _router_process(*(["-v"] if verbose else [])) as process:
        try:
            match = LISTENING.match(_first_line(process))
            assert match
            with httpx.Client(base_url=match.group(1)) as client:
                assert post(client, MESSAGES, _message(), SDK2).status_code == 200
                body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
                gemini = post(client, gemini_path(), body, params={"key": "AIzaSECRETSECRET"})
                assert gemini.status_code == 200
                assert post(client, "/nowhere", {}, SDK2).status_code == 404
                call = {**_message("weather"), "tools": messages_tools("get_weather")}
                assert post(client, MESSAGES, call, {"anthropic-version": "1"}).status_code == 401
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
    lines = err.splitlines()
    assert lines[-1] == "crazycall offline router stopped"
    logged = [line.split(" ", 1)[1] for line in lines[:-1]]
    expected = [
        "POST /v1/messages 200 messages",
        "POST /v1beta/models/gemini-2.5-flash:generateContent 200 gemini",
        "POST /nowhere 404 unknown",
        "POST /v1/messages 401 messages",
    ]
    assert logged == (expected if verbose else [])
    assert "SECRET" not in err


THINK = "Think it over: what is the weather in Paris?"


def _anthropic_follow_up(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
    call = next(block for block in reply["content"] if block["type"] == "tool_use")
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": "18 C"}
    messages = [*body["messages"], {"role": "assistant", "content": reply["content"]}]
    return {**body, "messages": [*messages, {"role": "user", "content": [result]}]}


def test_anthropic_thinking_block_must_come_back_unchanged(client: httpx.Client) -> None:
    body = {**_message(THINK), "tools": messages_tools("get_weather")}
    reply = post(client, MESSAGES, body, SDK2).json()
    thinking = reply["content"][0]
    assert thinking["type"] == "thinking" and thinking["signature"]
    assert thinking["thinking"] == "The user asks me to think it over. I will call get_weather first."
    follow = _anthropic_follow_up(body, reply)
    assert post(client, MESSAGES, follow, SDK2).status_code == 200
    edited = _anthropic_follow_up(
        body, {**reply, "content": [{**thinking, "thinking": "edited"}, *reply["content"][1:]]}
    )
    failed = post(client, MESSAGES, edited, SDK2)
    assert failed.status_code == 400
    assert failed.json()["error"]["message"] == "messages.1.content.0: Invalid `signature` in `thinking` block"
    dropped = _anthropic_follow_up(body, {**reply, "content": reply["content"][1:]})
    failed = post(client, MESSAGES, dropped, SDK2)
    assert failed.status_code == 400
    assert "Expected `thinking` or `redacted_thinking`, but found `tool_use`" in failed.json()["error"]["message"]


def test_anthropic_thinking_streams_with_its_signature(client: httpx.Client) -> None:
    body = {**_message(THINK), "stream": True}
    payloads = datas(events(client, MESSAGES, body, SDK2))
    assert payloads[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    deltas = [p["delta"] for p in payloads if p["type"] == "content_block_delta" and p["index"] == 0]
    assert "".join(d.get("thinking", "") for d in deltas).startswith("The user asks me to think it over.")
    assert deltas[-1]["type"] == "signature_delta" and deltas[-1]["signature"]


def test_chat_reasoning_content_must_come_back_on_the_tool_call_turn(client: httpx.Client) -> None:
    body = {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": THINK}]}
    body["tools"] = chat_tools("get_weather")
    message = post(client, CHAT, body, BEARER).json()["choices"][0]["message"]
    assert message["reasoning_content"] == "The user asks me to think it over. I will call get_weather first."
    result = {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": "18 C"}
    echoed = {**body, "messages": [*body["messages"], message, result]}
    assert post(client, CHAT, echoed, BEARER).status_code == 200
    stripped = {k: v for k, v in message.items() if k != "reasoning_content"}
    failed = post(client, CHAT, {**body, "messages": [*body["messages"], stripped, result]}, BEARER)
    assert failed.status_code == 400
    assert failed.json()["error"]["param"] == "messages[1].reasoning_content"


def test_responses_reasoning_summary_whole_and_streamed(client: httpx.Client) -> None:
    body = {"model": "gpt-5.4", "input": THINK, "include": ["reasoning.encrypted_content"], "store": False}
    item = post(client, RESPONSES, body, BEARER).json()["output"][0]
    summary = "The user asks me to think it over. No tool is needed: I can answer directly."
    assert item["type"] == "reasoning" and item["summary"] == [{"type": "summary_text", "text": summary}]
    payloads = datas(events(client, RESPONSES, {**body, "stream": True}, BEARER))
    kinds = [p["type"] for p in payloads if "reasoning_summary" in p["type"]]
    assert kinds[0] == "response.reasoning_summary_part.added" and kinds[-1] == "response.reasoning_summary_part.done"
    text = "".join(p["delta"] for p in payloads if p["type"] == "response.reasoning_summary_text.delta")
    assert text == summary


def test_gemini_thought_part_comes_first(client: httpx.Client) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": THINK}]}]}
    parts = post(client, gemini_path(), body, params={"key": "k"}).json()["candidates"][0]["content"]["parts"]
    assert parts[0] == {
        "text": "The user asks me to think it over. No tool is needed: I can answer directly.",
        "thought": True,
    }
    assert "thought" not in parts[1]


@pytest.mark.parametrize("prompt", ["What is the weather in Paris?", "Rethinking is a word, not the trigger"])
def test_no_reasoning_unless_the_prompt_asks(client: httpx.Client, prompt: str) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    parts = post(client, gemini_path(), body, params={"key": "k"}).json()["candidates"][0]["content"]["parts"]
    assert all("thought" not in part for part in parts)


def test_anthropic_thinking_echo_is_accepted_by_a_later_router(client: httpx.Client) -> None:
    """A resumed conversation meets a fresh router: the signature is checked from the block alone."""
    body = {**_message(THINK), "tools": messages_tools("get_weather")}
    follow = _anthropic_follow_up(body, post(client, MESSAGES, body, SDK2).json())
    with OfflineRouter() as later, httpx.Client(base_url=later.url) as fresh:
        assert post(fresh, MESSAGES, follow, SDK2).status_code == 200
        forged = json.loads(json.dumps(follow))
        forged["messages"][1]["content"][0]["signature"] = "forged"
        assert post(fresh, MESSAGES, forged, SDK2).status_code == 400

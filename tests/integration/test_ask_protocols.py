"""End to end: the real CLI against the offline router on 127.0.0.1, 4 protocols x stream x call patterns.

Each test checks the ``--json`` result and that every follow-up request the router received carried the
previous tool results in that protocol's exact wire shape (PROTOCOLS.md §1.3, §2.3, §3.3, §4.3).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from crazycall.offline.server import OfflineRouter, RecordedRequest
from tests.integration.conftest import KEY, TOOLS, cli, json_out

MODELS = {
    "chat": ("gpt-5.4", "auto"),
    "responses": ("gpt-5.4", "responses"),
    "messages": ("claude-sonnet-4-6", "auto"),
    "gemini": ("gemini-3-pro", "auto"),
}

PROMPTS = {
    "single": ("What is the weather in Beijing?", [["get_weather"]]),
    "parallel": ("What are the weather in Paris and the time in Europe/Paris?", [["get_weather", "get_time"]]),
    "chained": ("Tell me the weather in Paris, then the time in Europe/Paris", [["get_weather"], ["get_time"]]),
}


@pytest.fixture(scope="module")
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as r:
        yield r


def ask_json(router: OfflineRouter, *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = cli("ask", "--base-url", router.url, "--api-key", KEY, *TOOLS, "--json", *args)
    return code, json_out(out, err), err


def _tool_results_chat(req: RecordedRequest) -> list[tuple[str, str]]:
    msgs = req.body["messages"]
    tail = []
    for m in reversed(msgs):
        if m["role"] != "tool":
            break
        tail.append(m)
    tail.reverse()
    assistant = msgs[-len(tail) - 1]
    assert assistant["role"] == "assistant"
    ids = [tc["id"] for tc in assistant["tool_calls"]]
    assert [m["tool_call_id"] for m in tail] == ids  # every call answered, in order (§1.3)
    assert all(set(m) == {"role", "tool_call_id", "content"} for m in tail)
    return [(tc["function"]["name"], m["content"]) for tc, m in zip(assistant["tool_calls"], tail, strict=True)]


def _tool_results_responses(req: RecordedRequest) -> list[tuple[str, str]]:
    items = req.body["input"]
    assert req.body["store"] is False
    tail: list[dict[str, Any]] = []
    for item in reversed(items):
        if item.get("type") != "function_call_output":
            break
        tail.append(item)
    tail.reverse()
    calls = {i["call_id"]: (n, i) for n, i in enumerate(items) if i.get("type") == "function_call"}
    assert [o["call_id"] for o in tail] == list(calls)[-len(tail) :]  # every call answered, in order (§2.3)
    first = calls[tail[0]["call_id"]][0]
    if items[first - 1].get("type") == "reasoning":  # reasoning travels with its calls (§2.3)
        assert items[first - 1]["encrypted_content"]
    return [(calls[o["call_id"]][1]["name"], o["output"]) for o in tail]


def _tool_results_messages(req: RecordedRequest) -> list[tuple[str, str]]:
    msgs = req.body["messages"]
    last, assistant = msgs[-1], msgs[-2]
    assert last["role"] == "user" and assistant["role"] == "assistant"
    uses = [b for b in assistant["content"] if b["type"] == "tool_use"]
    results = [b for b in last["content"] if b["type"] == "tool_result"]
    assert last["content"][: len(results)] == results  # tool_result blocks come first (§3.3)
    assert [r["tool_use_id"] for r in results] == [u["id"] for u in uses]
    return [(u["name"], r["content"]) for u, r in zip(uses, results, strict=True)]


def _tool_results_gemini(req: RecordedRequest) -> list[tuple[str, str]]:
    contents = req.body["contents"]
    last, model_turn = contents[-1], contents[-2]
    assert last["role"] == "user" and model_turn["role"] == "model"
    calls = [p for p in model_turn["parts"] if "functionCall" in p]
    responses = [p["functionResponse"] for p in last["parts"]]
    assert len(responses) == len(calls)  # §4.3: counts match
    assert "thoughtSignature" in calls[0]  # echoed on the part where it arrived
    assert [r["name"] for r in responses] == [c["functionCall"]["name"] for c in calls]
    return [(r["name"], json.dumps(r["response"])) for r in responses]


SHAPES = {
    "chat": _tool_results_chat,
    "responses": _tool_results_responses,
    "messages": _tool_results_messages,
    "gemini": _tool_results_gemini,
}


@pytest.mark.parametrize("pattern", list(PROMPTS))
@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
@pytest.mark.parametrize("protocol", list(MODELS))
def test_tool_round_trip(router: OfflineRouter, protocol: str, stream: str, pattern: str) -> None:
    model, proto_flag = MODELS[protocol]
    prompt, turns = PROMPTS[pattern]
    before = len(router.requests)
    code, data, stderr = ask_json(router, "-m", model, "-p", proto_flag, stream, prompt)
    assert code == 0, stderr
    assert data["protocol"] == protocol
    assert data["model"] == model
    assert data["turns"] == len(turns) + 1
    assert [c["name"] for c in data["tool_calls"]] == [n for turn in turns for n in turn]
    assert all(not c["is_error"] for c in data["tool_calls"]), data["tool_calls"]
    weather = next(c for c in data["tool_calls"] if c["name"] == "get_weather")
    assert weather["arguments"]["city"] in ("Beijing", "Paris")
    assert weather["result"]["city"] == weather["arguments"]["city"]
    assert weather["arguments"]["city"] in data["text"]  # the final answer quotes the tool result
    assert data["stop_reason"] == "end_turn"
    assert data["usage"]["input_tokens"] > 0 and data["usage"]["output_tokens"] > 0
    requests = router.requests[before:]
    assert [r.protocol for r in requests] == [protocol] * (len(turns) + 1)
    assert all(r.stream == (stream == "--stream") for r in requests)
    for turn_index, names in enumerate(turns, start=1):
        answered = SHAPES[protocol](requests[turn_index])
        assert [name for name, _ in answered][-len(names) :] == names
    assert KEY not in json.dumps(data) and KEY not in stderr

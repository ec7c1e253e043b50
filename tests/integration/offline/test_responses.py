"""The offline router's Responses endpoint (PROTOCOLS.md §2), over HTTP with raw httpx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crazycall.offline.wire import encrypted_reasoning

from .support import BEARER, RESPONSES, datas, encode, events, post, responses_tools

ENCRYPTED = ["reasoning.encrypted_content"]


def ask(prompt: str, *names: str, model: str = "gpt-4.1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": [{"role": "user", "content": prompt}], **extra}
    if names:
        body["tools"] = responses_tools(*names)
    return body


def call(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = post(client, RESPONSES, body, BEARER)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def error(client: httpx.Client, body: dict[str, Any], status: int = 400) -> str:
    response = post(client, RESPONSES, body, BEARER)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    return str(response.json()["error"]["message"])


def answer(body: dict[str, Any], reply: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Stateless follow-up (§2.3): every output item echoed as received, then the outputs."""
    calls = [item for item in reply["output"] if item["type"] == "function_call"]
    outputs = [
        {"type": "function_call_output", "call_id": c["call_id"], "output": r}
        for c, r in zip(calls, results, strict=True)
    ]
    return {**body, "input": [*body["input"], *reply["output"], *outputs]}


def test_function_call_response_shape(client: httpx.Client) -> None:
    body = ask("What is the weather in Beijing?", "get_weather", "get_time")
    reply = call(client, body)
    assert reply["id"] == "resp_1" and reply["object"] == "response" and reply["status"] == "completed"
    assert reply["error"] is None and reply["incomplete_details"] is None and reply["model"] == "gpt-4.1"
    assert reply["output"] == [
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Beijing"}',
            "status": "completed",
        }
    ]
    tokens = len(encode(body)) // 4
    assert reply["usage"] == {
        "input_tokens": tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": tokens + 10,
    }


def test_reasoning_model_emits_a_reasoning_item_first(client: httpx.Client) -> None:
    reply = call(client, ask("weather and time", "get_weather", "get_time", model="gpt-5.4", include=ENCRYPTED))
    assert [item["type"] for item in reply["output"]] == ["reasoning", "message", "function_call", "function_call"]
    assert reply["output"][0] == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "encrypted_content": encrypted_reasoning("rs_1"),
    }
    assert reply["output"][1]["content"] == [
        {"type": "output_text", "text": "Calling get_weather and get_time.", "annotations": [], "logprobs": []}
    ]
    assert reply["usage"]["output_tokens_details"]["reasoning_tokens"] == 20


def test_stateless_follow_up_with_reasoning_echo_answers_in_text(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time", model="o4-mini", store=False, include=ENCRYPTED)
    follow = answer(body, call(client, body), ["sunny", "noon"])
    reply = call(client, follow)
    assert [item["type"] for item in reply["output"]] == ["message"]
    assert reply["output"][0]["content"][0]["text"] == "get_weather returned sunny. get_time returned noon."


def test_function_call_without_its_reasoning_item_is_rejected(client: httpx.Client) -> None:
    body = ask("What is the weather in Paris?", "get_weather", model="gpt-5.4", store=False)
    follow = answer(body, call(client, body), ["sunny"])
    follow["input"] = [item for item in follow["input"] if item.get("type") != "reasoning"]
    assert error(client, follow) == (
        "Item 'fc_1' of type 'function_call' was provided without its required 'reasoning' item: 'rs_1'."
    )


def test_reasoning_item_without_encrypted_content_and_store_false_is_404(client: httpx.Client) -> None:
    body = ask("What is the weather in Paris?", "get_weather", model="gpt-5.4", store=False, include=ENCRYPTED)
    follow = answer(body, call(client, body), ["sunny"])
    del follow["input"][1]["encrypted_content"]
    assert error(client, follow, 404) == (
        "Item with id 'rs_1' not found. Items are not persisted when `store` is set to false. "
        "Try again with `store` set to true, or remove this item from your input."
    )


def test_reasoning_item_checks(client: httpx.Client) -> None:
    body = ask("What is the weather in Paris?", "get_weather", model="gpt-5.4", include=ENCRYPTED)
    follow = answer(body, call(client, body), ["sunny"])
    stored = {**follow, "input": [dict(i) for i in follow["input"]]}
    del stored["input"][1]["encrypted_content"]
    assert post(client, RESPONSES, stored, BEARER).status_code == 200  # store true: the server kept it
    tampered = {**follow, "input": [dict(i) for i in follow["input"]]}
    tampered["input"][1]["encrypted_content"] = "gAAAAAforged"
    assert error(client, tampered) == "The encrypted content for item rs_1 could not be verified."
    alone = {**follow, "input": follow["input"][:2]}
    assert error(client, alone) == "Item 'rs_1' of type 'reasoning' was provided without its required following item."


def test_missing_and_unknown_outputs_are_rejected(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time")
    follow = answer(body, call(client, body), ["sunny", "noon"])
    missing = {**follow, "input": follow["input"][:-1]}
    assert error(client, missing) == "No tool output found for function call call_2."
    unknown = {
        **follow,
        "input": [*follow["input"][:-1], {"type": "function_call_output", "call_id": "call_9", "output": "x"}],
    }
    assert error(client, unknown) == "No tool call found for function call output with call_id call_9."


def test_previous_response_id_follow_up(client: httpx.Client) -> None:
    first = call(client, ask("What is the weather in Paris?", "get_weather", model="gpt-5.4"))
    outputs = [{"type": "function_call_output", "call_id": "call_1", "output": "rain"}]
    body = {
        "model": "gpt-5.4",
        "previous_response_id": first["id"],
        "input": outputs,
        "tools": responses_tools("get_weather"),
    }
    reply = call(client, body)
    assert reply["previous_response_id"] == "resp_1"
    assert reply["output"][0]["content"][0]["text"] == "get_weather returned rain."
    body["previous_response_id"] = "resp_404"
    assert error(client, body) == "Previous response with id 'resp_404' not found."


def test_stream_event_sequence_for_one_call(client: httpx.Client) -> None:
    stream = events(client, RESPONSES, ask("What is the weather in Beijing?", "get_weather", stream=True), BEARER)
    payloads = datas(stream)
    assert [e.event for e in stream] == [p["type"] for p in payloads]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    names = [p["type"] for p in payloads]
    deltas = names.count("response.function_call_arguments.delta")
    assert deltas >= 2
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * deltas,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert payloads[0]["response"]["status"] == "in_progress" and payloads[0]["response"]["output"] == []
    added = payloads[2]
    assert added["item"] == {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": "",
        "status": "in_progress",
    }
    fragments = [p["delta"] for p in payloads if p["type"].endswith(".delta")]
    assert all(
        set(p) == {"type", "sequence_number", "item_id", "output_index", "delta"} for p in payloads[3 : 3 + deltas]
    )
    assert "".join(fragments) == '{"city":"Beijing"}'
    done = payloads[3 + deltas]
    assert (done["name"], done["arguments"], done["item_id"]) == ("get_weather", '{"city":"Beijing"}', "fc_1")
    completed = payloads[-1]["response"]
    assert completed["status"] == "completed"
    assert completed["output"] == [payloads[-2]["item"]]
    assert completed["output"][0]["status"] == "completed"


def test_stream_reasoning_and_text_events(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time", model="gpt-5.4", stream=True, include=ENCRYPTED)
    payloads = datas(events(client, RESPONSES, body, BEARER))
    items = [(p["type"], p["output_index"]) for p in payloads if p["type"].startswith("response.output_item")]
    assert items == [
        ("response.output_item.added", 0),
        ("response.output_item.done", 0),
        ("response.output_item.added", 1),
        ("response.output_item.done", 1),
        ("response.output_item.added", 2),
        ("response.output_item.done", 2),
        ("response.output_item.added", 3),
        ("response.output_item.done", 3),
    ]
    reasoning_added, reasoning_done = (p["item"] for p in payloads if p.get("output_index") == 0 and "item" in p)
    assert "encrypted_content" not in reasoning_added  # §2.3: take reasoning items from .done
    assert reasoning_done["encrypted_content"] == encrypted_reasoning("rs_1")
    text = [p for p in payloads if p.get("output_index") == 1 and "item" not in p]
    kinds = [p["type"] for p in text]
    assert kinds[0] == "response.content_part.added" and kinds[-2:] == [
        "response.output_text.done",
        "response.content_part.done",
    ]
    assert (
        "".join(p["delta"] for p in text if p["type"] == "response.output_text.delta")
        == "Calling get_weather and get_time."
    )
    assert payloads[-1]["response"]["output"][0] == reasoning_done


@pytest.mark.parametrize(
    ("change", "message", "status"),
    [
        (
            {"model": "claude-sonnet-4-5"},
            "The model `claude-sonnet-4-5` does not exist or you do not have access to it.",
            404,
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "get_weather"}}]},
            "Missing required parameter: 'tools[0].name'.",
            400,
        ),
        ({"max_tokens": 10}, "Unknown parameter: 'max_tokens'.", 400),
        (
            {"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "hi"}]}]},
            "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
            400,
        ),
        (
            {"tool_choice": {"type": "function", "function": {"name": "x"}}},
            "Missing required parameter: 'tool_choice.name'.",
            400,
        ),
    ],
)
def test_request_checks(client: httpx.Client, change: dict[str, Any], message: str, status: int) -> None:
    assert error(client, {**ask("hi", "get_weather"), **change}, status) == message


def test_string_input_and_forced_tool(client: httpx.Client) -> None:
    body = {
        "model": "gpt-4.1",
        "input": "hi",
        "tools": responses_tools("get_time"),
        "tool_choice": {"type": "function", "name": "get_time"},
    }
    reply = call(client, body)
    assert [(i["name"], i["arguments"]) for i in reply["output"]] == [("get_time", '{"tz":"UTC"}')]


def test_auth_uses_bearer(client: httpx.Client) -> None:
    response = post(client, RESPONSES, ask("hi"), {"x-api-key": "k"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"

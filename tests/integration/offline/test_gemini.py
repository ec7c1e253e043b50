"""The offline router's Gemini native endpoint (PROTOCOLS.md §4), over HTTP with raw httpx."""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pytest

from crazycall.offline.server import OfflineRouter
from crazycall.offline.wire import thought_signature

from .support import KEY, TOOLS, datas, encode, events, gemini_path, gemini_tools, post

MODEL = "gemini-3-pro-preview"


def ask(prompt: str, *names: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": prompt}]}], **extra}
    if names:
        body["tools"] = gemini_tools(*names)
    return body


def call(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = post(client, gemini_path(MODEL), body, params=KEY)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def error(client: httpx.Client, body: Any, status: int = 400, **kw: Any) -> dict[str, Any]:
    response = post(client, gemini_path(MODEL), body, **({"params": KEY} | kw))
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()["error"]
    assert result["code"] == status
    return result


def answer(body: dict[str, Any], reply: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """§4.3: the model turn echoed whole (signatures in place), then one functionResponse per call."""
    model_turn = reply["candidates"][0]["content"]
    calls = [p["functionCall"] for p in model_turn["parts"] if "functionCall" in p]
    responses = [
        {"functionResponse": {"name": c["name"], "response": {"output": r}}}
        for c, r in zip(calls, results, strict=True)
    ]
    return {**body, "contents": [*body["contents"], model_turn, {"role": "user", "parts": responses}]}


def test_function_call_response_shape(client: httpx.Client) -> None:
    body = ask("weather and time in Rome, Europe/Rome", "get_weather", "get_time")
    reply = call(client, body)
    tokens = len(encode(body)) // 4
    assert reply == {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Calling get_weather and get_time."},
                        {
                            "functionCall": {"name": "get_weather", "args": {"city": "Rome"}},
                            "thoughtSignature": thought_signature("r-1"),
                        },
                        {"functionCall": {"name": "get_time", "args": {"tz": "Europe/Rome"}}},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": tokens, "candidatesTokenCount": 28, "totalTokenCount": tokens + 28},
        "modelVersion": MODEL,
        "responseId": "r-1",
    }


def test_follow_up_with_signatures_answers_in_text(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time")
    reply = call(client, answer(body, call(client, body), [{"temp_c": 18}, "noon"]))
    assert reply["candidates"][0]["content"]["parts"] == [
        {"text": 'get_weather returned {"temp_c": 18}. get_time returned noon.'}
    ]


def test_missing_thought_signature_is_rejected(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    del follow["contents"][1]["parts"][0]["thoughtSignature"]
    assert error(client, follow)["message"].startswith(
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
        "correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
        "function call `default_api:get_weather` , position 2."
    )


def test_signature_moved_to_another_part_is_rejected(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time")
    follow = answer(body, call(client, body), ["sunny", "noon"])
    parts = follow["contents"][1]["parts"]
    parts[2]["thoughtSignature"] = parts[1].pop("thoughtSignature")
    assert "missing a thought_signature" in error(client, follow)["message"]


def test_dummy_signature_and_older_turns_are_accepted(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    follow["contents"][1]["parts"][0]["thoughtSignature"] = "skip_thought_signature_validator"
    assert call(client, follow)["candidates"][0]["content"]["parts"][0]["text"] == "get_weather returned sunny."
    del follow["contents"][1]["parts"][0]["thoughtSignature"]
    follow["contents"].append({"role": "model", "parts": [{"text": "get_weather returned sunny."}]})
    follow["contents"].append({"role": "user", "parts": [{"text": "thanks"}]})
    assert call(client, follow)["candidates"][0]["content"]["parts"] == [{"text": 'Offline router: you said "thanks"'}]


def test_forged_signature_is_rejected(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    follow = answer(body, call(client, body), ["sunny"])
    follow["contents"][1]["parts"][0]["thoughtSignature"] = "Zm9yZ2Vk"
    assert error(client, follow)["message"] == "Corrupted thought signature at 'contents[1].parts[0]'."


def test_response_count_names_and_shape(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time")
    follow = answer(body, call(client, body), ["sunny", "noon"])
    fewer = json.loads(json.dumps(follow))
    del fewer["contents"][2]["parts"][1]
    assert error(client, fewer)["message"] == (
        "Please ensure that the number of function response parts is equal to the number of function call "
        "parts of the function call turn."
    )
    renamed = json.loads(json.dumps(follow))
    renamed["contents"][2]["parts"][1]["functionResponse"]["name"] = "get_date"
    assert "Function response name 'get_date'" in error(client, renamed)["message"]
    flat = json.loads(json.dumps(follow))
    flat["contents"][2]["parts"][0]["functionResponse"]["response"] = "sunny"
    assert error(client, flat)["message"] == (
        "Invalid value at 'contents[2].parts[0].function_response.response' "
        '(type.googleapis.com/google.protobuf.Struct), "sunny"'
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": MODEL}, 'Invalid JSON payload received. Unknown name "model": Cannot find field.'),
        ({"contents": []}, "* GenerateContentRequest.contents: contents is not specified"),
        (
            {
                "tools": [
                    {
                        "functionDeclarations": [
                            {"name": "w", "parameters": {"type": "OBJECT", "additionalProperties": False}}
                        ]
                    }
                ]
            },
            'Invalid JSON payload received. Unknown name "additionalProperties" at '
            "'tools[0].function_declarations[0].parameters': Cannot find field.",
        ),
        (
            {
                "tools": [
                    {
                        "functionDeclarations": [
                            {
                                "name": "w",
                                "parameters": {"type": "object", "properties": {"a": {"type": ["string", "null"]}}},
                            }
                        ]
                    }
                ]
            },
            'Invalid JSON payload received. Unknown name "type" at '
            "'tools[0].function_declarations[0].parameters.properties[0].value': "
            "Proto field is not repeating, cannot start list.",
        ),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "Please use a valid role: user, model."),
    ],
)
def test_request_checks(client: httpx.Client, change: dict[str, Any], message: str) -> None:
    assert error(client, {**ask("hi"), **change})["message"] == message


def test_json_schema_dialect_accepts_plain_json_schema(client: httpx.Client) -> None:
    schema = {**TOOLS["get_weather"], "additionalProperties": False, "$defs": {}}
    tools = [{"function_declarations": [{"name": "get_weather", "parameters_json_schema": schema}]}]
    body = {"contents": [{"role": "user", "parts": [{"text": "weather in Kyiv"}]}], "tools": tools}
    part = call(client, body)["candidates"][0]["content"]["parts"][0]
    assert part["functionCall"] == {"name": "get_weather", "args": {"city": "Kyiv"}}
    assert "id" not in part["functionCall"]


def test_tool_config_modes(client: httpx.Client) -> None:
    none = ask("weather", "get_weather", toolConfig={"functionCallingConfig": {"mode": "NONE"}})
    assert call(client, none)["candidates"][0]["content"]["parts"] == [{"text": 'Offline router: you said "weather"'}]
    forced = ask(
        "hi",
        "get_weather",
        "get_time",
        toolConfig={"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}},
    )
    parts = call(client, forced)["candidates"][0]["content"]["parts"]
    assert [p["functionCall"]["name"] for p in parts] == ["get_time"]


def test_sse_stream_shape(client: httpx.Client) -> None:
    body = ask("What is the weather in Oslo?", "get_weather")
    stream = events(client, gemini_path(MODEL, stream=True), body, params={**KEY, "alt": "sse"})
    assert all(e.event == "message" and e.data != "[DONE]" for e in stream)
    chunks = datas(stream)
    assert len(chunks) == 1  # no text: the calls arrive whole in the one (last) chunk
    candidate = chunks[0]["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["parts"] == [
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
            "thoughtSignature": thought_signature("r-1"),
        }
    ]
    assert chunks[0]["usageMetadata"]["candidatesTokenCount"] == 10


def test_sse_text_in_pieces_with_crlf(client: httpx.Client) -> None:
    body = ask("weather and time", "get_weather", "get_time")
    with client.stream(
        "POST", gemini_path(MODEL, stream=True), content=encode(body), params={**KEY, "alt": "sse"}
    ) as response:
        raw = response.read().decode()
    blocks = [b for b in raw.split("\r\n\r\n") if b]
    chunks = [json.loads(b.removeprefix("data: ")) for b in blocks]
    assert all(b.startswith("data: ") for b in blocks)
    texts = [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks[:-1]]
    assert len(texts) >= 2 and "".join(texts) == "Calling get_weather and get_time."
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    assert [list(p) for p in chunks[-1]["candidates"][0]["content"]["parts"]] == [
        ["functionCall", "thoughtSignature"],
        ["functionCall"],
    ]
    assert chunks[0]["usageMetadata"] == {
        "promptTokenCount": len(encode(body)) // 4,
        "totalTokenCount": len(encode(body)) // 4,
    }
    assert {c["responseId"] for c in chunks} == {"r-1"}


def test_stream_without_alt_sse_is_a_json_array(client: httpx.Client) -> None:
    response = post(client, gemini_path(MODEL, stream=True), ask("hello there"), params=KEY)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    chunks = response.json()
    assert isinstance(chunks, list) and len(chunks) >= 2
    assert (
        "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
        == 'Offline router: you said "hello there"'
    )
    failed = post(client, gemini_path(MODEL, stream=True), {"model": "x"}, params=KEY)
    assert failed.status_code == 400 and failed.json()[0]["error"]["status"] == "INVALID_ARGUMENT"


def test_auth(client: httpx.Client, tls: ssl.SSLContext) -> None:
    assert post(client, gemini_path(MODEL), ask("hi"), {"x-goog-api-key": "k"}).status_code == 200
    missing = error(client, ask("hi"), 403, params={})
    assert missing["status"] == "PERMISSION_DENIED"
    with OfflineRouter(api_key="right") as strict, httpx.Client(base_url=strict.url, verify=tls) as other:
        wrong = post(other, gemini_path(MODEL), ask("hi"), params={"key": "wrong"})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["message"] == "API key not valid. Please pass a valid API key."
        assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"

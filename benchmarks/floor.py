"""The floor: a bare httpx + httpx-sse client doing what a crazycall figure does, with nothing else.

python benchmarks/floor.py roundtrip URL      # two non-streamed requests with one tool call between
python benchmarks/floor.py stream URL N       # stream N text deltas, write them to stdout
"""

from __future__ import annotations

import json
import sys

import httpx
from httpx_sse import connect_sse

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "d",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def roundtrip(url: str) -> None:
    with httpx.Client(base_url=url, headers={"authorization": "Bearer x"}) as client:
        messages: list[dict[str, object]] = [{"role": "user", "content": "weather?"}]
        body = {"model": "bench", "messages": messages, "tools": TOOLS}
        msg = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]
        messages.append(msg)
        for call in msg["tool_calls"]:
            args = json.loads(call["function"]["arguments"])
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps({"city": args["city"]})})
        answer = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
        sys.stdout.write(answer + "\n")


def stream(url: str, n: int) -> None:
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": f"stream {n}"}]}
    out = sys.stdout
    with httpx.Client(base_url=url) as client, connect_sse(client, "POST", "/v1/chat/completions", json=body) as es:
        for sse in es.iter_sse():
            if sse.data == "[DONE]":
                break
            choices = json.loads(sse.data)["choices"]
            if choices and (text := choices[0]["delta"].get("content")):
                out.write(text)
    out.write("\n")


if __name__ == "__main__":
    if sys.argv[1] == "roundtrip":
        roundtrip(sys.argv[2])
    else:
        stream(sys.argv[2], int(sys.argv[3]))

"""A deliberately fast Chat Completions server for benchmarks (stdlib, 127.0.0.1).

The offline router favours faithfulness (validation, fragmenting) over speed; this one serves pre-built bodies
so the benchmark measures the client, not the server. It speaks just enough of PROTOCOLS.md §1:

- a request whose last message is a ``tool`` message gets a final text answer;
- otherwise, when tools are offered and the prompt starts with ``call N``, N parallel calls of the first tools
  (one each, cycling), else one call of the first tool;
- a prompt ``stream N`` (no tools offered) streams N small text deltas.

It counts accepted TCP connections (``GET /stats``) so a benchmark can check keep-alive. ``latency`` (seconds)
is added before each answer to a POST, as a model's time to first byte would be: one thread per connection and
a listen backlog of 1024, so many concurrent conversations wait in parallel, not in a queue.

    python benchmarks/fast_server.py [--latency MS]   # serve until killed; prints its URL on the first line
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DELTA = "word "


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    payload = {"id": "b", "object": "chat.completion.chunk", "created": 0, "model": "bench", "choices": [choice]}
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def text_stream(n: int) -> bytes:
    parts = [_chunk({"role": "assistant", "content": ""})]
    one = _chunk({"content": DELTA})
    parts.extend([one] * n)
    parts.append(_chunk({}, "stop"))
    usage = {
        "id": "b",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": n, "total_tokens": n + 5},
    }
    parts.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def _message(content: str | None, calls: list[dict[str, Any]] | None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        msg["tool_calls"] = calls
    return {
        "id": "b",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _arguments(name: str) -> str:
    if name == "get_time":  # smoke's probe
        return json.dumps({"timezone": "Europe/Paris"})
    return json.dumps({"seconds": 1} if name.startswith("nap") else {"city": "Paris"})


def reply(body: dict[str, Any]) -> tuple[bytes, bool]:
    """(payload, is_stream) for one request body."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    tools = [t["function"]["name"] for t in body.get("tools") or []]
    prompt = str(last.get("content") or "")
    if last.get("role") == "tool":
        data = _message("All tools answered.", None)
    elif m := re.match(r"stream (\d+)", prompt):
        return text_stream(int(m.group(1))), True
    elif tools:
        m = re.match(r"call (\d+)", prompt)
        n = int(m.group(1)) if m else 1
        names = [tools[i % len(tools)] for i in range(n)]
        calls = [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": _arguments(name)}}
            for i, name in enumerate(names)
        ]
        data = _message(None, calls)
    else:
        data = _message("Hello.", None)
    return json.dumps(data).encode(), False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        payload = json.dumps({"connections": self.server.connections}).encode()  # type: ignore[attr-defined]
        self._send(payload, "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        payload, stream = reply(body)
        latency: float = self.server.latency  # type: ignore[attr-defined]
        if latency:
            time.sleep(latency)
        self._send(payload, "text/event-stream" if stream else "application/json")

    def _send(self, payload: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FastServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: 64+ conversations may connect at once

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.latency = latency

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections += 1
        return conn, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FastServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve until killed; the first line of stdout is the URL.")
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds added before each answer")
    args = parser.parse_args()
    server = FastServer(args.latency / 1000)
    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()

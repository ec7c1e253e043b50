"""The offline router as a server: routes, recording, lifecycle, chunked uploads, concurrency."""

from __future__ import annotations

import ast
import ssl
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from crazycall import offline
from crazycall.offline.server import OfflineRouter, RecordedRequest

from .support import ANTHROPIC, BEARER, CHAT, KEY, MESSAGES, encode, events, gemini_path, post


def test_unknown_paths_are_404_json(client: httpx.Client) -> None:
    response = post(client, "/v1/nope", {}, BEARER)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Invalid URL (POST /v1/nope)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    google = post(client, "/v1beta/models/x:countTokens", {}, params=KEY)
    assert google.status_code == 404 and google.json()["error"]["status"] == "NOT_FOUND"
    get = client.get(CHAT, headers=BEARER)
    assert get.status_code == 404 and get.json()["error"]["message"] == "Invalid URL (GET /v1/chat/completions)"


def test_every_request_is_recorded(router: OfflineRouter, client: httpx.Client) -> None:
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    post(client, CHAT, chat, BEARER)
    events(client, MESSAGES, {"model": "m", "max_tokens": 5, "messages": chat["messages"], "stream": True}, ANTHROPIC)
    gemini = {"contents": [{"parts": [{"text": "hi"}]}]}
    events(client, gemini_path("gemini-x", stream=True), gemini, params={**KEY, "alt": "sse"})
    post(client, CHAT, b"{oops", BEARER)
    post(client, "/elsewhere", {})
    recorded = router.requests
    assert [(r.protocol, r.method, r.path, r.stream) for r in recorded] == [
        ("chat", "POST", CHAT, False),
        ("messages", "POST", MESSAGES, True),
        ("gemini", "POST", "/v1beta/models/gemini-x:streamGenerateContent", True),
        ("chat", "POST", CHAT, False),
        ("unknown", "POST", "/elsewhere", False),
    ]
    assert recorded[0].body == chat and recorded[3].body is None
    assert recorded[0].headers["authorization"] == "Bearer test-key"
    assert recorded[1].headers["anthropic-version"] == "2023-06-01"
    assert recorded[2].query == {"key": "test-key", "alt": "sse"}
    assert isinstance(recorded[0], RecordedRequest)


def test_lifecycle(tls: ssl.SSLContext) -> None:
    router = OfflineRouter()
    with pytest.raises(RuntimeError, match="not running"):
        _ = router.url
    assert router.start() is router and router.start() is router
    url = router.url
    assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
    with httpx.Client(base_url=url, verify=tls) as client:
        assert (
            post(client, CHAT, {"model": "m", "messages": [{"role": "user", "content": "x"}]}, BEARER).status_code
            == 200
        )
        router.stop()
        router.stop()
        with pytest.raises(httpx.TransportError):
            post(client, CHAT, {"model": "m", "messages": [{"role": "user", "content": "x"}]}, BEARER)


def test_ids_are_deterministic_per_router(tls: ssl.SSLContext) -> None:
    def first_ids() -> list[str]:
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        with OfflineRouter() as router, httpx.Client(base_url=router.url, verify=tls) as client:
            return [post(client, CHAT, body, BEARER).json()["id"] for _ in range(2)]

    assert first_ids() == first_ids() == ["chatcmpl-1", "chatcmpl-2"]


def test_chunked_request_body(client: httpx.Client) -> None:
    body = encode({"model": "m", "messages": [{"role": "user", "content": "chunked"}]})

    def parts() -> Iterator[bytes]:
        yield body[:10]
        yield body[10:]

    response = client.post(CHAT, content=parts(), headers={**BEARER, "content-type": "application/json"})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == 'Offline router: you said "chunked"'


def test_streams_are_served_concurrently(tls: ssl.SSLContext) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "one two three four five six"}], "stream": True}
    router = OfflineRouter(stream_chunk_delay=0.005)
    with router, httpx.Client(base_url=router.start().url, verify=tls) as client, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: events(client, CHAT, body, BEARER)[-1].data, range(4)))
    assert results == ["[DONE]"] * 4


def test_the_router_never_imports_the_adapters() -> None:
    """Replies come from PROTOCOLS.md by hand, else these tests would check the adapters against themselves."""
    package = Path(offline.__file__).parent
    imported: set[str] = set()
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.startswith("crazycall.protocols")}
    assert {name for name in imported if name.startswith("crazycall.")} <= {
        f"crazycall.offline.{m.stem}" for m in package.glob("*.py")
    } | {"crazycall.offline", "crazycall.replay.compare", "crazycall.transcript.recording"}  # --replay's matching


def test_the_router_process_loads_no_adapter_even_to_replay() -> None:
    """The import check above reads import lines; this one runs them (package __init__ files included)."""
    code = (
        "import sys, crazycall.offline.server, crazycall.offline.replaying, crazycall.commands.offline; "
        "print(sorted(m for m in sys.modules if m.startswith('crazycall.protocols')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr

"""``crazycall offline-router --replay``: recordings served over HTTP on 127.0.0.1 to any client.

Runs of ``ask --offline`` are recorded into one folder, the router command serves that folder, and both
``crazycall ask --base-url`` and a bare httpx client talk to it: a recorded request gets the recorded answer
(streamed or not), any other request an HTTP error in its protocol's envelope naming the first difference.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.errors import EXIT_PROVIDER, EXIT_TRANSPORT

REPO = Path(__file__).resolve().parents[2]
TOOLS = ["-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]
PROMPT = "What is the weather in Beijing?"
ANTHROPIC = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
RUNS = {  # transcript name -> ask flags
    "chat-stream": ["-m", "gpt-5.4"],
    "messages-whole": ["-m", "claude-sonnet-4-6", "--no-stream"],
    "gemini-stream": ["-m", "gemini-3-pro"],
}


def ask(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["ask", "--json", *TOOLS, *args, PROMPT])
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def same_parts(data: dict[str, Any]) -> dict[str, Any]:
    """What two runs of the same conversation share (not the run id, transcript, durations or made-up ids)."""
    calls = [{k: v for k, v in c.items() if k in ("name", "arguments", "result")} for c in data["tool_calls"]]
    return {"text": data["text"], "model": data["model"], "protocol": data["protocol"], "tool_calls": calls}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("recordings")
    (folder / "empty.jsonl").write_text("", encoding="utf-8")  # not a recording: skipped
    answers = {name: ask("--offline", "--transcript", str(folder / f"{name}.jsonl"), *a) for name, a in RUNS.items()}
    return folder, answers


@pytest.fixture(scope="module")
def router(recorded: tuple[Path, dict[str, dict[str, Any]]]) -> Iterator[str]:
    command = [sys.executable, "-m", "crazycall", "offline-router", "--replay", str(recorded[0])]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on " in line, line + (proc.stderr.read() if proc.stderr else "")
        yield line.split("listening on ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # reaps it and closes both pipes


@pytest.mark.parametrize("name", list(RUNS))
def test_ask_against_the_replaying_router_gets_the_recorded_answer(
    name: str, router: str, recorded: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    again = ask("--base-url", router, "--api-key", "any-key", "--no-transcript", *RUNS[name])
    assert same_parts(again) == same_parts(recorded[1][name])
    assert again["tool_calls"], "the recorded run called a tool: the replay must too"


def test_a_request_no_recording_matches_gets_the_protocols_error_naming_the_difference(router: str) -> None:
    body = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "What is the weather in Paris?"}]}
    with httpx.Client(base_url=router) as client:
        reply = client.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer k"})
    assert reply.status_code == 400
    message = reply.json()["error"]["message"]
    assert "replay: no recorded request matches" in message
    assert "chat-stream.jsonl" in message


def test_a_changed_prompt_on_messages_is_named_by_its_path(
    router: str, recorded: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    """The whole recorded first request, with one value changed: the error names that path and both values."""
    with httpx.Client(base_url=router) as client:
        first = _first_request(recorded[0], "messages")
        first["messages"][0]["content"] = "What is the weather in Oslo?"
        reply = client.post("/v1/messages", json=first, headers=ANTHROPIC)
    assert reply.status_code == 400
    data = reply.json()
    assert data["type"] == "error"
    assert (
        'messages[0].content: recorded "What is the weather in Beijing?", now "What is the weather in Oslo?"'
        in (data["error"]["message"])
    )


def test_a_recorded_request_sent_by_any_client_gets_the_recorded_body(
    router: str, recorded: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    with httpx.Client(base_url=router) as client:
        reply = client.post("/v1/messages", json=_first_request(recorded[0], "messages"), headers=ANTHROPIC)
    assert reply.status_code == 200
    lines = (recorded[0] / "messages-whole.jsonl").read_text(encoding="utf-8").splitlines()
    response = next(r for r in map(json.loads, lines) if r["type"] == "response")
    assert reply.json() == json.loads(response["body"])


def _first_request(folder: Path, protocol: str) -> dict[str, Any]:
    """The first request body of the recording made on ``protocol`` (read from its transcript)."""
    name = next(n for n in RUNS if n.startswith(protocol))
    lines = (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    body: dict[str, Any] = next(r for r in map(json.loads, lines) if r["type"] == "request")["body"]
    return body


def test_a_folder_without_a_recording_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["offline-router", "--replay", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no recording" in result.stderr


@pytest.mark.parametrize("fault", ["cut", "http500"])
def test_a_recorded_failure_is_served_as_the_same_failure(tmp_path: Path, fault: str) -> None:
    """A stream cut short is cut again, an HTTP error is the same error: the client ends as the original did."""
    from crazycall.offline.replaying import ReplayBook
    from crazycall.offline.server import OfflineRouter
    from crazycall.transcript.recording import load_recording

    rec = tmp_path / "rec.jsonl"
    args = ("--api-key", "k", "--max-retries", "0", "--json", *TOOLS)
    with OfflineRouter(faults={"*": fault}) as live:
        first = CliRunner().invoke(app, ["ask", "--base-url", live.url, "--transcript", str(rec), *args, PROMPT])
    assert first.exit_code in (EXIT_TRANSPORT, EXIT_PROVIDER)
    with OfflineRouter(replay=ReplayBook([load_recording(rec)])) as replaying:
        again = CliRunner().invoke(app, ["ask", "--base-url", replaying.url, "--no-transcript", *args, PROMPT])
    assert again.exit_code == first.exit_code
    recorded_error, error = json.loads(first.stdout)["error"], json.loads(again.stdout)["error"]
    assert error["type"] == recorded_error["type"]
    assert error["message"].split(" (request id")[0] == recorded_error["message"].split(" (request id")[0]

"""``crazycall chat --replay``: a piped chat recorded against the offline router, replayed with no router.

One recording spans several prompts: the recorded requests are consumed in order across them, and a prompt
that differs from the recorded one stops the chat with exit 9 naming the request and the path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from crazycall.errors import EXIT_REPLAY_MISMATCH

REPO = Path(__file__).resolve().parents[2]
TOOLS = ["-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]
LINES = "What is the weather in Beijing?\nAnd in Rome?\n"


def chat(cwd: Path, lines: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(XDG_DATA_HOME=str(cwd / "data"), XDG_STATE_HOME=str(cwd / "state"))
    command = [sys.executable, "-m", "crazycall", "chat", *TOOLS, *args]
    return subprocess.run(command, cwd=cwd, input=lines, capture_output=True, text=True, timeout=60, env=env)


def requests(path: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in records if r["type"] == "request"]


def test_a_replayed_chat_answers_every_prompt_from_the_recording(tmp_path: Path) -> None:
    recording = tmp_path / "chat.jsonl"
    first = chat(tmp_path, LINES, "--offline", "--transcript", str(recording))
    assert first.returncode == 0, first.stderr
    assert len(requests(recording)) == 3  # a tool call and its answer, then the second prompt

    again = chat(tmp_path, LINES, "--replay", str(recording), "--transcript", str(tmp_path / "again.jsonl"))
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert "Rome" in again.stdout  # the second prompt's answer came from the recording too
    assert [r["body"] for r in requests(tmp_path / "again.jsonl")] == [r["body"] for r in requests(recording)]


def test_a_changed_second_prompt_stops_the_replayed_chat_at_request_3(tmp_path: Path) -> None:
    recording = tmp_path / "chat.jsonl"
    assert chat(tmp_path, LINES, "--offline", "--transcript", str(recording)).returncode == 0

    changed = chat(tmp_path, LINES.replace("Rome", "Oslo"), "--replay", str(recording))
    assert changed.returncode == EXIT_REPLAY_MISMATCH
    assert 'replay: request 3 differs at messages[4].content: recorded "And in Rome?", now "And in Oslo?"' in (
        changed.stderr
    )
    assert "Traceback" not in changed.stderr


def test_a_chat_that_switched_protocol_replays_on_both(tmp_path: Path) -> None:
    lines = "What is the weather in Beijing?\n/model claude-sonnet-4-6\nAnd in Rome?\n"
    recording = tmp_path / "switched.jsonl"
    first = chat(tmp_path, lines, "--offline", "--transcript", str(recording))
    assert first.returncode == 0, first.stderr
    assert [r["path"] for r in requests(recording)][-1] == "/v1/messages"

    again = chat(tmp_path, lines, "--replay", str(recording), "--no-transcript")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert "via messages" in again.stderr

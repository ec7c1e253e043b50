"""Output modes through the real CLI in a subprocess: stdout and stderr checked separately, no ANSI anywhere.

Each run is ``python -m crazycall ask --offline`` with the repository's example tools, stdout and stderr
piped (so not a terminal: ``auto`` means ``plain``). The offline router's answers are deterministic, and
get_weather returns sample data computed from the city name, so stdout is compared exactly.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import TOOLS, run_cli

PROMPT = "What is the weather in Beijing?"
ANSWER = (
    'get_weather returned {"city": "Beijing", "temperature": -4, "unit": "celsius", "conditions": "cloudy", '
    '"humidity_percent": 45, "sample_data": true}.'
)
PARALLEL = "What are the weather in Paris and the time in Europe/Paris?"
SUMMARY_KEYS = {"model", "protocol", "text", "stop_reason", "turns", "tool_calls", "usage", "run_id", "transcript"}
CALL_KEYS = {"id", "name", "arguments", "result", "is_error", "duration_ms"}


def ask(
    cwd: Path, *args: str, prompt: str = PROMPT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, "ask", "--offline", *TOOLS, *args, prompt, env=env)


def no_ansi(*texts: str) -> None:
    for text in texts:
        assert "\x1b" not in text, text


def test_default_off_a_terminal_is_plain_answer_on_stdout_steps_on_stderr(tmp_path: Path) -> None:
    done = ask(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ANSWER + "\n"
    lines = done.stderr.splitlines()
    assert lines[:2] == [
        "crazycall: gpt-5.4 via chat (/v1/chat/completions)",
        'tool get_weather {"city": "Beijing", "unit": "celsius"}',
    ]
    assert re.fullmatch(r'tool get_weather ok in \d+ ms: \{"city": "Beijing", "temperature": -4, [^\n]{40,}…', lines[2])
    assert re.fullmatch(r"done: 2 turns, 1 tool call, \d+ in / \d+ out tokens, \d+\.\d s", lines[3])
    assert len(lines) == 4
    no_ansi(done.stdout, done.stderr)


def test_plain_keeps_the_text_of_tool_turns_off_stdout(tmp_path: Path) -> None:
    done = ask(tmp_path, "-o", "plain", prompt=PARALLEL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('get_weather returned {"city": "Paris"')
    assert "Calling" not in done.stdout and done.stdout.count("\n") == 1
    assert "model: Calling get_weather and get_time.\n" in done.stderr
    no_ansi(done.stdout, done.stderr)


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-sonnet-4-6", "gemini-3-pro"])
@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_plain_stdout_is_the_same_answer_on_every_protocol(tmp_path: Path, model: str, stream: str) -> None:
    done = ask(tmp_path, "-o", "plain", "-m", model, stream)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ANSWER + "\n"


def test_quiet_prints_only_the_final_text(tmp_path: Path) -> None:
    done = ask(tmp_path, "-q", prompt=PARALLEL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("get_weather returned") and done.stdout.count("\n") == 1
    assert done.stderr == ""


def test_json_is_exactly_one_object_and_nothing_on_stderr(tmp_path: Path) -> None:
    done = ask(tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and done.stderr == ""
    data = json.loads(done.stdout)
    assert set(data) == SUMMARY_KEYS
    assert (data["model"], data["protocol"], data["text"], data["stop_reason"], data["turns"]) == (
        "gpt-5.4",
        "chat",
        ANSWER,
        "end_turn",
        2,
    )
    (call,) = data["tool_calls"]
    assert set(call) == CALL_KEYS
    assert (call["name"], call["arguments"], call["is_error"]) == (
        "get_weather",
        {"city": "Beijing", "unit": "celsius"},
        False,
    )
    assert call["result"]["city"] == "Beijing"
    assert set(data["usage"]) == {"input_tokens", "output_tokens"} and data["usage"]["input_tokens"] > 0


def _records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_jsonl_is_one_object_per_event_with_the_documented_fields(tmp_path: Path) -> None:
    done = ask(tmp_path, "-o", "jsonl", prompt=PARALLEL)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    records = _records(done.stdout)
    kinds = [r["event"] for r in records if r["event"] != "text_delta"]
    assert kinds == [
        "run_started",
        "turn_finished",
        "tool_call",
        "tool_call",
        "tool_result",
        "tool_result",
        "turn_finished",
        "run_finished",
    ]
    fields = {
        "run_started": {"event", "model", "protocol", "endpoint", "tools", "run_id", "transcript"},
        "text_delta": {"event", "text"},
        "tool_call": {"event", "id", "name", "arguments"},
        "tool_result": {"event", "id", "name", "result", "is_error", "duration_ms"},
        "turn_finished": {"event", "turn", "stop_reason", "usage"},
        "run_finished": {"event"} | SUMMARY_KEYS,
    }
    for record in records:
        assert set(record) == fields[record["event"]], record
    calls = [r for r in records if r["event"] == "tool_call"]
    results = [r for r in records if r["event"] == "tool_result"]
    assert {c["id"] for c in calls} == {r["id"] for r in results}
    final = records[-1]
    streamed = "".join(r["text"] for r in records[records.index(calls[-1]) :] if r["event"] == "text_delta")
    assert streamed == final["text"]
    assert [c["name"] for c in final["tool_calls"]] == ["get_weather", "get_time"]


def test_rich_off_a_terminal_has_no_escape_codes(tmp_path: Path) -> None:
    done = ask(tmp_path, "-o", "rich")
    assert done.returncode == 0, done.stderr
    no_ansi(done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0] == '⚙ get_weather {"city": "Beijing", "unit": "celsius"}'
    assert re.fullmatch(r"✓ get_weather · \d+ ms · 126 chars", lines[1])
    assert re.fullmatch(r"gpt-5.4 via chat · 2 turns · 1 tool call · [\d,]+ in / \d+ out tokens · \d+\.\d s", lines[-1])
    assert done.stderr == ""

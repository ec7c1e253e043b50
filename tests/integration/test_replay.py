"""``ask --replay``: record a run against the offline router on 127.0.0.1, stop the router, replay the transcript.

The replay needs no router and no key, gives the same output, and stops with exit 9 and the first difference
(a path, both values) when the request it builds differs from the recorded one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.errors import EXIT_PROVIDER, EXIT_REPLAY_MISMATCH, EXIT_TRANSPORT, EXIT_USAGE
from crazycall.offline.server import OfflineRouter

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-replay-secret-0001"
TOOLS = ["-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]
PROMPT = "What is the weather in Beijing?"
MODELS = {
    "chat": ("gpt-5.4", "auto"),
    "responses": ("gpt-5.4", "responses"),
    "messages": ("claude-sonnet-4-6", "auto"),
    "gemini": ("gemini-3-pro", "auto"),
}

THERMOMETER = '''
import crazycall


@crazycall.tool
def thermometer(city: str) -> dict:
    """Read the thermometer in a city."""
    return {"city": city, "temperature": TEMPERATURE}
'''
THERMO_PROMPT = "What does the thermometer say in Oslo?"


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Away from the repository's own tools.yaml (loaded from the current folder)."""
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["ask", *args])
    return result.exit_code, result.stdout, result.stderr


def as_json(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    return data


def record(path: Path, *args: str, faults: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """One run against a router that is stopped when it returns; its transcript is at ``path``."""
    with OfflineRouter(api_key=KEY, faults=faults) as router:
        code, out, _err = invoke("--base-url", router.url, "--api-key", KEY, "--transcript", str(path), *args)
    return code, as_json(out)


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """A --json result without what differs per run: its id, its transcript, the tools' durations, the call
    ids crazycall makes up for Gemini calls that have none."""
    calls = [
        {k: v for k, v in call.items() if k != "duration_ms" and not str(v).startswith("gemini-call-")}
        for call in data["tool_calls"]
    ]
    return {k: v for k, v in data.items() if k not in ("run_id", "transcript")} | {"tool_calls": calls}


def thermometer(folder: Path, body: str) -> list[str]:
    folder.mkdir(exist_ok=True)
    (folder / "thermometer.py").write_text(THERMOMETER.replace("TEMPERATURE", body), encoding="utf-8")
    return ["--plugins", str(folder)]


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
@pytest.mark.parametrize("protocol", list(MODELS))
def test_replay_gives_the_recorded_run_without_router_or_key(tmp_path: Path, protocol: str, stream: str) -> None:
    model, proto = MODELS[protocol]
    rec = tmp_path / "rec.jsonl"
    code, recorded = record(rec, "-m", model, "-p", proto, stream, *TOOLS, "--json", PROMPT)
    assert code == 0 and recorded["tool_calls"], recorded
    assert KEY not in rec.read_text(encoding="utf-8")  # a recording holds no secret

    # No -m/-p/--stream: the recording's model, protocol and stream mode carry over; no --base-url, no key.
    replay_path = tmp_path / "replay.jsonl"
    code, out, err = invoke("--replay", str(rec), *TOOLS, "--json", "--transcript", str(replay_path), PROMPT)
    assert code == 0, err
    assert comparable(as_json(out)) == comparable(recorded)
    # The replay's own transcript is a recording too: replaying it again works.
    code, out, err = invoke("--replay", str(replay_path), *TOOLS, "--json", "--no-transcript", PROMPT)
    assert code == 0, err
    assert comparable(as_json(out)) == comparable(recorded)


def test_a_run_that_crossed_protocols_with_resume_replays(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert record(first, *TOOLS, "--json", PROMPT)[0] == 0  # chat
    follow_up = "And the weather in Paris?"
    code, recorded = record(second, "--resume", str(first), "-m", "claude-sonnet-4-6", *TOOLS, "--json", follow_up)
    assert code == 0 and recorded["protocol"] == "messages"
    args = ("--resume", str(first), "--replay", str(second), *TOOLS, "--json", "--no-transcript")
    code, out, err = invoke(*args, follow_up)
    assert code == 0, err
    assert comparable(as_json(out)) == comparable(recorded)
    code, out, err = invoke(*args, "And the weather in Rome?")
    assert code == 9 and as_json(out)["error"]["replay"]["request"] == 1


def test_a_changed_tool_result_names_request_2_and_the_path(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    code, _data = record(rec, *thermometer(tmp_path / "p", "21"), "--json", THERMO_PROMPT)
    assert code == 0
    plugins = thermometer(tmp_path / "p", "22")
    code, out, err = invoke("--replay", str(rec), *plugins, "--no-transcript", THERMO_PROMPT)
    assert code == EXIT_REPLAY_MISMATCH == 9
    assert err.strip().splitlines()[-1] == (
        'crazycall: error: replay: request 2 differs at messages[2].content: recorded "{\\"city\\": \\"Oslo\\", '
        '\\"temperature\\": 21}", now "{\\"city\\": \\"Oslo\\", \\"temperature\\": 22}"'
    )
    assert "Traceback" not in err

    code, out, _err = invoke("--replay", str(rec), *plugins, "--json", "--no-transcript", THERMO_PROMPT)
    error = as_json(out)["error"]
    assert code == 9 and error["type"] == "replay_mismatch" and error["exit_code"] == 9
    assert error["replay"] == {
        "request": 2,
        "path": "messages[2].content",
        "recorded": '{"city": "Oslo", "temperature": 21}',
        "now": '{"city": "Oslo", "temperature": 22}',
    }


def test_a_changed_prompt_or_schema_names_request_1(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    plugins = thermometer(tmp_path / "p", "21")
    assert record(rec, "-m", "claude-sonnet-4-6", *plugins, "--json", THERMO_PROMPT)[0] == 0
    code, _out, err = invoke("--replay", str(rec), *plugins, "--no-transcript", THERMO_PROMPT + "!")
    assert code == 9
    assert 'request 1 differs at messages[0].content: recorded "What does' in err

    changed = (tmp_path / "p" / "thermometer.py").read_text(encoding="utf-8").replace("Read the", "Look at the")
    (tmp_path / "p" / "thermometer.py").write_text(changed, encoding="utf-8")
    code, _out, err = invoke("--replay", str(rec), *plugins, "--no-transcript", THERMO_PROMPT)
    assert code == 9
    assert "request 1 differs at tools[0].description: recorded" in err


def test_replay_tools_takes_results_from_the_recording(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    code, recorded = record(rec, "-m", "gemini-3-pro", *thermometer(tmp_path / "p", "21"), "--json", THERMO_PROMPT)
    assert code == 0
    broken = thermometer(tmp_path / "p", "1 / 0")  # would fail if run
    code, out, err = invoke("--replay", str(rec), "--replay-tools", *broken, "--json", "--no-transcript", THERMO_PROMPT)
    assert code == 0, err
    assert comparable(as_json(out)) == comparable(recorded)
    code, _out, err = invoke("--replay", str(rec), *broken, "--no-transcript", THERMO_PROMPT)
    assert code == 9 and "request 2 differs" in err and "ZeroDivisionError" in err


def test_a_cut_stream_replays_as_the_same_error(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    code, recorded = record(rec, "--max-retries", "0", *TOOLS, "--json", PROMPT, faults={"*": "cut"})
    assert code == EXIT_TRANSPORT
    code, out, _err = invoke("--replay", str(rec), *TOOLS, "--json", "--no-transcript", PROMPT)
    assert code == EXIT_TRANSPORT
    assert as_json(out)["error"] == recorded["error"]


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_a_recorded_http_error_replays_as_the_same_error(tmp_path: Path, stream: str) -> None:
    rec = tmp_path / "rec.jsonl"
    args = ("-m", "claude-sonnet-4-6", stream, *TOOLS, "--json")
    code, recorded = record(rec, "--max-retries", "1", *args, PROMPT, faults={"*": "http500"})
    assert code == EXIT_PROVIDER
    code, out, _err = invoke("--replay", str(rec), *args, "--no-transcript", PROMPT)
    assert code == EXIT_PROVIDER
    assert as_json(out)["error"] == recorded["error"]


def test_replay_on_another_protocol_or_without_a_recording_is_a_usage_error(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    assert record(rec, *TOOLS, "--json", PROMPT)[0] == 0
    code, _out, err = invoke("--replay", str(rec), "-p", "messages", *TOOLS, PROMPT)
    assert code == EXIT_USAGE
    assert err.strip().splitlines()[-1] == (
        f"crazycall: error: replay: {rec} was recorded on chat; it cannot be replayed on messages"
    )
    code, _out, err = invoke("--replay-tools", *TOOLS, PROMPT)
    assert code == EXIT_USAGE and "--replay-tools needs --replay" in err
    code, out, err = invoke("--replay", "no-such-run", "--json", *TOOLS, PROMPT)
    assert code == EXIT_USAGE and as_json(out)["error"]["type"] == "usage_error"
    (tmp_path / "empty.jsonl").write_text('{"type": "run", "model": "m"}\n', encoding="utf-8")
    code, _out, err = invoke("--replay", str(tmp_path / "empty.jsonl"), *TOOLS, PROMPT)
    assert code == EXIT_USAGE and "is not a recording: it has no recorded request" in err


def test_more_requests_than_recorded_is_a_mismatch(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    lines = []
    assert record(rec, *TOOLS, "--json", PROMPT)[0] == 0
    for line in rec.read_text(encoding="utf-8").splitlines():  # keep only the first exchange
        if json.loads(line)["type"] in ("request", "response", "event") and json.loads(line).get("turn") != 1:
            continue
        lines.append(line)
    rec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _out, err = invoke("--replay", str(rec), *TOOLS, "--no-transcript", PROMPT)
    assert code == 9 and f"replay: request 2 was not recorded ({rec} holds 1)" in err

"""``eval --record DIR`` / ``eval --replay DIR``, ``expect.output`` and ``eval --max-cost``, end to end.

The real CLI in a subprocess against the offline router on 127.0.0.1 (or, for a model that breaks the output
schema, a small server on 127.0.0.1 whose answer is not JSON); replays run with no router and no key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Canned, HostileServer

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools.yaml"


def crazycall(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crazycall", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def rows(path: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    found = (json.loads(line) for line in path.read_text().splitlines())
    return {(r["case"], r["model"], r["repeat"]): r for r in found}


def _same(row: dict[str, Any]) -> dict[str, Any]:
    """What a replay must reproduce (latency, run id and transcript path legitimately differ)."""
    return {k: row[k] for k in ("passed", "assertions", "reason", "calls", "text", "turns", "usage", "error")}


def test_record_then_replay_gives_the_same_report_with_no_router(tmp_path: Path) -> None:
    cassettes, first, second = tmp_path / "rec", tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    args = ["eval", "examples/eval.yaml", "--json"]
    recorded = crazycall(ROOT, *args, "--offline", "--record", str(cassettes), "--out", str(first))
    assert recorded.returncode == 0, recorded.stderr
    assert len(list(cassettes.glob("*.jsonl"))) == 12
    # no --offline, no key, no router: every answer comes from the recordings (and get_time's result too:
    # the clock moved on since the recording, which a replay running the real tool reports as a difference)
    replayed = crazycall(ROOT, *args, "--replay", str(cassettes), "--replay-tools", "--out", str(second))
    assert replayed.returncode == 0, replayed.stderr
    a, b = json.loads(recorded.stdout), json.loads(replayed.stdout)
    assert a["total"] == b["total"] == 12 and b["passed"] == 12
    assert a["cells"] == b["cells"]
    old, new = rows(first), rows(second)
    assert old.keys() == new.keys()
    assert all(_same(old[k]) == _same(new[k]) for k in old)


CHANGING = f"""\
models: [gpt-5.4]
tools: {TOOLS}
cases:
  - id: mocked
    prompt: What is the weather in Paris?
    expect: {{calls: [get_weather]}}
    mock: {{get_weather: {{temperature: TEMP}}}}
"""


def test_replay_of_a_changed_tool_result_fails_the_row_naming_the_difference(tmp_path: Path) -> None:
    cases, cassettes = tmp_path / "cases.yaml", tmp_path / "rec"
    cases.write_text(CHANGING.replace("TEMP", "21"))
    recorded = crazycall(tmp_path, "eval", "cases.yaml", "--offline", "--record", str(cassettes))
    assert recorded.returncode == 0, recorded.stderr
    same = crazycall(tmp_path, "eval", "cases.yaml", "--replay", str(cassettes), "--json")
    assert same.returncode == 0, same.stderr
    cases.write_text(CHANGING.replace("TEMP", "22"))
    changed = crazycall(tmp_path, "eval", "cases.yaml", "--replay", str(cassettes), "--json")
    assert changed.returncode == 11, changed.stderr
    assert "Traceback" not in changed.stderr
    reason = json.loads(changed.stdout)["failures"][0]["reason"]
    assert reason.startswith("replay: request 2 differs at ") and "21" in reason and "22" in reason


def test_replay_without_a_recording_for_the_row_fails_that_row(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(CHANGING.replace("TEMP", "21"))
    (tmp_path / "empty").mkdir()
    done = crazycall(tmp_path, "eval", "cases.yaml", "--replay", "empty", "--json")
    assert done.returncode == 11, done.stderr
    assert "cannot read the transcript" in json.loads(done.stdout)["failures"][0]["reason"]
    missing = crazycall(tmp_path, "eval", "cases.yaml", "--replay", "nowhere")
    assert missing.returncode == 2 and "crazycall: error: --replay nowhere: no such directory" in missing.stderr


OUTPUT = f"""\
models: [MODELS]
tools: {TOOLS}
cases:
  - id: structured
    prompt: Give me the weather in Paris as JSON.
    expect:
      output:
        schema:
          type: object
          properties: {{city: {{type: string}}, temperature: {{type: number}}}}
          required: [city, temperature]
"""


def test_expect_output_schema_passes_on_all_four_protocols(tmp_path: Path) -> None:
    models = "gpt-5.4, gpt-5.4:responses, claude-sonnet-4-6, gemini-3-pro"
    (tmp_path / "cases.yaml").write_text(OUTPUT.replace("MODELS", models))
    out = tmp_path / "r.jsonl"
    done = crazycall(tmp_path, "eval", "cases.yaml", "--offline", "--no-transcript", "--out", str(out))
    assert done.returncode == 0, done.stderr
    for row in rows(out).values():
        assert {"name": "output.schema", "passed": True, "reason": None} in row["assertions"]
        assert isinstance(json.loads(row["text"])["city"], str)


#: a Chat Completions model that answers prose however often it is asked for JSON
PROSE = {
    "id": "c1",
    "object": "chat.completion",
    "model": "gpt-5.4",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "It is sunny."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}


@pytest.fixture
def prose_server() -> Iterator[str]:
    with HostileServer(Canned(json.dumps(PROSE).encode())) as server:
        yield server.url


def test_expect_output_schema_fails_when_the_answer_is_not_valid(tmp_path: Path, prose_server: str) -> None:
    (tmp_path / "cases.yaml").write_text(OUTPUT.replace("MODELS", "gpt-5.4"))
    out = tmp_path / "r.jsonl"
    args = ["--base-url", prose_server, "--api-key", "sk-test-eval2", "--no-stream", "--no-transcript"]
    done = crazycall(tmp_path, "eval", "cases.yaml", *args, "--out", str(out))
    assert done.returncode == 11, done.stderr
    assert "Traceback" not in done.stderr
    row = rows(out)[("structured", "gpt-5.4:chat", 0)]
    verdict = next(v for v in row["assertions"] if v["name"] == "output.schema")
    assert verdict["passed"] is False and "not a JSON document" in verdict["reason"]
    assert row["error"]["type"] == "schema_mismatch"


def test_expect_output_with_an_invalid_schema_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    text = OUTPUT.replace("MODELS", "gpt-5.4").replace("type: object\n", "type: 12\n", 1)
    (tmp_path / "cases.yaml").write_text(text)
    done = crazycall(tmp_path, "eval", "cases.yaml", "--offline")
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("crazycall: error: cases.yaml:") and "output.schema" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


BUDGET = f"""\
models: [gpt-5.4]
tools: {TOOLS}
defaults: {{repeat: 5}}
cases:
  - id: weather
    prompt: What is the weather in Beijing?
    expect: {{calls: [get_weather]}}
"""


def _config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return {"CRAZYCALL_CONFIG": str(path)}


def test_max_cost_stops_starting_conversations_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(BUDGET)
    env = _config(tmp_path, 'prices:\n  "gpt-*": {input: 1.25, output: 10}\n')
    out = tmp_path / "r.jsonl"
    args = ["eval", "cases.yaml", "--offline", "--no-transcript", "--concurrency", "1", "--json", "--out", str(out)]
    full = crazycall(tmp_path, *args, env=env)
    assert full.returncode == 0, full.stderr
    assert all(r["cost_usd"] > 0 for r in rows(out).values())
    priced = json.loads(full.stdout)
    assert priced["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows(out).values()))
    assert priced["models"]["gpt-5.4:chat"]["cost_usd"] == pytest.approx(priced["cost_usd"])
    assert "budget" not in priced
    done = crazycall(tmp_path, *args, "--max-cost", "0.0000001", env=env)
    assert done.returncode == 7, done.stderr
    report = json.loads(done.stdout)
    assert report["total"] == 1 and len(rows(out)) == 1
    assert report["budget"]["not_started"] == 4 and report["budget"]["spent_usd"] > 0
    assert report["error"]["type"] == "budget_exceeded"
    assert report["budget"]["spent_usd"] == pytest.approx(report["cost_usd"])
    assert done.stderr.splitlines()[-1].startswith("crazycall: error: --max-cost 1e-07 reached")
    resumed = crazycall(tmp_path, *args[:-2], "--out", str(out), "--resume", env=env)
    assert resumed.returncode == 0 and len(rows(out)) == 5
    one = ["--concurrency", "1", "--max-cost", "1e-7"]
    text = crazycall(tmp_path, "eval", "cases.yaml", "--offline", "--no-transcript", *one, env=env)
    assert text.returncode == 7
    assert "of --max-cost 1e-07 spent; 4 conversations not started" in text.stdout


def test_max_cost_without_a_price_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(BUDGET)
    env = _config(tmp_path, 'prices:\n  "claude-*": {input: 3, output: 15}\n')
    done = crazycall(tmp_path, "eval", "cases.yaml", "--offline", "--max-cost", "1", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("crazycall: error: --max-cost needs a price for model 'gpt-5.4'")


def test_record_into_a_path_that_is_a_file_is_one_usage_error(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(CHANGING.replace("TEMP", "21"))
    (tmp_path / "taken").write_text("a file")
    done = crazycall(tmp_path, "eval", "cases.yaml", "--offline", "--record", "taken/sub")
    assert done.returncode == 2
    assert done.stderr.startswith("crazycall: error: --record taken/sub: cannot create the directory")
    assert len(done.stderr.strip().splitlines()) == 1
    both = crazycall(tmp_path, "eval", "cases.yaml", "--record", "a", "--replay", str(tmp_path))
    assert both.returncode == 2 and "--record and --replay cannot be combined" in both.stderr
    tools = crazycall(tmp_path, "eval", "cases.yaml", "--offline", "--replay-tools")
    assert tools.returncode == 2 and "--replay-tools needs --replay DIR" in tools.stderr

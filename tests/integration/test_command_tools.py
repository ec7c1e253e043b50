"""Command tools through the real CLI: ``tools list``/``call`` and ``ask --offline`` against the offline router,
with arguments that a shell would mangle, failures, timeouts, a missing program and large output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import KEY, cli, json_out

PY = json.dumps(sys.executable)
TOOLS = f"""\
tools:
  shout_text:
    description: Print the text's argv item back, upper-cased, as JSON.
    command:
      - {PY}
      - -c
      - "import json, sys; print(json.dumps({{'argv': sys.argv[1:], 'upper': sys.argv[1].upper()}}))"
      - "{{text}}"
  broken_lookup:
    description: Always fails.
    command: [{PY}, -c, "import sys; print('partial'); print('lookup failed: no index', file=sys.stderr); sys.exit(4)"]
  stuck_job:
    description: Never finishes.
    command: [{PY}, -c, "import time; time.sleep(60)"]
    timeout: 1
  ghost_program:
    description: Its program is not installed.
    command: [crazycall-no-such-program, --help]
  flood_output:
    description: Prints 300000 characters.
    command: [{PY}, -c, "print('y' * 300000)"]
"""


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tools.yaml").write_text(TOOLS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    return tmp_path


def ask_json(prompt: str, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli("ask", "--offline", "--json", "--no-transcript", *args, prompt)
    return code, json_out(out, err)


def test_tools_list_shows_command_tools() -> None:
    code, out, err = cli("tools", "list", "--json")
    assert (code, err) == (0, "")
    listed = json.loads(out)
    assert [(t["name"], t["kind"], t["source"], t["timeout"]) for t in listed] == [
        ("shout_text", "command", "tools.yaml:2", None),
        ("broken_lookup", "command", "tools.yaml:9", None),
        ("stuck_job", "command", "tools.yaml:12", 1.0),
        ("ghost_program", "command", "tools.yaml:16", None),
        ("flood_output", "command", "tools.yaml:19", None),
    ]
    assert listed[0]["parameters"] == {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    }
    code, out, _ = cli("tools", "list")
    rows = [line.split("\t") for line in out.splitlines()]  # not a terminal: tab-separated
    assert rows[0][:3] == ["shout_text", "text: string", "tools.yaml:2 (command)"]


def test_tools_call_passes_what_a_shell_would_mangle_literally() -> None:
    text = 'it\'s "x"; echo $(whoami) `id` > /tmp/f\nnext line'
    code, out, err = cli("tools", "call", "shout_text", json.dumps({"text": text}))
    assert (code, err) == (0, "")
    assert json.loads(out) == {"argv": [text], "upper": text.upper()}


def test_tools_call_reports_a_failing_command() -> None:
    code, out, err = cli("tools", "call", "broken_lookup", "{}")
    assert (code, out) == (8, "")
    reason = f"{sys.executable} exited with status 4; stderr: lookup failed: no index"
    assert err == f"crazycall: error: tool broken_lookup failed: {reason}\n"


def test_ask_gets_results_and_error_results_and_goes_on() -> None:
    code, data = ask_json("Shout the text about big news, do the broken lookup and call the ghost program")
    assert code == 0, data
    calls = {c["name"]: (c["arguments"], c["result"], c["is_error"]) for c in data["tool_calls"]}
    assert calls == {
        "shout_text": ({"text": "big news"}, {"argv": ["big news"], "upper": "BIG NEWS"}, False),
        "broken_lookup": ({}, f"{sys.executable} exited with status 4; stderr:\nlookup failed: no index", True),
        "ghost_program": ({}, "command not found: 'crazycall-no-such-program' is not on PATH", True),
    }
    assert data["turns"] == 2
    code, data = ask_json("Do the broken lookup", "--fail-on-tool-error")
    assert code == 8 and data["tool_calls"][0]["is_error"] is True


def test_ask_kills_a_command_at_its_timeout() -> None:
    code, data = ask_json("Run the stuck job")
    assert code == 0, data
    (call,) = data["tool_calls"]
    assert (call["name"], call["result"], call["is_error"]) == (
        "stuck_job",
        f"command timed out after 1 s and was killed: {sys.executable}",
        True,
    )
    assert call["duration_ms"] < 30000


def test_large_output_reaches_the_model_cut_to_the_result_limit() -> None:
    with OfflineRouter(api_key=KEY) as router:
        code, out, err = cli("ask", "--base-url", router.url, "--api-key", KEY, "--json", "--no-transcript", "Flood it")
        assert code == 0, err
        sent = router.requests[-1].body["messages"][-1]  # the Chat Completions tool message (PROTOCOLS.md §1.3)
    limit = 64 * 1024
    assert sent["role"] == "tool"
    assert sent["content"] == "y" * limit + f"\n[truncated: {300000 - limit} more characters of 300000 were cut]"
    (call,) = json.loads(out)["tool_calls"]
    assert call["result"] == "y" * 300000  # --json reports what the tool returned

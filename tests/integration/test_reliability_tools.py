"""A broken tool cannot break the run: timeouts, exceptions, odd return values, huge results, prints.

Each tool lives in a plugin file written by the test; the offline router calls the tool the prompt names (one
word each, so that a prompt names exactly one).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import KEY, MODELS, Outcome, invoke

PLUGIN = '''
import sys
import time

import crazycall


@crazycall.tool
def slumber() -> str:
    """Sleeps far longer than any timeout."""
    time.sleep(10)
    return "late"


@crazycall.tool
def detonate() -> str:
    """Always raises."""
    raise RuntimeError("kaboom in the tool")


class Opaque:
    def __str__(self) -> str:
        return "<opaque thing 42>"


@crazycall.tool
def enigma() -> dict:
    """Returns something json cannot serialise."""
    return {"thing": Opaque(), "when": {1, 2}.__class__}


@crazycall.tool
def avalanche() -> str:
    """Returns 100 000 characters."""
    return "x" * 100_000


@crazycall.tool
def gossip() -> str:
    """Prints to stdout and stderr while it works."""
    print("hello from the tool")
    sys.stderr.write("a warning from the tool\\n")
    return "done"
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no tools.yaml or plugins/ from the repository: only the probes
    path = tmp_path / "probes.py"
    path.write_text(PLUGIN, encoding="utf-8")
    return path


def ask_tool(router: OfflineRouter, plugin: Path, tool: str, *args: str, protocol: str = "chat") -> Outcome:
    model, flag = MODELS[protocol]
    base = ["ask", "--base-url", router.url, "--api-key", KEY, "--plugins", str(plugin), "-m", model, "-p", flag]
    return invoke(*base, *args, f"Please run {tool} now")


@pytest.mark.parametrize("protocol", list(MODELS))
def test_a_tool_timeout_is_an_error_result_and_the_run_continues(
    router: OfflineRouter, plugin: Path, protocol: str
) -> None:
    outcome = ask_tool(router, plugin, "slumber", "--json", "--tool-timeout", "0.3", protocol=protocol)
    assert outcome.code == 0, outcome.stderr
    call = outcome.data["tool_calls"][0]
    assert (call["name"], call["is_error"], call["result"]) == (
        "slumber",
        True,
        "tool slumber timed out after 0.3 s",
    )
    assert outcome.data["turns"] == 2
    assert "timed out after 0.3 s" in json.dumps(router.requests[1].body)  # the model was told


def test_a_tool_exception_is_type_and_message_without_traceback(router: OfflineRouter, plugin: Path) -> None:
    outcome = ask_tool(router, plugin, "detonate", "--json")
    assert outcome.code == 0, outcome.stderr
    call = outcome.data["tool_calls"][0]
    assert call["is_error"] is True
    assert call["result"] == "RuntimeError: kaboom in the tool"
    assert "Traceback" not in outcome.stdout + outcome.stderr


def test_verbose_shows_the_tools_traceback_to_the_user_only(router: OfflineRouter, plugin: Path) -> None:
    outcome = ask_tool(router, plugin, "detonate", "--json", "--verbose")
    assert outcome.code == 0, outcome.stderr
    assert outcome.data["tool_calls"][0]["result"] == "RuntimeError: kaboom in the tool"  # the model's line
    assert "Traceback (most recent call last):" in outcome.stderr
    assert 'raise RuntimeError("kaboom in the tool")' in outcome.stderr


def test_a_result_json_cannot_serialise_is_converted_with_str(router: OfflineRouter, plugin: Path) -> None:
    outcome = ask_tool(router, plugin, "enigma", "--json")
    assert outcome.code == 0, outcome.stderr
    call = outcome.data["tool_calls"][0]
    assert call["is_error"] is False
    sent = router.requests[1].body["messages"][-1]["content"]
    assert sent == json.dumps({"thing": "<opaque thing 42>", "when": "<class 'set'>"}, ensure_ascii=False)


def test_a_huge_result_is_truncated_with_a_marker(router: OfflineRouter, plugin: Path) -> None:
    outcome = ask_tool(router, plugin, "avalanche", "--json")
    assert outcome.code == 0, outcome.stderr
    sent = router.requests[1].body["messages"][-1]["content"]
    limit = 64 * 1024
    assert sent[:limit] == "x" * limit
    assert sent[limit:] == f"\n[truncated: {100_000 - limit} more characters of 100000 were cut]"


@pytest.mark.parametrize("output", ["json", "jsonl"])
def test_tool_prints_never_reach_machine_readable_stdout(router: OfflineRouter, plugin: Path, output: str) -> None:
    args = ["--json"] if output == "json" else ["-o", "jsonl"]
    outcome = ask_tool(router, plugin, "gossip", *args)
    assert outcome.code == 0, outcome.stderr
    assert "hello from the tool" not in outcome.stdout
    assert "a warning from the tool" not in outcome.stdout + outcome.stderr
    for line in outcome.stdout.splitlines():
        json.loads(line)  # every line is still JSON


def test_tool_prints_are_shown_with_the_result(router: OfflineRouter, plugin: Path) -> None:
    outcome = ask_tool(router, plugin, "gossip", "-o", "plain")
    assert outcome.code == 0, outcome.stderr
    shown = outcome.stdout + outcome.stderr
    assert "hello from the tool" in shown
    assert "a warning from the tool" in shown

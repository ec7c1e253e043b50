"""The API key never shows: every failure path, every protocol, --json and plain, --verbose tracebacks included.

The fake key is recognisable (``MARK`` is a substring no message could produce by chance); each run is checked
in its stdout, stderr and transcript. Faults make the router echo the key back in error bodies and garbage,
the way careless providers and proxies do, so the masking itself is exercised, not just the absence of the key.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import MODELS, REPO, WEATHER, Outcome, invoke

MARK = "ZQXJ7SECRETMARK"
KEY = f"sk-{MARK}-0042"
ECHO = {
    "chat": {"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error"}},
    "responses": {"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error"}},
    "messages": {"type": "error", "error": {"type": "authentication_error", "message": f"bad key {KEY}"}},
    "gemini": {"error": {"code": 400, "message": f"API key not valid: key={KEY}", "status": "INVALID_ARGUMENT"}},
}

FAULTS: dict[str, list[Fault | str]] = {
    "http401_echoing_the_key": [],  # filled per protocol from ECHO
    "http500_exhausted": [Fault(status=500, headers={"retry-after-ms": "0"})] * 2,
    "http429_exhausted": [Fault(status=429, headers={"retry-after": "0"})] * 2,
    "garbage_body_with_the_key": [Fault(body=f"<html>proxy error: key={KEY} Bearer {KEY}</html>")] * 2,
    "garbage_stream": ["garbage"],
    "cut_stream": ["cut"] * 2,
    "deadline": [Fault(delay=1.5)],
    "repeated_calls": [Fault(), "repeat", "repeat"],
    "bad_arguments": ["args_not_json"],
}


@pytest.fixture
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter() as running:  # any key is accepted: the key under test must reach the wire
        yield running


def assert_nowhere(outcome: Outcome, home: Path) -> None:
    transcripts = home / "data" / "crazycall" / "transcripts"
    written = (
        "".join(p.read_text(encoding="utf-8") for p in transcripts.glob("*.jsonl")) if transcripts.exists() else ""
    )
    for where, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr), ("transcript", written)):
        assert MARK not in text, f"the key leaked into {where}: {text[:2000]}"


def run(router: OfflineRouter, protocol: str, *args: str) -> Outcome:
    model, flag = MODELS[protocol]
    base = ["ask", "--base-url", router.url, "-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]
    return invoke(*base, "-m", model, "-p", flag, *args, env={"CRAZYROUTER_API_KEY": KEY})


@pytest.mark.parametrize("output", [["--json"], ["-o", "plain", "--verbose"], ["-o", "jsonl", "--no-stream"]])
@pytest.mark.parametrize("protocol", list(MODELS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_key_appears_nowhere(
    router: OfflineRouter, clean_env: Path, fault: str, protocol: str, output: list[str]
) -> None:
    script = FAULTS[fault] or [Fault(status=401 if protocol != "gemini" else 400, body=json.dumps(ECHO[protocol]))]
    router.script(*script)
    extra = ["--timeout", "0.5"] if fault == "deadline" else []
    outcome = run(router, protocol, *output, *extra, "--max-retries", "1", WEATHER)  # one retry: its record too
    assert outcome.code != 0 or fault == "bad_arguments", outcome.stderr
    assert "Traceback" not in outcome.stderr or "--verbose" in output
    assert_nowhere(outcome, clean_env)
    assert router.pending_faults() < len(script)  # the fault was really served


@pytest.mark.parametrize("protocol", list(MODELS))
def test_the_key_is_on_the_wire_where_the_protocol_puts_it(router: OfflineRouter, protocol: str) -> None:
    before = len(router.requests)
    assert run(router, protocol, "--json", "--no-transcript", WEATHER).code == 0
    sent = router.requests[before]
    where = {
        "chat": sent.headers.get("authorization"),
        "responses": sent.headers.get("authorization"),
        "messages": sent.headers.get("x-api-key"),
        "gemini": sent.query.get("key"),
    }[protocol]
    assert where in (KEY, f"Bearer {KEY}")  # so the tests above hide a key that really was in play


def test_a_verbose_connection_failure_in_a_fresh_process(tmp_path: Path) -> None:
    """Gemini's ?key= in the URL, httpx's own error, the --verbose traceback, and no key remembered earlier."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRAZY")}
    env.update(CRAZYROUTER_API_KEY=KEY, XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "c"))
    args = [sys.executable, "-m", "crazycall", "ask", "--base-url", f"http://127.0.0.1:{port}", "-m", "gemini-2.5-pro"]
    args += ["--verbose", "--json", "--max-retries", "0", "--tools", str(REPO / "tools.yaml"), WEATHER]
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 5, done.stderr
    assert "Traceback (most recent call last)" in done.stderr  # --verbose did print one
    assert "ConnectError" in done.stderr
    transcripts = list((tmp_path / "data").rglob("*.jsonl"))
    assert len(transcripts) == 1
    for text in (done.stdout, done.stderr, transcripts[0].read_text(encoding="utf-8")):
        assert MARK not in text


def test_config_show_and_logs_never_show_the_key(router: OfflineRouter, clean_env: Path) -> None:
    assert run(router, "gemini", "--json", WEATHER).code == 0
    shown = [invoke("config", "show", env={"CRAZYROUTER_API_KEY": KEY}), invoke("logs"), invoke("logs", "--json")]
    run_id = json.loads(shown[2].stdout)[0]["id"]
    shown += [invoke("logs", "show", run_id), invoke("logs", "show", run_id, "--json")]
    for outcome in shown:
        assert outcome.code == 0
        assert MARK not in outcome.stdout + outcome.stderr


LEAKY = '''
import os
import crazycall


@crazycall.tool
def divulge() -> dict:
    """Returns and prints the environment's key, as a careless tool might."""
    key = os.environ["CRAZYROUTER_API_KEY"]
    print("debug:", key)
    return {"found": key, "nested": [f"Bearer {key}"]}
'''


@pytest.mark.parametrize("output", [["--json"], ["-o", "plain"], ["-o", "jsonl"]])
def test_a_tool_that_returns_the_key_does_not_leak_it(
    router: OfflineRouter, clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leaky.py").write_text(LEAKY, encoding="utf-8")
    base = ["ask", "--base-url", router.url, "--plugins", "leaky.py", *output, "Please divulge"]
    outcome = invoke(*base, env={"CRAZYROUTER_API_KEY": KEY})
    assert outcome.code == 0, outcome.stderr
    assert "***" in outcome.stdout + outcome.stderr  # the result was shown, masked
    assert_nowhere(outcome, clean_env)
    assert MARK not in json.dumps(router.requests[1].body)  # nor sent to the model

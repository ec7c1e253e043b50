"""What the integration tests share: the repository's paths, a test key, the model per protocol, a fresh offline
router per test, and the ways to run the CLI (in process through Typer's CliRunner, or as a real subprocess).

Test modules import the constants and helpers (``from tests.integration.conftest import KEY, ask``); the
``router`` fixture is found by pytest. A module that needs a different router (no key, module scope, faults)
defines its own ``router`` fixture, which overrides this one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-reliability-test-0001"
#: the example tools and plugins, as ``ask`` flags
TOOLS = ["-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]

#: protocol -> (model, --protocol value): one model the router answers in each wire protocol
MODELS = {
    "chat": ("gpt-4o", "auto"),
    "responses": ("gpt-5.4", "responses"),
    "messages": ("claude-sonnet-4-6", "auto"),
    "gemini": ("gemini-3-pro", "auto"),
}
PROTOCOLS = list(MODELS)
STREAMS = [True, False]
WEATHER = "What is the weather in Paris?"
CHAINED = "Tell me the weather in Paris, then the time in Europe/Paris"
#: a fault that fails fast: a 503 whose retry-after-ms says "now" (the backoff rules have their own tests)
FAST_503 = Fault(status=503, headers={"retry-after-ms": "0"})


@pytest.fixture
def router() -> Iterator[OfflineRouter]:
    """A fresh offline router on 127.0.0.1:0 that accepts only ``KEY``."""
    with OfflineRouter(api_key=KEY) as running:
        yield running


# ---------------------------------------------------------------- in process (CliRunner)


def json_out(stdout: str, stderr: str) -> Any:
    """stdout parsed as the one JSON document a ``--json`` run prints, or a failure that shows both streams."""
    try:
        return json.loads(stdout)
    except ValueError:
        pytest.fail(f"stdout is not one JSON document: {stdout!r} stderr: {stderr!r}")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def data(self) -> dict[str, Any]:
        value = json_out(self.stdout, self.stderr)
        assert isinstance(value, dict)
        return value

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("crazycall: error: ")]


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``crazycall ARGS`` in process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, list(args), input=input, env=env)
    return result.exit_code, result.stdout, result.stderr


def invoke(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """Like ``cli``, and an exception escaping the CLI is raised here: exactly what these tests forbid."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def ask(router: OfflineRouter, protocol: str, *args: str, key: str = KEY, stream: bool = True) -> Outcome:
    """``crazycall ask --json`` against ``router`` with the example tools, for one protocol."""
    model, flag = MODELS[protocol]
    base = ["ask", "--base-url", router.url, "--api-key", key, *TOOLS, "--json", "-m", model, "-p", flag]
    base.append("--stream" if stream else "--no-stream")
    return invoke(*base, *args)


def assert_clean_failure(outcome: Outcome, code: int) -> str:
    """The run failed with ``code``, one error line and no traceback; returns the line's message."""
    assert outcome.code == code, (outcome.stdout, outcome.stderr)
    assert "Traceback" not in outcome.stderr
    assert len(outcome.error_lines) == 1, outcome.stderr
    assert outcome.data["error"]["exit_code"] == code
    return outcome.error_lines[0].removeprefix("crazycall: error: ")


# ---------------------------------------------------------------- in a subprocess


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m crazycall ARGS`` in the test's clean environment, stdout and stderr piped; stdin is ``input``
    through a pipe, or empty (never the test runner's own stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "crazycall", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Canned:
    """One answer the hostile server gives to every request: status, headers, body (already encoded)."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hangs up early (as crazycall should) is no error worth a traceback here


class HostileServer:
    """A tiny HTTP/1.1 server on 127.0.0.1:0 that answers every POST with ``canned`` and counts requests."""

    def __init__(self, canned: Canned) -> None:
        self.canned = canned
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                outer.requests += 1
                self.rfile.read(int(self.headers.get("content-length", "0")))
                answer = outer.canned
                self.send_response(answer.status)
                for name, value in {**answer.headers, "content-length": str(len(answer.body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(OSError):  # the client hung up once it had seen enough: as it should
                    self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

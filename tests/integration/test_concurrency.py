"""Many conversations in one process through the real CLI: one HTTP client shared by all of them (issue 13).

``crazycall smoke`` runs its cases on the process's one client for the router's base URL, so its connections
are reused from case to case (a client per case opened one connection each), never more than the
concurrency; and the transport errors split by kind keep the ``--json`` contract (``type`` and exit code).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.offline.server import OfflineRouter

KEY = "sk-test-concurrency-0001"
PROTOCOLS = ("chat", "responses", "messages", "gemini")


@pytest.fixture
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as running:
        yield running


def smoke_file(tmp_path: Path, cases: int) -> Path:
    lines = ["defaults: false", "cases:"]
    lines += [f"  - {{model: bench-{i}, protocol: {PROTOCOLS[i % 4]}}}" for i in range(cases)]
    path = tmp_path / "smoke.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def smoke(router: OfflineRouter, file: Path, concurrency: int) -> list[dict[str, Any]]:
    args = ["smoke", "--base-url", router.url, "--api-key", KEY, "--file", str(file), "--json"]
    result = CliRunner().invoke(app, [*args, "--concurrency", str(concurrency), "--round-trip"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def test_sequential_cases_share_one_connection(router: OfflineRouter, tmp_path: Path) -> None:
    results = smoke(router, smoke_file(tmp_path, 8), concurrency=1)
    assert [r["status"] for r in results] == ["pass"] * 8
    assert len(router.requests) == 16  # two turns each (--round-trip)
    assert router.connections == 1


def test_concurrent_cases_open_no_more_connections_than_the_concurrency(router: OfflineRouter, tmp_path: Path) -> None:
    results = smoke(router, smoke_file(tmp_path, 16), concurrency=4)
    assert [r["status"] for r in results] == ["pass"] * 16
    assert 1 <= router.connections <= 4


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.mark.parametrize("fault", ["refused", "cut"])
def test_transport_errors_by_kind_keep_the_json_contract(router: OfflineRouter, fault: str) -> None:
    url = f"http://127.0.0.1:{free_port()}" if fault == "refused" else router.url
    router.script(*["cut"] * 3)
    args = ["ask", "--base-url", url, "--api-key", KEY, "-m", "gpt-4o", "--json", "--max-retries", "0", "hi"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 5, (result.stdout, result.stderr)
    error = json.loads(result.stdout)["error"]
    assert (error["type"], error["exit_code"]) == ("transport_error", 5)
    assert "Traceback" not in result.stderr

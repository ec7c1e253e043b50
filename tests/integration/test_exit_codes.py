"""Every exit code of ``crazycall ask``, each caused the way it happens for real and checked through the CLI.

Subprocesses for everything a process can do to itself (the exit status is the real one); the offline router
runs in this test process on 127.0.0.1 with a fault where a provider or the network has to misbehave. Exit 1
(an unexpected error) cannot be caused from outside on purpose, so that one test breaks a function in-process
and drives the CLI with typer's CliRunner. Exit 130 needs a terminal and Ctrl-C: see test_pty.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import crazycall.loop
from crazycall.cli import app
from crazycall.errors import (
    EXIT_CONFIG,
    EXIT_MAX_TURNS,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_PROVIDER,
    EXIT_TOOL_ERROR,
    EXIT_TRANSPORT,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
)
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import KEY, TOOLS, run_cli
from tests.integration.test_output_modes import PROMPT

BROKEN_TOOL = '''
import crazycall


@crazycall.tool
def check_disk(path: str) -> str:
    """Check a disk."""
    raise OSError(f"no such device: {path}")
'''


@pytest.fixture(scope="module")
def faulty() -> Iterator[dict[str, OfflineRouter]]:
    """One router per fault mode, every protocol faulty."""
    modes = ("http401", "http500", "cut", "garbage")
    routers = {mode: OfflineRouter(api_key=KEY, faults={"*": mode}).start() for mode in modes}
    yield routers
    for router in routers.values():
        router.stop()


def ask_router(cwd: Path, router: OfflineRouter, *args: str) -> Any:
    return run_cli(cwd, "ask", "--base-url", router.url, "--api-key", KEY, "--max-retries", "0", *TOOLS, *args, PROMPT)


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("crazycall: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    assert "Traceback" not in stderr
    return errors[0].removeprefix("crazycall: error: ")


def json_error(stdout: str) -> dict[str, Any]:
    data = json.loads(stdout)
    assert stdout.count("\n") == 1
    error: dict[str, Any] = data["error"]
    return error


def test_0_ok(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "--offline", *TOOLS, PROMPT)
    assert done.returncode == EXIT_OK == 0
    assert "crazycall: error" not in done.stderr


def test_1_unexpected_error_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the loop broke")

    monkeypatch.setattr(crazycall.loop, "run", broken)
    result = CliRunner().invoke(app, ["ask", "--offline", *TOOLS, "--json", PROMPT])
    assert result.exit_code == EXIT_UNEXPECTED == 1
    assert result.stderr == "crazycall: error: unexpected RuntimeError: the loop broke\n"
    assert json_error(result.stdout) == {
        "type": "error",
        "message": "unexpected RuntimeError: the loop broke",
        "exit_code": 1,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "yaml"], "unknown output mode 'yaml'; choose one of: auto, rich, plain, json, jsonl"),
        (["--protocol", "smoke-signals"], None),
    ],
)
def test_2_usage(tmp_path: Path, args: list[str], message: str | None) -> None:
    done = run_cli(tmp_path, "ask", "--offline", *args, PROMPT)
    assert done.returncode == EXIT_USAGE == 2
    line = one_error_line(done.stderr)
    if message is not None:
        assert line == message
    else:
        assert "smoke-signals" in line


def test_2_usage_for_a_flag_that_does_not_exist(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "--offline", "--zqxwv", PROMPT)
    assert done.returncode == EXIT_USAGE
    assert one_error_line(done.stderr) == "no such option --zqxwv"


def test_2_usage_without_an_api_key(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", PROMPT)
    assert done.returncode == EXIT_USAGE
    assert one_error_line(done.stderr).startswith("no API key: set CRAZYROUTER_API_KEY")


def test_3_config(tmp_path: Path) -> None:
    bad = tmp_path / "tools.yaml"
    bad.write_text("get_weather:\n  description: [unclosed\n", encoding="utf-8")
    done = run_cli(tmp_path, "ask", "--offline", "-t", str(bad), "--json", PROMPT)
    assert done.returncode == EXIT_CONFIG == 3
    assert "tools.yaml" in one_error_line(done.stderr)
    assert json_error(done.stdout)["exit_code"] == 3


@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [("http401", "authentication_error", "HTTP 401"), ("http500", "server_error", "HTTP 500")],
)
def test_4_provider(tmp_path: Path, faulty: dict[str, OfflineRouter], fault: str, kind: str, status: str) -> None:
    done = ask_router(tmp_path, faulty[fault], "--json")
    assert done.returncode == EXIT_PROVIDER == 4
    line = one_error_line(done.stderr)
    assert line.startswith(f"chat /v1/chat/completions: {status} ")
    assert KEY not in done.stderr + done.stdout
    assert json_error(done.stdout) == {"type": kind, "message": line, "exit_code": 4}


def test_5_transport_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_cli(
        tmp_path, "ask", "--base-url", f"http://127.0.0.1:{port}", "--api-key", KEY, "--max-retries", "0", PROMPT
    )
    assert done.returncode == EXIT_TRANSPORT == 5
    assert "Connection refused" in one_error_line(done.stderr)


def test_5_transport_stream_cut_short(tmp_path: Path, faulty: dict[str, OfflineRouter]) -> None:
    done = ask_router(tmp_path, faulty["cut"], "-o", "jsonl")
    assert done.returncode == EXIT_TRANSPORT
    last = json.loads(done.stdout.splitlines()[-1])
    assert (last["event"], last["type"], last["exit_code"]) == ("error", "transport_error", 5)
    assert last["message"] == one_error_line(done.stderr)


def test_6_protocol_garbage(tmp_path: Path, faulty: dict[str, OfflineRouter]) -> None:
    done = ask_router(tmp_path, faulty["garbage"])
    assert done.returncode == EXIT_PROTOCOL == 6
    assert one_error_line(done.stderr) == "chat: stream data is not JSON: 'this is not JSON {'"
    assert done.stdout == ""


def test_7_max_turns(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "--offline", *TOOLS, "--max-turns", "1", "--json", PROMPT)
    assert done.returncode == EXIT_MAX_TURNS == 7
    assert one_error_line(done.stderr).startswith("stopped after 1 turns (--max-turns)")
    data = json.loads(done.stdout)
    assert data["error"]["type"] == "max_turns" and data["turns"] == 1


def _broken_plugin(tmp_path: Path) -> Path:
    folder = tmp_path / "broken_plugins"
    folder.mkdir()
    (folder / "disk.py").write_text(BROKEN_TOOL, encoding="utf-8")
    return folder


def test_8_fail_on_tool_error(tmp_path: Path) -> None:
    plugins = _broken_plugin(tmp_path)
    prompt = "Check the disk /dev/sda"
    done = run_cli(tmp_path, "ask", "--offline", "--plugins", str(plugins), "--fail-on-tool-error", "--json", prompt)
    assert done.returncode == EXIT_TOOL_ERROR == 8
    assert one_error_line(done.stderr) == "tool call(s) ended in error: check_disk (--fail-on-tool-error)"
    data = json.loads(done.stdout)
    assert data["tool_calls"][0]["is_error"] is True
    assert data["tool_calls"][0]["result"].startswith("OSError: no such device:")
    assert data["error"] == {
        "type": "tool_error",
        "message": "tool call(s) ended in error: check_disk (--fail-on-tool-error)",
        "exit_code": 8,
    }


def test_8_only_with_the_flag(tmp_path: Path) -> None:
    plugins = _broken_plugin(tmp_path)
    done = run_cli(tmp_path, "ask", "--offline", "--plugins", str(plugins), "Check the disk /dev/sda")
    assert done.returncode == EXIT_OK
    assert "tool check_disk error in" in done.stderr

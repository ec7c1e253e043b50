"""``crazycall offline-router``: a real subprocess on port 0, and the flag checks in-process."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.commands.offline import parse_faults
from crazycall.errors import UsageError

from .support import BEARER, CHAT, post

LISTENING = re.compile(r"^crazycall offline router listening on (http://127\.0\.0\.1:(\d+))$")


def _first_line(process: subprocess.Popen[str], timeout: float = 20) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(timeout)
    assert box, "the router printed no line in time"
    return box[0].rstrip("\n")


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    command = [sys.executable, "-m", "crazycall", "offline-router", "--port", "0", "--api-key", "k"]
    command += ["--fault", "gemini=http500", "--fault", "*=text"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            match = LISTENING.match(_first_line(process))
            assert match, "unexpected first line"
            yield process, match.group(1)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_subprocess_serves_until_stopped(served: tuple[subprocess.Popen[str], str], stop: int) -> None:
    process, url = served
    body = {"model": "m", "messages": [{"role": "user", "content": "weather"}], "tools": []}
    with httpx.Client(base_url=url) as client:
        ok = post(client, CHAT, body, {"Authorization": "Bearer k"})
        assert ok.status_code == 200
        assert ok.json()["choices"][0]["message"]["content"] == 'Offline router: you said "weather"'
        assert post(client, CHAT, body, BEARER).status_code == 401  # --api-key k
        gemini = post(client, "/v1beta/models/g:generateContent", {"contents": []}, params={"key": "k"})
        assert gemini.status_code == 500  # --fault gemini=http500
    process.send_signal(stop)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in err


def test_parse_faults() -> None:
    assert parse_faults(["chat=cut", " * = http429 "]) == {"chat": "cut", "*": "http429"}
    with pytest.raises(UsageError, match="expected PROTOCOL=MODE"):
        parse_faults(["cut"])
    with pytest.raises(UsageError, match="expected PROTOCOL=MODE"):
        parse_faults(["grpc=cut"])
    with pytest.raises(UsageError, match="unknown mode 'boom'"):
        parse_faults(["chat=boom"])


def test_bad_fault_flag_exits_2() -> None:
    result = CliRunner().invoke(app, ["offline-router", "--fault", "chat=boom"])
    assert result.exit_code == 2
    assert "crazycall: error: --fault 'chat=boom': unknown mode 'boom'" in result.output


def test_busy_port_exits_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["offline-router", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output

"""Where the prompt comes from: the argument, or stdin when it is '-' or absent and stdin is not a terminal."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integration.conftest import REPO, run_cli


def run(args: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    return run_cli(REPO, "ask", "--offline", "--no-transcript", "--json", *args, input=stdin)


@pytest.mark.parametrize("args", [[], ["-"]])
def test_prompt_is_read_from_a_pipe(args: list[str]) -> None:
    done = run(args, "What is the weather in Beijing?\n")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [c["name"] for c in data["tool_calls"]] == ["get_weather"]
    assert data["tool_calls"][0]["arguments"]["city"] == "Beijing"


def test_the_argument_wins_over_stdin() -> None:
    done = run(["What time is it in Asia/Tokyo?"], "What is the weather in Beijing?")
    assert done.returncode == 0, done.stderr
    assert [c["name"] for c in json.loads(done.stdout)["tool_calls"]] == ["get_time"]


@pytest.mark.parametrize("stdin", [None, "   \n"])
def test_an_empty_stdin_is_a_usage_error(stdin: str | None) -> None:
    done = run([], stdin)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "crazycall: error: the prompt read from stdin is empty"
    # refused before a run starts, like a bad flag: --json still gets its one object
    assert json.loads(done.stdout)["error"]["type"] == "usage_error"

"""Approval end to end, the real CLI in a subprocess: without a terminal nothing waits (stdin closed, a pipe,
/dev/null, ``--json`` at a terminal) and the call is declined with a result the model and ``--json`` see; at a
pseudo-terminal (pexpect) the user answers yes once / yes for this run / no; ``--approve``, ``--yes``,
``--allow-tools`` and ``--deny-tools``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

PY = json.dumps(sys.executable)
TOOLS = f"""\
wipe_disk:
  description: Wipe the disk (a marker file).
  command: [{PY}, -c, "open('wiped', 'a').write('x'); print('disk wiped')"]
  confirm: true
read_inbox:
  description: Read the inbox.
  command: [{PY}, -c, "print('note 1')"]
"""
PROMPT = "Please wipe the disk"
NOT_PERMITTED = (
    "not permitted: tool wipe_disk needs the user's confirmation and this run cannot ask for it (no interactive "
    "terminal), so it was not run. The user can allow it with --approve wipe_disk or --yes; do not call it again "
    "in this run."
)
USER_DECLINED = (
    "the user declined: tool wipe_disk was not run. Do not call it again unless the user asks; continue without "
    "its result."
)
RUN_TIMEOUT = 60  # a hang waiting for input fails the test here


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "tools.yaml").write_text(TOOLS, encoding="utf-8")
    return tmp_path


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(extra)
    return env


def run_cli(cwd: Path, *args: str, shell_stdin: str | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "crazycall", "ask", "--offline", "--no-transcript", *args]
    if shell_stdin is not None:  # e.g. "<&-": the child starts with stdin closed
        quoted = " ".join(json.dumps(part) for part in command)
        return subprocess.run(
            ["sh", "-c", f"exec {quoted} {shell_stdin}"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            env=child_env(),
        )
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=child_env(), **kwargs
    )


def tool_calls(done: subprocess.CompletedProcess[str]) -> list[tuple[str, Any, bool]]:
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return [(c["name"], c["result"], c["is_error"]) for c in data["tool_calls"]]


@pytest.mark.parametrize(
    "stdin",
    [
        pytest.param({"shell_stdin": "<&-"}, id="stdin-closed"),
        pytest.param({"input": "y\ny\n"}, id="stdin-a-pipe-saying-yes"),
        pytest.param({"stdin": subprocess.DEVNULL}, id="stdin-devnull"),
    ],
)
def test_without_a_terminal_the_call_is_declined_at_once(project: Path, stdin: dict[str, Any]) -> None:
    done = run_cli(project, "--json", PROMPT, **stdin)
    assert tool_calls(done) == [("wipe_disk", NOT_PERMITTED, True)]
    assert not (project / "wiped").exists()
    data = json.loads(done.stdout)
    assert data["turns"] == 2 and NOT_PERMITTED in data["text"]  # the run went on: the model read it and answered


def test_plain_output_to_a_pipe_declines_too(project: Path) -> None:
    done = run_cli(project, "-o", "plain", PROMPT, input="y\n")
    assert done.returncode == 0, done.stderr
    assert NOT_PERMITTED in done.stdout + done.stderr
    assert "Run it?" not in done.stdout + done.stderr
    assert not (project / "wiped").exists()


def test_the_prompt_can_come_from_stdin_and_the_tool_is_still_declined(project: Path) -> None:
    done = run_cli(project, "--json", "-", input=PROMPT)
    assert tool_calls(done) == [("wipe_disk", NOT_PERMITTED, True)]


@pytest.mark.parametrize("flags", [("--approve", "wipe_disk"), ("--yes",), ("-y",)])
def test_pre_approval_runs_the_tool_without_asking(project: Path, flags: tuple[str, ...]) -> None:
    done = run_cli(project, "--json", *flags, PROMPT, stdin=subprocess.DEVNULL)
    assert tool_calls(done) == [("wipe_disk", "disk wiped", False)]
    assert (project / "wiped").read_text() == "x"


def test_approving_another_tool_does_not_approve_this_one(project: Path) -> None:
    done = run_cli(project, "--json", "--approve", "read_inbox", PROMPT, stdin=subprocess.DEVNULL)
    assert tool_calls(done) == [("wipe_disk", NOT_PERMITTED, True)]


def test_approving_an_unknown_tool_is_a_usage_error(project: Path) -> None:
    done = run_cli(project, "--json", "--approve", "wipe_dis", PROMPT, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["message"] == (
        "--approve: unknown tool(s): wipe_dis (did you mean 'wipe_disk'?); known: wipe_disk, read_inbox"
    )


def test_allow_and_deny_decide_which_tools_are_offered(project: Path) -> None:
    denied = run_cli(project, "--json", "--deny-tools", "wipe_disk", "Wipe the disk and read the inbox")
    assert tool_calls(denied) == [("read_inbox", "note 1", False)]
    allowed = run_cli(project, "--json", "--allow-tools", "wipe_disk", "--yes", "Wipe the disk and read the inbox")
    assert tool_calls(allowed) == [("wipe_disk", "disk wiped", False)]


def test_the_json_marks_a_declined_call(project: Path) -> None:
    """The machine-readable marker (``"declined"`` on the tool call record; needs the loop/summary change)."""
    done = run_cli(project, "--json", PROMPT, stdin=subprocess.DEVNULL)
    (record,) = json.loads(done.stdout)["tool_calls"]
    assert (record["name"], record["is_error"], record["declined"]) == ("wipe_disk", True, "not_permitted")


# ---- at a pseudo-terminal ----


def spawn(cwd: Path, *args: str) -> pexpect.spawn:
    env = child_env(TERM="xterm-256color", NO_COLOR="1")
    return pexpect.spawn(
        sys.executable,
        ["-m", "crazycall", "ask", "--offline", "--no-transcript", *args],
        cwd=str(cwd),
        env=env,
        dimensions=(30, 120),
        encoding="utf-8",
        codec_errors="replace",
        timeout=RUN_TIMEOUT,
    )


def finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


@pytest.mark.parametrize("mode", ["plain", "auto"])
@pytest.mark.parametrize(("answer", "runs"), [("y", True), ("a", True), ("n", False), ("", False)])
def test_at_a_terminal_the_user_is_asked(project: Path, mode: str, answer: str, runs: bool) -> None:
    child = spawn(project, "-o", mode, PROMPT)
    child.expect_exact("Tool wipe_disk needs your approval. Arguments:")
    child.expect_exact("{}")
    child.expect_exact("Run it? [y] yes once, [a] yes for this run, [n] no (default): ")
    child.sendline(answer)
    rest = finish(child)
    assert (project / "wiped").exists() is runs
    if runs:
        assert "disk wiped" in rest
    else:
        assert "the user declined" in rest


def test_at_a_terminal_end_of_input_declines(project: Path) -> None:
    child = spawn(project, "-o", "plain", PROMPT)
    child.expect_exact("Run it?")
    child.sendeof()
    rest = finish(child)
    assert "the user declined" in rest and not (project / "wiped").exists()


def test_at_a_terminal_json_output_never_asks(project: Path) -> None:
    child = spawn(project, "--json", PROMPT)
    rest = finish(child)
    assert "Run it?" not in rest
    assert json.loads(rest.strip())["tool_calls"][0]["result"] == NOT_PERMITTED

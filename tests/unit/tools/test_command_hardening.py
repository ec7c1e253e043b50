"""Command tools against hostile arguments and process races: option injection, NUL bytes, exit codes that are
not errors, and process-group signals that must never reach a reaped (so possibly recycled) group id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from crazycall.errors import ConfigError
from crazycall.tools import processes
from crazycall.tools.loader import load_registry
from crazycall.tools.registry import Tool, ToolFailed

PY = json.dumps(sys.executable)
ARGV_SCRIPT = "import json, sys; print(json.dumps(sys.argv[1:]))"
posix_only = pytest.mark.skipif(not hasattr(os, "killpg") or not hasattr(os, "waitid"), reason="POSIX groups")


def load_tool(tmp_path: Path, yaml_text: str, name: str = "t") -> Tool:
    (tmp_path / "tools.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    tool = load_registry(cwd=tmp_path, entry_points=False).get(name)
    assert tool is not None
    return tool


def argv_tool(tmp_path: Path, items: str, extra: str = "") -> Tool:
    """``python -c ARGV_SCRIPT ITEMS``: returns the argv it got; ``extra`` is more YAML for the entry."""
    head = f"t:\n  command: [{PY}, -c, {json.dumps(ARGV_SCRIPT)}, {items}]\n"
    return load_tool(tmp_path, head + textwrap.indent(textwrap.dedent(extra), "  "))


def failure(tool: Tool, arguments: dict[str, Any]) -> str:
    with pytest.raises(ToolFailed) as info:
        tool(arguments, 10.0)
    return str(info.value)


def config_error(tmp_path: Path, yaml_text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_tool(tmp_path, yaml_text)
    return str(info.value)


# ---- option injection ----

OPTION_PARAMS = """\
parameters:
  type: object
  properties:
    path: {type: string}
    count: {type: integer}
    files: {type: array, items: {type: string}}
"""


@pytest.mark.parametrize(
    ("arguments", "name", "shown"),
    [
        ({"path": "-delete"}, "path", "-delete"),
        ({"path": "-rf"}, "path", "-rf"),
        ({"path": "--exec=rm -rf ~"}, "path", "--exec=rm -rf ~"),
        ({"path": "-"}, "path", "-"),
        ({"count": -5}, "count", "-5"),
        ({"files": ["ok.txt", "--output=/etc/passwd"]}, "files", "--output=/etc/passwd"),
    ],
)
def test_a_whole_item_value_cannot_become_an_option(
    tmp_path: Path, arguments: dict[str, Any], name: str, shown: str
) -> None:
    marker = tmp_path / "ran"
    script = f"open({str(marker)!r}, 'w').close()"
    command = f't:\n  command: [{PY}, -c, "{script}", "{{path}}", "{{count}}", "{{files...}}"]\n'
    tool = load_tool(tmp_path, command + textwrap.indent(OPTION_PARAMS, "  "))
    message = failure(tool, arguments)
    assert message.startswith(f"argument {name!r} must not start with '-' (got {shown!r}): the program would read")
    assert not marker.exists()  # refused before anything ran


def test_a_value_that_starts_an_item_is_checked_even_with_text_after_it(tmp_path: Path) -> None:
    tool = argv_tool(tmp_path, '"{a}{b}.txt"')
    assert tool({"a": "x", "b": "-y"}, 10.0) == ["x-y.txt"]
    assert failure(tool, {"a": "-x", "b": "y"}).startswith("argument 'a' must not start with '-' (got '-x')")
    assert failure(tool, {"a": "", "b": "-y"}).startswith("argument 'b' must not start with '-' (got '-y')")


def test_embedded_placeholders_and_text_before_the_dash_stay_literal(tmp_path: Path) -> None:
    tool = argv_tool(tmp_path, '"--regexp={pattern}", "{text}"')
    assert tool({"pattern": "-x", "text": " -x"}, 10.0) == ["--regexp=-x", " -x"]


def test_allow_options_lets_named_parameters_through(tmp_path: Path) -> None:
    tool = argv_tool(tmp_path, '"{flags...}", --, "{pattern}"', "allow_options: [flags]\n")
    assert tool({"flags": ["-i", "-n"], "pattern": "x"}, 10.0) == ["-i", "-n", "--", "x"]
    assert "argument 'pattern' must not start with '-'" in failure(tool, {"flags": [], "pattern": "-e"})
    everything = argv_tool(tmp_path, '"{flags...}", "{pattern}"', "allow_options: true\n")
    assert everything({"flags": ["-i"], "pattern": "-e"}, 10.0) == ["-i", "-e"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "allow_options: [pattern, flag]\n",
            "tools.yaml:2: tool 't': 'allow_options' names 'flag', which is not a parameter (parameters: pattern)",
        ),
        ("allow_options: yes please\n", "tools.yaml:2: tool 't': 'allow_options' must be a list of strings, got the "),
        ("allow_options: [{a: 1}]\n", "tools.yaml:2: tool 't': 'allow_options' item 0 must be a string, got {'a': 1}"),
    ],
)
def test_allow_options_is_checked_with_its_line(tmp_path: Path, extra: str, message: str) -> None:
    error = config_error(tmp_path, f't:\n  {extra}  command: [grep, "{{pattern}}"]\n')
    assert error.startswith(message)


def test_allow_options_belongs_to_command_tools(tmp_path: Path) -> None:
    message = config_error(tmp_path, "t:\n  function: m:f\n  allow_options: true\n")
    assert message == "tools.yaml:3: tool 't': 'allow_options' is only for tools with 'command:'"


# ---- values that cannot be argv items ----


def test_nul_and_unpaired_surrogates_are_refused_naming_the_parameter(tmp_path: Path) -> None:
    tool = argv_tool(tmp_path, '"{a}", "--b={b}"')
    nul = "argument {!r} contains a NUL character, which no command-line argument can hold"
    assert failure(tool, {"a": "x\0y", "b": "ok"}) == nul.format("a")
    assert failure(tool, {"a": "ok", "b": "\0"}) == nul.format("b")
    bad = "argument 'b' is not valid Unicode text (it holds an unpaired surrogate)"
    assert failure(tool, {"a": "ok", "b": "\ud800"}) == bad


def test_stdin_may_hold_nul_but_not_surrogates(tmp_path: Path) -> None:
    script = "import sys; print(json.dumps(sys.stdin.read()))"
    tool = load_tool(tmp_path, f't:\n  command: [{PY}, -c, "import json; {script}"]\n  stdin: "{{text}}"\n')
    assert tool({"text": "a\0b"}, 10.0) == "a\0b"
    assert (
        failure(tool, {"text": "\udfff"})
        == "argument 'text' is not valid Unicode text (it holds an unpaired surrogate)"
    )


# ---- exit codes that are not errors ----


def test_ok_exit_codes_make_a_result_of_a_nonzero_status(tmp_path: Path) -> None:
    script = "import sys; print(sys.argv[1]); sys.exit(int(sys.argv[1]))"
    tool = load_tool(tmp_path, f't:\n  command: [{PY}, -c, "{script}", "{{code}}"]\n  ok_exit_codes: [0, 1]\n')
    assert tool({"code": "1"}, 10.0) == 1
    assert tool({"code": "0"}, 10.0) == 0
    assert failure(tool, {"code": "2"}) == f"{sys.executable} exited with status 2"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[]", "'ok_exit_codes' must be a non-empty list of exit statuses, got a list"),
        ("1", "'ok_exit_codes' must be a non-empty list of exit statuses, got the scalar '1'"),
        ("[0, 256]", "'ok_exit_codes' item 1 must be an integer from 0 to 255, got 256"),
        ("[-1]", "'ok_exit_codes' item 0 must be an integer from 0 to 255, got -1"),
        ("[true]", "'ok_exit_codes' item 0 must be an integer from 0 to 255, got True"),
        ('["1"]', "'ok_exit_codes' item 0 must be an integer from 0 to 255, got '1'"),
    ],
)
def test_ok_exit_codes_are_checked_with_their_line(tmp_path: Path, value: str, message: str) -> None:
    error = config_error(tmp_path, f"t:\n  command: [grep, x]\n  ok_exit_codes: {value}\n")
    assert error == f"tools.yaml:3: tool 't': {message}"


# ---- process groups: never signal one whose leader was reaped ----


@pytest.fixture
def killpg_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Record every os.killpg as (pgid, leader still unreaped) and pass it on."""
    calls: list[tuple[int, bool]] = []
    real = os.killpg

    def recording(pgid: int, sig: int) -> None:
        try:  # our child, exited or not, but not reaped yet: its pid (the group id) cannot have been reused
            os.waitid(os.P_PID, pgid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            unreaped = True
        except ChildProcessError:
            unreaped = False
        calls.append((pgid, unreaped))
        real(pgid, sig)

    monkeypatch.setattr(os, "killpg", recording)
    return calls


@posix_only
def test_groups_are_signalled_only_before_their_leader_is_reaped(
    tmp_path: Path, killpg_calls: list[tuple[int, bool]]
) -> None:
    daemon = load_tool(tmp_path, 't:\n  command: [sh, -c, "sleep 30 & echo $!"]\n')
    left_behind = daemon({}, 10.0)  # the background child held stdout; the result still came
    slow = load_tool(tmp_path, "t:\n  command: [sleep, '30']\n")
    with pytest.raises(ToolFailed, match=r"timed out after 0\.3 s"):
        slow({}, 0.3)
    quick = load_tool(tmp_path, "t:\n  command: ['true']\n")
    threads = [threading.Thread(target=quick, args=({}, 10.0)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert killpg_calls, "the daemon and the timeout needed group kills"
    assert [c for c in killpg_calls if not c[1]] == []
    deadline = time.monotonic() + 10  # the killed daemon may still be finishing its exit
    while not _gone(left_behind) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(left_behind)


@posix_only
def test_kill_group_after_the_reap_sends_nothing(killpg_calls: list[tuple[int, bool]]) -> None:
    child = processes.Child(subprocess.Popen(["true"], start_new_session=True))
    assert child.exited.wait(30)
    before = len(killpg_calls)
    assert child.kill_group() is False
    assert processes.kill_running() == 0
    assert len(killpg_calls) == before
    assert all(unreaped for _, unreaped in killpg_calls)


@posix_only
def test_kill_running_kills_every_live_group() -> None:
    procs = [subprocess.Popen(["sleep", "30"], start_new_session=True) for _ in range(2)]
    children = [processes.Child(p) for p in procs]
    assert processes.kill_running() == 2
    assert all(c.exited.is_set() for c in children)
    assert [p.returncode for p in procs] == [-signal.SIGKILL, -signal.SIGKILL]


def _gone(pid: Any) -> bool:
    """No such process, or a zombie waiting for init (it runs nothing any more)."""
    assert isinstance(pid, int)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")

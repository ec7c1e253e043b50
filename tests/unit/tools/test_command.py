"""Command tools: placeholders, quoting, stdin/env/cwd, exit codes, timeouts, output limits, load-time errors."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from crazycall.conversation import ToolCall
from crazycall.errors import ConfigError
from crazycall.tools.command import OUTPUT_LIMIT, Ref, parse_template, render
from crazycall.tools.loader import load_registry
from crazycall.tools.registry import Tool, ToolFailed
from crazycall.tools.runner import ToolRunner

PY = json.dumps(sys.executable)
ARGV_SCRIPT = "import json, sys; print(json.dumps(sys.argv[1:]))"


def load_tool(tmp_path: Path, yaml_text: str, name: str = "t") -> Tool:
    (tmp_path / "tools.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    tool = load_registry(cwd=tmp_path, entry_points=False).get(name)
    assert tool is not None
    return tool


def load_error(tmp_path: Path, yaml_text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_tool(tmp_path, yaml_text)
    return str(info.value)


def python_tool(tmp_path: Path, script: str, extra: str = "", args: str = "") -> Tool:
    """A tool running ``python -c SCRIPT ARGS``; ``extra`` is more YAML for the entry."""
    return load_tool(
        tmp_path,
        f"t:\n  command: [{PY}, -c, {json.dumps(script)}{args}]\n" + textwrap.indent(textwrap.dedent(extra), "  "),
    )


def failure(tool: Tool, arguments: dict[str, Any], timeout: float = 10.0) -> str:
    with pytest.raises(ToolFailed) as info:
        tool(arguments, timeout)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("plain", ("plain",)),
        ("{city}", (Ref("city"),)),
        ("--city={city}!", ("--city=", Ref("city"), "!")),
        ("{files...}", (Ref("files", True),)),
        ("{{literal}} {a}{b}", ("{literal} ", Ref("a"), Ref("b"))),
        ("awk '{print $1}'", ("awk '{print $1}'",)),
        ("{not a placeholder}", ("{not a placeholder}",)),
        ("", ()),
    ],
)
def test_parse_template(text: str, parts: tuple[Any, ...]) -> None:
    assert parse_template(text) == parts


def test_render_values() -> None:
    args = {"s": "a b", "n": 3, "f": 1.5, "b": True, "o": {"k": [1]}, "l": ["x", 2], "none": None}
    assert render(parse_template("{s}"), args) == ["a b"]
    assert render(parse_template("-n={n},{f},{b}"), args) == ["-n=3,1.5,true"]
    assert render(parse_template("{o}"), args) == ['{"k": [1]}']
    assert render(parse_template("{l...}"), args) == ["x", "2"]
    assert render(parse_template("{l}"), args) == ['["x", 2]']
    assert render(parse_template("--x={missing}"), args) is None
    assert render(parse_template("--x={none}"), args) is None


def test_schema_is_derived_from_the_placeholders(tmp_path: Path) -> None:
    tool = load_tool(tmp_path, 't:\n  command: [grep, "-e", "{pattern}", "{files...}"]\n  stdin: "{text}"\n')
    assert tool.kind == "command"
    assert tool.spec.parameters == {
        "type": "object",
        "properties": {
            "pattern": {"type": "string"},
            "files": {"type": "array", "items": {"type": "string"}},
            "text": {"type": "string"},
        },
        "required": ["pattern", "files", "text"],
        "additionalProperties": False,
    }
    assert (tool.source, tool.spec.description, tool.timeout, tool.confirm) == ("tools.yaml:1", "", None, False)


NASTY = [
    "two words",
    'it\'s "quoted"',
    "a; rm -rf /",
    "$(touch pwned) `touch pwned2` $HOME",
    "line one\nline two",
    "*.py",
    "",
    " --flag",  # a leading "-" is refused in a whole item (test_command_hardening.py); a space makes it text
]


@pytest.mark.parametrize("value", NASTY)
def test_each_placeholder_is_exactly_one_literal_argv_item(tmp_path: Path, value: str) -> None:
    tool = python_tool(tmp_path, ARGV_SCRIPT, args=', "{text}", "--tag=<{text}>"')
    assert tool({"text": value}, 10.0) == [value, f"--tag=<{value}>"]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_a_list_spreads_only_where_written_with_dots(tmp_path: Path) -> None:
    extra = """\
    parameters:
      type: object
      properties:
        files: {type: array, items: {type: string}}
        limit: {type: integer}
        verbose: {type: boolean}
      required: [files]
    """
    tool = python_tool(tmp_path, ARGV_SCRIPT, extra, args=', "{files...}", "--limit={limit}", "{verbose}", "{files}"')
    assert tool({"files": ["a b", "c;d"], "limit": 5, "verbose": False}, 10.0) == [
        "a b",
        "c;d",
        "--limit=5",
        "false",
        '["a b", "c;d"]',
    ]
    # optional arguments the model left out drop their items
    assert tool({"files": []}, 10.0) == ["[]"]


def test_stdin_is_fed_and_otherwise_empty(tmp_path: Path) -> None:
    script = "import sys; data = sys.stdin.read(); print(repr(data))"
    fed = load_tool(tmp_path, f't:\n  command: [{PY}, -c, {json.dumps(script)}]\n  stdin: "<{{text}}>"\n')
    assert fed({"text": "hello\nworld $(x)"}, 10.0) == "'<hello\\nworld $(x)>'"
    closed = python_tool(tmp_path, script)
    assert closed({}, 10.0) == "''"  # never the terminal, never a hang


def test_env_values_read_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_TEST_TOKEN", "s3cret-value")
    monkeypatch.setenv("CC_INHERITED", "yes")
    script = "import os; print(os.environ['AUTH'], os.environ['PRICE'], os.environ['CC_INHERITED'])"
    extra = 'env:\n  AUTH: "Bearer ${CC_TEST_TOKEN}"\n  PRICE: "$$5"\n'
    tool = python_tool(tmp_path, script, extra)
    assert tool({}, 10.0) == "Bearer s3cret-value $5 yes"
    monkeypatch.delenv("CC_TEST_TOKEN")
    message = failure(tool, {})
    assert message == "environment variable CC_TEST_TOKEN is not set (needed by env AUTH of this tool)"


def test_cwd_and_program_paths_are_relative_to_the_tools_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "conf"
    (conf / "bin").mkdir(parents=True)
    (conf / "work").mkdir()
    script = conf / "bin" / "where.sh"
    script.write_text("#!/bin/sh\npwd\n", encoding="utf-8")
    script.chmod(0o755)
    (conf / "tools.yaml").write_text("t:\n  command: [./bin/where.sh]\n  cwd: work\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    tool = load_registry([Path("conf/tools.yaml")], cwd=tmp_path, entry_points=False).get("t")
    assert tool is not None
    assert tool({}, 10.0) == str((conf / "work").resolve())


def test_missing_or_unusable_programs_are_error_results(tmp_path: Path) -> None:
    missing = load_tool(tmp_path, "t:\n  command: [no-such-program-crazycall, x]\n")
    assert failure(missing, {}) == "command not found: 'no-such-program-crazycall' is not on PATH"
    by_path = load_tool(tmp_path, "t:\n  command: [./nowhere/prog]\n")
    assert failure(by_path, {}) == f"command not found: ./nowhere/prog ({tmp_path}/nowhere/prog does not exist)"
    (tmp_path / "plain.txt").write_text("not a program", encoding="utf-8")
    not_exec = load_tool(tmp_path, "t:\n  command: [./plain.txt]\n")
    assert failure(not_exec, {}) == f"cannot run ./plain.txt: {tmp_path}/plain.txt is not executable"
    bad_cwd = load_tool(tmp_path, "t:\n  command: [ls]\n  cwd: gone\n")
    assert failure(bad_cwd, {}) == f"cannot run ls: the working directory {tmp_path}/gone does not exist"


def test_nonzero_exit_carries_the_last_lines_of_stderr(tmp_path: Path) -> None:
    script = "import sys\nfor i in range(30): print('err', i, file=sys.stderr)\nprint('out')\nsys.exit(3)"
    tool = python_tool(tmp_path, script)
    lines = "\n".join(f"err {i}" for i in range(10, 30))
    assert failure(tool, {}) == f"{sys.executable} exited with status 3; stderr:\n{lines}"
    silent = python_tool(tmp_path, "raise SystemExit(1)")
    assert failure(silent, {}) == f"{sys.executable} exited with status 1"


def test_death_by_signal_is_named(tmp_path: Path) -> None:
    tool = python_tool(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert failure(tool, {}) == f"{sys.executable} was killed by signal SIGKILL"


def _gone(pid: int) -> bool:
    """The process no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_timeout_kills_the_process_and_its_children(tmp_path: Path) -> None:
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "print('about to hang', file=sys.stderr, flush=True)\n"
        "time.sleep(60)\n"
    )
    pid_file = tmp_path / "child.pid"
    tool = python_tool(tmp_path, script, args=f", {json.dumps(str(pid_file))}")
    started = time.monotonic()
    message = failure(tool, {}, timeout=1.5)
    assert time.monotonic() - started < 30
    assert message == f"command timed out after 1.5 s and was killed: {sys.executable}; stderr:\nabout to hang"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)


def test_stdout_json_is_parsed_and_text_is_kept(tmp_path: Path) -> None:
    assert python_tool(tmp_path, "print('{\"a\": [1, 2]}')")({}, 10.0) == {"a": [1, 2]}
    assert python_tool(tmp_path, "print(42)")({}, 10.0) == 42
    assert python_tool(tmp_path, "print('hello')\nprint('world')")({}, 10.0) == "hello\nworld"
    assert python_tool(tmp_path, "print('{not json')")({}, 10.0) == "{not json"
    assert python_tool(tmp_path, "pass")({}, 10.0) == ""


def test_large_output_is_read_without_blocking_and_cut(tmp_path: Path) -> None:
    big_json = python_tool(tmp_path, "import json; print(json.dumps(list(range(100000))))")
    assert big_json({}, 30.0) == list(range(100000))  # ~600 KB: more than any pipe buffer
    huge = python_tool(tmp_path, "import sys\nfor _ in range(40): sys.stdout.write('x' * 131072)")
    result = huge({}, 30.0)
    total = 40 * 131072
    assert (
        result
        == "x" * OUTPUT_LIMIT + f"\n[truncated: the command printed {total} bytes; the first {OUTPUT_LIMIT} were kept]"
    )


def test_the_runner_reports_command_failures_as_error_results(tmp_path: Path) -> None:
    tool = python_tool(tmp_path, "import sys; print('bad input', file=sys.stderr); sys.exit(2)")
    runner = ToolRunner(load_registry(cwd=tmp_path, entry_points=False))
    (outcome,) = runner.run([ToolCall("c1", "t", {}, "{}")])
    assert outcome.result.is_error
    assert outcome.result.content == f"{sys.executable} exited with status 2; stderr:\nbad input"
    assert tool.invoke is not None


def test_the_runner_passes_its_default_timeout_to_commands(tmp_path: Path) -> None:
    python_tool(tmp_path, "import time; time.sleep(30)")
    runner = ToolRunner(load_registry(cwd=tmp_path, entry_points=False), default_timeout=1.0)
    (outcome,) = runner.run([ToolCall("c1", "t", {}, "{}")])
    assert (outcome.result.is_error, outcome.result.content) == (
        True,
        f"command timed out after 1 s and was killed: {sys.executable}",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            't:\n  command: [echo, "{city}"]\n  parameters: {type: object, properties: {town: {type: string}}}\n',
            "tools.yaml:2: tool 't': placeholder {city} is not a parameter (parameters: town)",
        ),
        (
            't:\n  command: [echo, "--files={files...}"]\n',
            "tools.yaml:2: tool 't': {files...} must be a whole argv item, not part of one",
        ),
        (
            't:\n  command: [echo, "{n...}"]\n  parameters: {type: object, properties: {n: {type: integer}}}\n',
            "tools.yaml:2: tool 't': {n...} spreads a list but 'n' has type 'integer'",
        ),
        (
            't:\n  command: ["{program}", x]\n',
            "tools.yaml:2: tool 't': the program (the first item of 'command') cannot hold a placeholder",
        ),
        (
            't:\n  command: [cat]\n  stdin: "{lines...}"\n',
            "tools.yaml:3: tool 't': 'stdin' cannot spread a list ({name...})",
        ),
        (
            "t:\n  command: []\n",
            "tools.yaml:2: tool 't': 'command' must not be empty: give the program and its arguments",
        ),
        (
            "t:\n  command: echo hi\n",
            "tools.yaml:2: tool 't': 'command' must be a list of strings, got the scalar 'echo hi'",
        ),
        ("t:\n  command: [echo, [x]]\n", "tools.yaml:2: tool 't': 'command' item 1 must be a string, got ['x']"),
        (
            "t:\n  function: m:f\n  command: [echo]\n",
            "tools.yaml:3: tool 't': give either 'function' or 'command', not both",
        ),
        ("t:\n  function: m:f\n  cwd: x\n", "tools.yaml:3: tool 't': 'cwd' is only for tools with 'command:'"),
        ("t:\n  command: [env]\n  env: {1BAD: x}\n", "tools.yaml:3: tool 't': 'env' has an invalid name '1BAD'"),
        ("t:\n  command: [env]\n  env: {A: [x]}\n", "tools.yaml:3: tool 't': env.A must be a string, got ['x']"),
        (
            "t:\n  command: [env]\n  cwd: ''\n",
            "tools.yaml:3: tool 't': 'cwd' must be a non-empty string, got the scalar ''",
        ),
        (
            "t:\n  command: [env]\n  confirm: maybe\n",
            "tools.yaml:3: tool 't': 'confirm' must be true or false, got the scalar 'maybe'",
        ),
    ],
)
def test_load_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    assert load_error(tmp_path, text) == message


def test_command_entries_keep_timeout_confirm_and_numbers(tmp_path: Path) -> None:
    tool = load_tool(tmp_path, "t:\n  description: Sleeps\n  command: [sleep, 5]\n  timeout: 2\n  confirm: true\n")
    assert (tool.spec.description, tool.timeout, tool.confirm, tool.kind) == ("Sleeps", 2.0, True, "command")
    assert tool.spec.parameters["properties"] == {}


def test_a_command_entry_and_a_plugin_function_of_one_name_clash(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "p.py").write_text("import crazycall\n\n@crazycall.tool\ndef t() -> int:\n    return 1\n")
    message = load_error(tmp_path, "t:\n  command: [echo]\n")
    assert message == "tool 't' is defined twice: plugins/p.py:4 and tools.yaml:1; rename one of them"
    for name in [m for m in sys.modules if m.startswith("crazycall_plugin_")]:
        del sys.modules[name]


def test_no_process_is_left_behind_by_a_finished_command(tmp_path: Path) -> None:
    tool = python_tool(tmp_path, "import os; print(os.getpid())")
    pid = tool({}, 10.0)
    assert isinstance(pid, int) and pid != os.getpid()
    assert _gone(pid)

"""``tools call`` runs its one call through the tool runner (tools/runner.py), the engine ``ask`` uses, instead
of a second copy of the thread/timeout handling: what the runner gives a tool, ``tools call`` gives it too."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN = """\
    import sys

    import crazycall
    from crazycall.tools.runner import progress_reporter


    @crazycall.tool
    def reports_progress() -> dict:
        \"\"\"Says whether the runner gave it a progress reporter, and reports once.\"\"\"
        report = progress_reporter()
        if report is not None:
            report(1.0, 2.0, "half way")
        print("working")
        return {"has_reporter": report is not None}


    @crazycall.tool
    def leaves() -> str:
        \"\"\"Leaves by sys.exit instead of returning.\"\"\"
        sys.exit(3)
    """


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "runner_probe.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    return tmp_path


def call(project: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crazycall", "tools", "call", name, "{}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_tools_call_gives_the_tool_the_runners_progress_reporter(project: Path) -> None:
    done = call(project, "reports_progress")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"has_reporter": True}
    assert done.stderr == "working\n"  # its print, on stderr; stdout holds the result alone


def test_tools_call_words_a_tool_that_exits_as_the_runner_does(project: Path) -> None:
    done = call(project, "leaves")
    assert (done.returncode, done.stdout) == (8, "")
    assert done.stderr == (
        "crazycall: error: tool leaves failed: tool leaves exited (sys.exit(3)) without returning a result\n"
    )


def test_the_tools_command_has_no_thread_handling_of_its_own() -> None:
    source = (Path(__file__).resolve().parents[2] / "crazycall" / "commands" / "tools.py").read_text(encoding="utf-8")
    nodes = list(ast.walk(ast.parse(source)))
    imported = {alias.name for node in nodes if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    imported |= {node.module for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
    assert "threading" not in imported
    assert "crazycall.tools.runner" in imported

"""The MCP client against hostile and unusual servers (issue #19): a chatty stdio server, the folder a server
runs in, task-only tools, content for one audience, progress, who we say we are, bounded start-up and shutdown,
and errors that say what to fix. Servers: tests/fixtures/mcp_stdlib_server.py (stdlib, written from the
specification, starts fast) and, for HTTP, a loopback server answering 404 at every path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crazycall import __version__
from crazycall.errors import ConfigError
from crazycall.tools.loader import open_registry
from crazycall.tools.registry import ToolFailed

pytest.importorskip("mcp")

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "tests" / "fixtures" / "mcp_stdlib_server.py"


def server_entry(name: str = "fx", extra: str = "", env: dict[str, str] | None = None) -> str:
    lines = [f"  {name}:", f"    command: {json.dumps(sys.executable)}", f"    args: [{json.dumps(str(SERVER))}]"]
    if env:
        lines.append(f"    env: {json.dumps(env)}")
    lines += [f"    {line}" for line in extra.splitlines()]
    return "\n".join(lines) + "\n"


def write_tools(folder: Path, *entries: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tools.yaml"
    path.write_text("mcp_servers:\n" + "".join(entries), encoding="utf-8")
    return path


def crazycall(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh process: what it writes on stderr is exactly what a user sees."""
    command = [sys.executable, "-m", "crazycall", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, env={**os.environ})


def ask(tools: Path, prompt: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return crazycall("ask", "--offline", "--no-transcript", "-t", str(tools), *flags, prompt, cwd=tools.parent)


def events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def whoami(tools: Path, cwd: Path) -> dict[str, Any]:
    with open_registry([tools], cwd=cwd, entry_points=False) as registry:
        tool = registry.get("fx__whoami")
        assert tool is not None
        return dict(json.loads(tool({})))


# ---- 1. nothing but crazycall's own lines on stderr


def test_a_chatty_server_leaves_stderr_empty_and_json_intact(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry(env={"FIXTURE_NOISE": "1"}, extra='prefix: ""'))
    done = ask(tools, "whoami", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    data = json.loads(done.stdout)
    assert [c["name"] for c in data["tool_calls"]] == ["whoami"]
    assert not data["tool_calls"][0]["is_error"]


def test_the_sdks_complaint_is_one_line_at_verbose(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry(env={"FIXTURE_NOISE": "1"}, extra='prefix: ""'))
    done = ask(tools, "whoami", "--json", "-v")
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert any(
        line.startswith("crazycall: mcp: mcp.client.stdio: Failed to parse JSONRPC message from server (")
        for line in lines
    ), done.stderr


def test_the_sdks_complaint_is_kept_in_the_transcript(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry(env={"FIXTURE_NOISE": "1"}, extra='prefix: ""'))
    transcript = tmp_path / "run.jsonl"
    done = crazycall("ask", "--offline", "--transcript", str(transcript), "-t", str(tools), "whoami", cwd=tmp_path)
    assert (done.returncode, done.stderr.count("Failed to parse")) == (0, 0)
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    logs = [r["message"] for r in records if r["type"] == "log"]
    assert [m.split(" (")[0] for m in logs] == ["mcp.client.stdio: Failed to parse JSONRPC message from server"]
    kinds = [r["type"] for r in records]
    assert kinds.index("run") < kinds.index("log") < kinds.index("turn")


def test_a_chatty_server_that_fails_to_start_gets_one_error_line(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry(env={"FIXTURE_NOISE": "exit"}))
    done = ask(tools, "whoami", "--json")
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(
        f"crazycall: error: {tools}:2: MCP server 'fx' did not start: "
    )
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["error"]["exit_code"] == 3


# ---- 2. the folder a stdio server runs in


def test_a_stdio_server_runs_in_its_tools_yaml_folder(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    tools = write_tools(project, server_entry())
    assert whoami(tools, elsewhere)["cwd"] == str(project)
    listed = crazycall("tools", "list", "--json", "-t", str(tools), cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert {t["mcp_server"]["cwd"] for t in json.loads(listed.stdout) if "mcp_server" in t} == {str(project)}
    table = crazycall("tools", "list", "-t", str(tools), cwd=elsewhere)
    assert f"MCP server fx runs in {project}\n" in table.stderr  # stdout, a pipe, holds tab-separated tools only


def test_a_relative_cwd_is_relative_to_tools_yaml_and_a_missing_one_is_a_config_error(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    tools = write_tools(project, server_entry(extra="cwd: data"))
    assert whoami(tools, tmp_path)["cwd"] == str(project / "data")
    write_tools(project, server_entry(extra="cwd: nowhere"))
    done = crazycall("tools", "list", "-t", str(tools), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        f"crazycall: error: {tools}:2: MCP server 'fx': cwd '{project / 'nowhere'}' is not a folder\n"
    )


# ---- 3. tools that cannot be called are not offered


def test_task_only_tools_are_left_out_and_said_so(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry())
    done = crazycall("tools", "list", "--json", "-t", str(tools), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [t["name"] for t in listed if "left_out" not in t] == [
        "fx__whoami",
        "fx__annotated",
        "fx__count",
        "fx__hang",
    ]
    assert [t for t in listed if "left_out" in t] == [
        {
            "name": "fx__research",
            "source": f"{tools}:2 (MCP fx: research)",
            "left_out": "it can only run as an MCP task (taskSupport: required), which crazycall does not support",
        }
    ]
    run = ask(tools, "research", "-o", "jsonl", "-v")
    assert run.returncode == 0
    assert "fx__research" not in events(run.stdout)[0]["tools"]
    assert "crazycall: note: MCP server fx: tool research is not offered: it can only run as an MCP task" in run.stderr


def test_including_a_task_only_tool_by_name_is_a_config_error(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry(extra="include: [whoami, research]"))
    done = crazycall("tools", "list", "-t", str(tools), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        f"crazycall: error: {tools}:2: MCP server 'fx': tool research (include) cannot be offered: "
        "it can only run as an MCP task (taskSupport: required), which crazycall does not support\n"
    )


# ---- 4. audience annotations


def test_user_only_content_is_shown_and_not_sent_to_the_model(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry(extra='prefix: ""'))
    done = ask(tools, "annotated", "-o", "plain")
    assert done.returncode == 0, done.stderr
    # the offline model quotes what it was sent: the assistant's blocks, never the user's
    assert "for the model" in done.stdout and "for both" in done.stdout
    assert "for the user" not in done.stdout
    assert "tool annotated output: for the user" in done.stderr  # shown to the user, as the call's output
    jsonl = ask(tools, "annotated", "-o", "jsonl")
    (result,) = [e for e in events(jsonl.stdout) if e["event"] == "tool_result"]
    assert result["result"] == "for the model\nfor both"


# ---- 5. progress


def test_progress_notifications_become_tool_progress_events(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry(extra='prefix: ""'))
    done = ask(tools, "count", "-o", "jsonl")
    assert done.returncode == 0, done.stderr
    seen = events(done.stdout)
    names = [e["event"] for e in seen]
    call = seen[names.index("tool_call")]
    progress = [e for e in seen if e["event"] == "tool_progress"]
    assert progress == [
        {"event": "tool_progress", "id": call["id"], "name": "count", "progress": n, "total": 3, "message": f"step {n}"}
        for n in (1, 2, 3)
    ]
    assert names.index("tool_call") < names.index("tool_progress") < names.index("tool_result")
    (result,) = [e for e in seen if e["event"] == "tool_result"]
    assert result["result"] == "counted to 3; progress token: True"


def test_progress_shows_on_the_spinner_at_a_terminal(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    tools = write_tools(tmp_path, server_entry(env={"FIXTURE_STEP": "0.4"}, extra='prefix: ""'))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "crazycall", "ask", "--offline", "--no-transcript", "-t", str(tools), "count"],
        cwd=str(tmp_path),
        env={**env, "TERM": "xterm-256color"},
        dimensions=(30, 100),
        encoding="utf-8",
        codec_errors="replace",
    )
    try:
        child.expect("step 2 · 2/3", timeout=20)  # on the running call's spinner row, while it runs
        child.expect(pexpect.EOF, timeout=20)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


# ---- 6. who we are


def test_the_server_sees_crazycall_and_its_version(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry())
    assert whoami(tools, tmp_path)["client"] == {"name": "crazycall", "version": __version__}


# ---- 7. bounds that hold for the whole step


def test_startup_timeout_bounds_start_and_stop_together(tmp_path: Path) -> None:
    (tmp_path / "tools.yaml").write_text(
        f"mcp_servers:\n  mute:\n    command: {json.dumps(sys.executable)}\n"
        "    args: [-c, 'import time; time.sleep(60)']\n    startup_timeout: 1\n"
    )
    began = time.monotonic()
    with (
        pytest.raises(ConfigError, match=r"did not start within 1 s \(startup_timeout\)$"),
        open_registry([Path("tools.yaml")], cwd=tmp_path, entry_points=False),
    ):
        pass
    # the SDK's own termination grace alone was 2 s (about 3 s in all): the bound is for the whole step
    assert time.monotonic() - began < 1.9


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_closing_after_a_timed_out_call_is_quick_and_stops_the_server(tmp_path: Path) -> None:
    # this server ignores both the end of its stdin and SIGTERM: only SIGKILL stops it
    tools = write_tools(tmp_path, server_entry(env={"FIXTURE_IGNORE_EOF": "1"}, extra="timeout: 0.3"))
    with open_registry([tools], cwd=tmp_path, entry_points=False) as registry:
        who, hang = registry.get("fx__whoami"), registry.get("fx__hang")
        assert who is not None and hang is not None
        pid = json.loads(who({}))["pid"]
        with pytest.raises(ToolFailed, match=r"^MCP tool hang on server fx timed out after 0\.3 s$"):
            hang({})
        began = time.monotonic()
    assert time.monotonic() - began < 2.5  # about 4 s before (two 2 s graces); CLOSE_BUDGET is 2 s
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


# ---- 8. errors that say what to fix


class _NotFound(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_DELETE = do_POST

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def not_found_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/wrong/path"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_http_server_at_a_wrong_path_names_the_url_and_status(tmp_path: Path, not_found_url: str) -> None:
    (tmp_path / "tools.yaml").write_text(f"mcp_servers:\n  web:\n    url: {not_found_url}\n    startup_timeout: 3\n")
    with pytest.raises(ConfigError) as info, open_registry([Path("tools.yaml")], cwd=tmp_path, entry_points=False):
        pass
    assert (
        str(info.value) == f"tools.yaml:2: MCP server 'web' did not start: {not_found_url} answered HTTP 404 Not Found"
    )


def test_colliding_server_tools_point_to_prefix_and_exclude(tmp_path: Path) -> None:
    tools = write_tools(tmp_path, server_entry("one", 'prefix: ""'), server_entry("two", 'prefix: ""'))
    done = crazycall("tools", "list", "-t", str(tools), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        f"crazycall: error: tool 'whoami' is defined twice: {tools}:2 (MCP one: whoami) and "
        f"{tools}:6 (MCP two: whoami); "
        "give an MCP server another 'prefix:', or leave the tool out with its 'exclude:'\n"
    )

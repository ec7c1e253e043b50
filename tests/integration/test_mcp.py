"""MCP servers end to end: a real server written with the SDK (tests/fixtures/mcp_server.py), over stdio and
streamable HTTP, listed by ``tools list``, called by ``tools call`` and by ``ask --offline`` in each protocol,
one process for the whole run."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crazycall.errors import ConfigError
from crazycall.tools.loader import open_registry
from tests.integration.conftest import REPO, cli, json_out

pytest.importorskip("mcp")

SERVER = REPO / "tests" / "fixtures" / "mcp_server.py"
PY = json.dumps(sys.executable)

MODELS = {
    "chat": "gpt-5.4",
    "responses": "gpt-5.4",
    "messages": "claude-sonnet-4-6",
    "gemini": "gemini-3-pro",
}


def server_yaml(name: str = "demo", extra: str = "") -> str:
    body = f"command: {PY}\nargs: [{json.dumps(str(SERVER))}]\n" + textwrap.dedent(extra)
    return f"  {name}:\n" + textwrap.indent(body, "    ")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./plugins or ./tools.yaml of the repository
    monkeypatch.setenv("COLUMNS", "200")


def project(tmp_path: Path, servers: str, tools: str = "") -> Path:
    text = "mcp_servers:\n" + servers
    if tools:
        text = "tools:\n" + textwrap.indent(textwrap.dedent(tools), "  ") + text
    path = tmp_path / "tools.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def ask_json(tools: Path, prompt: str, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli("ask", "--offline", "--json", "--no-transcript", "-t", str(tools), *args, prompt)
    return code, json_out(out, err)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_tools_list_shows_the_servers_tools(tmp_path: Path) -> None:
    tools = project(tmp_path, server_yaml("fx", "exclude: [nap, getenv]\nconfirm: [fail]\n"))
    code, out, err = cli("tools", "list", "--json", "-t", str(tools))
    assert (code, err) == (0, "")
    listed = json.loads(out)
    assert [t["name"] for t in listed] == ["fx__echo", "fx__add", "fx__fail", "fx__whoami", "fx__files_read"]
    echo = listed[0]
    assert echo == {
        "name": "fx__echo",
        "description": "Return the text unchanged.",
        "source": f"{tools}:2 (MCP fx: echo)",
        "parameters": echo["parameters"],
        "timeout": None,
        "kind": "mcp",
        "confirm": False,
        "mcp_server": {"name": "fx", "tool": "echo", "cwd": str(tmp_path)},
    }
    assert echo["parameters"]["properties"]["text"]["type"] == "string"
    assert echo["parameters"]["required"] == ["text"]
    assert [t["confirm"] for t in listed] == [False, False, True, False, False]
    code, out, _ = cli("tools", "list", "-t", "tools.yaml")
    rows = [line.split("\t") for line in out.splitlines()]  # not a terminal: tab-separated
    assert [row[0] for row in rows] == ["fx__echo", "fx__add", "fx__fail", "fx__whoami", "fx__files_read"]
    assert rows[2][2] == "tools.yaml:2 (MCP fx: fail) (confirm)"


def test_tools_call_runs_an_mcp_tool(tmp_path: Path) -> None:
    tools = project(tmp_path, server_yaml("fx", 'prefix: ""\n'))
    assert cli("tools", "call", "add", '{"a": 2, "b": 40}', "-t", str(tools)) == (0, '{\n  "sum": 42\n}\n', "")
    code, out, err = cli("tools", "call", "fail", '{"reason": "disk full"}', "-t", str(tools))
    assert (code, out) == (8, "")
    assert err == "crazycall: error: tool fail failed: Error executing tool fail: disk full\n"


@pytest.mark.parametrize("protocol", list(MODELS))
def test_ask_offline_runs_a_command_tool_and_an_mcp_tool_in_one_conversation(tmp_path: Path, protocol: str) -> None:
    command = f"""\
    word_count:
      description: Count the words of a text.
      command: [{PY}, -c, "import sys; print(len(sys.stdin.read().split()))"]
      stdin: "{{text}}"
    """
    tools = project(tmp_path, server_yaml("demo", "include: [echo]\n"), command)
    prompt = "Count the words and echo the text about crazy tool calls"
    code, data = ask_json(tools, prompt, "-m", MODELS[protocol], "-p", protocol)
    assert code == 0, data
    calls = [(c["name"], c["arguments"], c["result"], c["is_error"]) for c in data["tool_calls"]]
    assert calls == [
        ("word_count", {"text": "crazy tool calls"}, 3, False),
        ("demo__echo", {"text": "crazy tool calls"}, "crazy tool calls", False),
    ]
    assert data["turns"] == 2 and data["protocol"] == protocol


def test_parallel_calls_share_the_session(tmp_path: Path) -> None:
    tools = project(tmp_path, server_yaml("demo", 'prefix: ""\ninclude: [echo, add]\n'))
    code, data = ask_json(tools, "Add the numbers and echo the text about owls")
    assert code == 0, data
    assert [(c["name"], c["result"]) for c in data["tool_calls"]] == [("add", {"sum": 2}), ("echo", "owls")]
    assert data["turns"] == 2  # both in one turn


def test_one_server_process_serves_the_whole_run_and_is_stopped_after(tmp_path: Path) -> None:
    tools = project(tmp_path, server_yaml("demo", 'prefix: ""\ninclude: [echo, whoami]\n'))
    code, data = ask_json(tools, "Echo the text about ducks, then whoami?")
    assert code == 0, data
    (echo, who) = data["tool_calls"]
    assert (echo["name"], echo["result"]) == ("echo", "ducks")
    assert who["name"] == "whoami" and who["result"]["calls"] == 2  # the same process answered both turns
    pid = who["result"]["pid"]
    deadline = time.monotonic() + 15
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


def test_mcp_errors_and_timeouts_are_error_results(tmp_path: Path) -> None:
    tools = project(tmp_path, server_yaml("demo", 'prefix: ""\ninclude: [fail, nap]\ntimeout: 0.5\n'))
    code, data = ask_json(tools, "fail, then nap")
    assert code == 0, data
    assert [(c["name"], c["arguments"], c["result"], c["is_error"]) for c in data["tool_calls"]] == [
        ("fail", {"reason": "example"}, "Error executing tool fail: example", True),
        ("nap", {"seconds": 1.5}, "MCP tool nap on server demo timed out after 0.5 s", True),
    ]


def test_the_server_gets_configured_env_and_not_the_router_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAZYROUTER_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("FIXTURE_SECRET", "from-the-environment")
    tools = project(tmp_path, server_yaml("fx", 'prefix: ""\nenv: {GREETING: "hi ${FIXTURE_SECRET}"}\n'))
    with open_registry([tools], cwd=tmp_path, entry_points=False) as registry:
        getenv = registry.get("getenv")
        assert getenv is not None
        # a str-returning tool of the SDK's server class answers with structured content {"result": ...}
        assert getenv({"name": "GREETING"}) == {"result": "'hi from-the-environment'"}
        assert getenv({"name": "CRAZYROUTER_API_KEY"}) == {"result": "None"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "include: [echo, nope]\n",
            "MCP server 'fx' has no tool(s) nope (include); it has: echo, add, fail, nap, whoami, getenv, files.read",
        ),
        (
            "env: {MCP_FIXTURE_REFUSE: '1'}\n",
            "MCP server 'fx' did not start: Connection closed; its stderr: fixture: refusing to start "
            "(MCP_FIXTURE_REFUSE)",
        ),
        (
            "env: {X: '${UNSET_FOR_SURE_1234}'}\n",
            "MCP server 'fx': environment variable UNSET_FOR_SURE_1234 is not set (needed by env X of this tool)",
        ),
    ],
)
def test_start_up_problems_are_config_errors(tmp_path: Path, extra: str, message: str) -> None:
    tools = project(tmp_path, server_yaml("fx", extra))
    code, out, err = cli("tools", "list", "-t", str(tools))
    assert (code, out) == (3, "")
    assert err == f"crazycall: error: {tools}:2: {message}\n"


def test_a_missing_server_program_and_a_start_up_timeout(tmp_path: Path) -> None:
    tools = tmp_path / "tools.yaml"
    tools.write_text("mcp_servers:\n  gone:\n    command: no-such-mcp-server-xyz\n")
    assert cli("tools", "list", "-t", str(tools)) == (
        3,
        "",
        f"crazycall: error: {tools}:2: MCP server 'gone': command not found: 'no-such-mcp-server-xyz' is not on PATH\n",
    )
    tools.write_text(
        f"mcp_servers:\n  mute:\n    command: {PY}\n    args: [-c, 'import time; time.sleep(60)']\n"
        "    startup_timeout: 1\n"
    )
    with (
        pytest.raises(
            ConfigError, match=r"^tools\.yaml:2: MCP server 'mute' did not start within 1 s \(startup_timeout\)$"
        ),
        open_registry([Path("tools.yaml")], cwd=tmp_path, entry_points=False),
    ):
        pass


def test_without_the_sdk_the_message_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # makes `import mcp` fail as if it were not installed
    project(tmp_path, server_yaml("fx"))
    with pytest.raises(ConfigError) as info, open_registry([Path("tools.yaml")], cwd=tmp_path, entry_points=False):
        pass
    assert str(info.value) == (
        "tools.yaml:2: MCP servers need the MCP SDK, which is not installed: pip install 'crazycall[mcp]'"
    )


def test_the_sdk_is_imported_only_for_mcp_servers(tmp_path: Path) -> None:
    (tmp_path / "tools.yaml").write_text("t:\n  command: [echo, hi]\n")
    script = (
        "import sys\nfrom crazycall.tools.loader import open_registry\n"
        "with open_registry() as r:\n    print(r.names(), 'mcp' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "['t'] False\n", "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the HTTP MCP fixture did not start")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def test_streamable_http_servers(tmp_path: Path, http_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXTURE_TOKEN", "t0k")
    (tmp_path / "tools.yaml").write_text(
        f"mcp_servers:\n  web:\n    url: {http_server}\n    headers: {{X-Token: '${{FIXTURE_TOKEN}}'}}\n"
        "    include: [add, echo]\n"
    )
    with open_registry([Path("tools.yaml")], cwd=tmp_path, entry_points=False) as registry:
        assert registry.names() == ["web__echo", "web__add"]
        add = registry.get("web__add")
        assert add is not None and add({"a": 1, "b": 2}) == {"sum": 3}
    gc.collect()  # a connection left open would warn (ResourceWarning) here, in this test, not in a later one

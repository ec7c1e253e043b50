"""``crazycall mcp-serve`` end to end: the command as a subprocess, driven by the MCP SDK's own client over stdio
and streamable HTTP; and ``ask --offline`` using ``crazycall mcp-serve`` itself as an MCP server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("mcp")

from mcp import ClientSession, types
from mcp.client.session import ElicitationFnT as Elicit
from mcp.client.stdio import StdioServerParameters, stdio_client

REPO = Path(__file__).resolve().parents[2]
FIXTURE_SERVER = REPO / "tests" / "fixtures" / "mcp_server.py"
PY = json.dumps(sys.executable)
TOKEN = "test-token-0123456789abcdef"

PLUGIN = '''
import os
import subprocess
import sys
import time

import crazycall


@crazycall.tool
def add_numbers(a: int, b: int) -> dict:
    """Add two integers, printing as it goes."""
    print("noise from print")
    sys.stdout.flush()
    os.write(1, b"noise from fd 1\\n")
    subprocess.run([sys.executable, "-c", "print('noise from a child')"], check=True)
    return {"sum": a + b}


@crazycall.tool(timeout=0.5)
def slow(seconds: float) -> str:
    """Sleep for some seconds."""
    time.sleep(seconds)
    return "done"


@crazycall.tool(confirm=True)
def delete_all(target: str) -> str:
    """Pretend to delete everything in target."""
    return f"deleted {target}"
'''

TOOLS = f"""\
tools:
  shout_text:
    description: Upper-case the text.
    command: [{PY}, -c, "import json, sys; print(json.dumps({{'upper': sys.argv[1].upper()}}))", "{{text}}"]
"""
UPSTREAM = f"""\
mcp_servers:
  fx:
    command: {PY}
    args: [{json.dumps(str(FIXTURE_SERVER))}]
    include: [add, echo]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "served.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / "tools.yaml").write_text(TOOLS, encoding="utf-8")
    return tmp_path


@pytest.fixture
def proxy(project: Path) -> Path:
    """The project with an upstream MCP server in its tools.yaml (only where a test needs one: it is slow)."""
    (project / "tools.yaml").write_text(TOOLS + UPSTREAM, encoding="utf-8")
    return project


def serve_args(*extra: str) -> list[str]:
    return ["-m", "crazycall", "mcp-serve", *extra]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


@asynccontextmanager
async def stdio_session(cwd: Path, *extra: str, elicit: Elicit | None = None) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=serve_args(*extra), cwd=cwd, env=child_env())
    errlog = (cwd / "server-stderr.txt").open("w", encoding="utf-8")
    try:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, elicitation_callback=elicit) as session,
        ):
            await session.initialize()
            yield session
    finally:
        errlog.close()


def dumped(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result.get("content", []))


def call_all(
    cwd: Path, calls: list[tuple[str, dict[str, Any]]], *extra: str, elicit: Elicit | None = None
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []

    async def main() -> None:
        async with stdio_session(cwd, *extra, elicit=elicit) as session:
            for name, args in calls:
                results.append(dumped(await session.call_tool(name, args)))

    anyio.run(main)
    return results


def test_stdio_lists_the_tools_as_tools_list_json_shows_them(proxy: Path) -> None:
    project = proxy
    listed = subprocess.run(
        [sys.executable, "-m", "crazycall", "tools", "list", "--json"],
        cwd=project,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    expected = [(t["name"], t["description"], t["parameters"]) for t in json.loads(listed.stdout)]
    served: list[tuple[str, str, dict[str, Any]]] = []

    async def main() -> None:
        async with stdio_session(project) as session:
            for tool in (await session.list_tools()).tools:
                served.append((tool.name, tool.description or "", dict(tool.input_schema)))

    anyio.run(main)
    assert served == expected
    assert {name for name, _d, _p in served} >= {"add_numbers", "shout_text", "fx__add", "delete_all"}


def test_stdio_calls_a_python_tool_a_command_tool_and_a_proxied_mcp_tool(proxy: Path) -> None:
    project = proxy
    results = call_all(
        project,
        [("add_numbers", {"a": 2, "b": 3}), ("shout_text", {"text": "hi"}), ("fx__add", {"a": 1, "b": 2})],
    )
    assert [(r.get("isError"), r.get("structuredContent")) for r in results] == [
        (False, {"sum": 5}),
        (False, {"upper": "HI"}),
        (False, {"sum": 3}),
    ]
    assert json.loads(text_of(results[0])) == {"sum": 5}
    # what the Python tool printed (print, fd 1, a child process) went to stderr, not into the JSON-RPC stream
    stderr = (project / "server-stderr.txt").read_text(encoding="utf-8")
    for noise in ("noise from print", "noise from fd 1", "noise from a child"):
        assert noise in stderr


def test_every_line_on_stdout_is_json_rpc_while_a_tool_prints(project: Path) -> None:
    """The raw stdio stream, read byte for byte: nothing a tool prints is in it, and closing stdin ends the
    server with exit 0."""
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "add_numbers", "arguments": {"a": 1, "b": 2}},
        },
    ]
    done = subprocess.run(
        [sys.executable, *serve_args()],
        cwd=project,
        env=child_env(),
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]  # a stray line would not parse
    assert [r.get("id") for r in replies] == [1, 2]
    assert replies[1]["result"]["structuredContent"] == {"sum": 3}
    assert "noise from fd 1" in done.stderr and "noise from a child" in done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_arguments_are_an_error_result_with_every_violation_and_its_path(project: Path) -> None:
    [result] = call_all(project, [("add_numbers", {"a": "x"})])
    assert result["isError"] is True
    text = text_of(result)
    assert "$.a: 'x' is not of type 'integer'" in text
    assert "'b' is a required property" in text


def test_a_tool_past_its_timeout_is_an_error_result_and_the_server_goes_on(project: Path) -> None:
    slow, after = call_all(project, [("slow", {"seconds": 5}), ("add_numbers", {"a": 1, "b": 1})])
    assert slow["isError"] is True and "timed out after 0.5 s" in text_of(slow)
    assert after.get("structuredContent") == {"sum": 2}


def test_option_injection_into_a_command_tool_is_refused(project: Path) -> None:
    [result] = call_all(project, [("shout_text", {"text": "--version"})])
    assert result["isError"] is True
    assert "must not start with '-'" in text_of(result)


def test_a_confirm_tool_is_refused_without_elicitation_and_says_how_to_allow_it(project: Path) -> None:
    [result] = call_all(project, [("delete_all", {"target": "home"})])
    assert result["isError"] is True
    assert "--approve delete_all" in text_of(result) and "elicitation" in text_of(result)
    [approved] = call_all(project, [("delete_all", {"target": "home"})], "--approve", "delete_all")
    assert (approved["isError"], text_of(approved)) == (False, "deleted home")


def test_a_confirm_tool_asks_through_elicitation(project: Path) -> None:
    asked: list[str] = []

    def answering(action: str) -> Elicit:
        async def elicit(context: Any, params: Any) -> types.ElicitResult:
            asked.append(params.message)
            return types.ElicitResult(action=action, content={} if action == "accept" else None)  # type: ignore[arg-type]

        return elicit

    [yes] = call_all(project, [("delete_all", {"target": "tmp"})], elicit=answering("accept"))
    [no] = call_all(project, [("delete_all", {"target": "tmp"})], elicit=answering("decline"))
    assert (yes["isError"], text_of(yes)) == (False, "deleted tmp")
    assert no["isError"] is True and "declined" in text_of(no)
    assert len(asked) == 2 and "delete_all" in asked[0] and '"target": "tmp"' in asked[0]


def test_the_session_transcript_records_calls_without_secrets(project: Path) -> None:
    transcript = project / "serve.jsonl"
    secret = "sk-test-mcp-serve-0001"
    call_all(project, [("shout_text", {"text": f"api_key={secret}"})], "--transcript", str(transcript))
    records = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert [r["type"] for r in records] == ["run", "tool_call", "tool_result", "end"]
    assert records[2]["name"] == "shout_text" and records[2]["is_error"] is False
    text = transcript.read_text(encoding="utf-8")
    assert secret not in text and secret.upper() not in text and "API_KEY=***" in text


# ---- streamable HTTP


@pytest.fixture
def http_server(proxy: Path) -> Iterator[tuple[str, str]]:
    """``mcp-serve --http --port 0`` without --token: (its URL, the token it printed)."""
    proc = subprocess.Popen(
        [sys.executable, *serve_args("--http", "--port", "0")],
        cwd=proxy,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    token = url = ""
    try:
        for line in proc.stderr:
            if m := re.search(r"bearer token \(shown once\): (\S+)", line):
                token = m.group(1)
            if m := re.search(r"serving \d+ tools at (http://\S+)", line):
                url = m.group(1)
                break
        assert url and token, "the server did not start"
        yield url, token
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()


def post_initialize(url: str, headers: dict[str, str]) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    return httpx.post(url, json=body, headers={**accept, **headers}, timeout=10)


def test_http_refuses_requests_without_the_right_token(http_server: tuple[str, str]) -> None:
    url, token = http_server
    assert post_initialize(url, {}).status_code == 401
    assert post_initialize(url, {"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    assert post_initialize(url, {"Authorization": f"Bearer {token}"}).status_code == 200


def test_http_with_the_token_lists_and_calls_tools(http_server: tuple[str, str]) -> None:
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client  # the HTTP client the SDK's transport takes

    url, token = http_server
    got: dict[str, Any] = {}

    async def main() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            create_mcp_http_client(headers=headers) as client,
            streamable_http_client(url, http_client=client) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            got["names"] = [t.name for t in (await session.list_tools()).tools]
            got["python"] = dumped(await session.call_tool("add_numbers", {"a": 20, "b": 22}))
            got["proxy"] = dumped(await session.call_tool("fx__echo", {"text": "through"}))

    anyio.run(main)
    assert "add_numbers" in got["names"] and "fx__echo" in got["names"]
    assert got["python"]["structuredContent"] == {"sum": 42}
    assert text_of(got["proxy"]) == "through"


def test_sigterm_stops_the_http_server_cleanly(project: Path) -> None:
    transcript = project / "serve.jsonl"
    proc = subprocess.Popen(
        [sys.executable, *serve_args("--http", "--port", "0", "--transcript", str(transcript))],
        cwd=project,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        url = next(m.group(1) for line in proc.stderr if (m := re.search(r"tools at (http://\S+)", line)))
        token = "Bearer wrong-token-0123456789"
        assert post_initialize(url, {"Authorization": token}).status_code == 401  # up and answering
        proc.terminate()
        assert proc.wait(timeout=20) == 143
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    records = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert records[-1]["type"] == "end" and records[-1]["outcome"] == "interrupted"


# ---- flags


def run_cli(cwd: Path, *args: str, code: str = "") -> subprocess.CompletedProcess[str]:
    argv = ["-c", code, *args] if code else ["-m", "crazycall", *args]
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--http", "--host", "0.0.0.0"], "--host 0.0.0.0 is not a loopback address; add --allow-remote"),
        (["--host", "127.0.0.2"], "--host and --allow-remote apply to --http only"),
        (["--http", "--token", "short"], "--token: use at least 16 characters"),
        (["--approve", "nope"], "--approve: unknown tool(s): nope"),
        (["--allow-tools", "shout_txt"], "--allow-tools: unknown tool(s): shout_txt (did you mean 'shout_text'?)"),
    ],
)
def test_bad_flags_are_usage_errors(project: Path, args: list[str], message: str) -> None:
    done = run_cli(project, "mcp-serve", *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("crazycall: error: ")
    assert message in done.stderr and "Traceback" not in done.stderr


def test_stdio_with_stdin_closed_is_a_usage_error(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, *serve_args()],
        cwd=project,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(0),
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == "crazycall: error: stdin is closed: mcp-serve on stdio reads the client's messages from it (or use --http)\n"
    )


def test_without_the_sdk_it_says_how_to_install_it(project: Path) -> None:
    blocked = "import sys; sys.modules['mcp'] = None; sys.argv = ['crazycall', 'mcp-serve']; "
    done = run_cli(project, code=blocked + "from crazycall.cli import main; main()")
    assert done.returncode == 2
    assert "pip install 'crazycall[mcp]'" in done.stderr and "Traceback" not in done.stderr


def test_help_does_not_import_the_sdk(project: Path) -> None:
    code = "import sys; from crazycall.cli import get_app; get_app(); print('mcp' in sys.modules)"
    assert run_cli(project, code=code).stdout.strip() == "False"


# ---- crazycall's own tools through MCP, end to end


def test_ask_offline_uses_crazycall_mcp_serve_as_its_mcp_server(tmp_path: Path) -> None:
    inner = tmp_path / "inner.yaml"
    inner.write_text(
        textwrap.dedent(
            f"""\
            tools:
              word_count:
                description: Count the words of a text.
                command: [{PY}, -c, "import sys; print(len(sys.stdin.read().split()))"]
                stdin: "{{text}}"
            """
        ),
        encoding="utf-8",
    )
    outer = tmp_path / "tools.yaml"
    args = json.dumps(["-m", "crazycall", "mcp-serve", "-t", str(inner)])
    env = f"{{PYTHONPATH: {json.dumps(str(REPO))}}}"
    outer.write_text(f"mcp_servers:\n  self:\n    command: {PY}\n    args: {args}\n    env: {env}\n", encoding="utf-8")
    done = run_cli(tmp_path, "ask", "--offline", "--json", "--no-transcript", "Count the words about crazy tool calls")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    calls = [(c["name"], c["arguments"], c["result"], c["is_error"]) for c in data["tool_calls"]]
    # MCP structured content is an object: a number comes back through MCP as its text
    assert calls == [("self__word_count", {"text": "crazy tool calls"}, "3", False)]

"""Hostile configuration through the real CLI: tool names that match nothing, $ref loops, alias bombs, numbers
out of range, odd base URLs and smoke cases. Each ends in one line and its documented exit code."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import KEY, REPO, TOOLS, cli, run_cli

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./plugins or ./tools.yaml of the repository
    monkeypatch.setenv("COLUMNS", "300")


@pytest.fixture(scope="module")
def router() -> Iterator[OfflineRouter]:
    r = OfflineRouter(api_key=KEY).start()
    yield r
    r.stop()


def one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("crazycall: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------- tool names (item 1)


def test_repeated_allow_tools_allow_every_name(tmp_path: Path) -> None:
    code, out, err = cli(
        "ask", "--offline", "-o", "jsonl", "--no-transcript", *TOOLS, "--allow-tools", "get_weather",
        "--allow-tools", "get_time", "--deny-tools", "search_products", "hi",
    )  # fmt: skip
    assert code == 0, err
    started = json.loads(out.splitlines()[0])
    assert started["event"] == "run_started" and started["tools"] == ["get_weather", "get_time"]


@pytest.mark.parametrize("flag", ["--allow-tools", "--deny-tools", "--approve"])
def test_unknown_tool_flags_are_usage_errors_with_a_suggestion(flag: str) -> None:
    code, out, err = cli("ask", "--offline", "--json", "--no-transcript", *TOOLS, flag, "get_wether", "hi")
    assert code == 2
    message = json.loads(out)["error"]["message"]
    assert message.startswith(f"{flag}: unknown tool(s): get_wether (did you mean 'get_weather'?); known: ")
    assert one_line_error(err) == f"crazycall: error: {message}"


MCP_SERVER = REPO / "tests" / "fixtures" / "mcp_server.py"


def mcp_tools_yaml(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "tools.yaml"
    body = f"command: {json.dumps(sys.executable)}\nargs: [{json.dumps(str(MCP_SERVER))}]\n{extra}"
    path.write_text("mcp_servers:\n  fx:\n" + textwrap.indent(body, "    "), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("confirm: [Echo]\n", "has no tool(s) Echo (did you mean 'echo'?) (confirm); it has: echo, add"),
        ("confirm: [fx__echo]\n", "has no tool(s) fx__echo (did you mean 'echo'?) (confirm); it has: echo"),
        ("exclude: [no_such_tool]\n", "has no tool(s) no_such_tool (exclude); it has: echo"),
    ],
)
def test_mcp_names_that_match_no_tool_are_config_errors(tmp_path: Path, extra: str, expected: str) -> None:
    pytest.importorskip("mcp")
    tools = mcp_tools_yaml(tmp_path, extra)
    code, out, err = cli("ask", "--offline", "--json", "--no-transcript", "-t", str(tools), "call fx__echo")
    assert code == 3
    message = json.loads(out)["error"]["message"]
    assert message.startswith(f"{tools}:2: MCP server 'fx' {expected}"), message
    assert one_line_error(err) == f"crazycall: error: {message}"


# ---------------------------------------------------------------- hostile structure (item 2)


REF_LOOP = """\
loop:
  description: d
  command: [echo, "{x}"]
  parameters:
    type: object
    properties:
      x: {$ref: "#/$defs/a"}
    $defs:
      a: {$ref: "#/$defs/b"}
      b: {$ref: "#/$defs/a"}
"""

TREE = """\
tree:
  description: d
  command: [echo, "{x}"]
  parameters:
    type: object
    properties:
      x: {$ref: "#/$defs/node"}
    $defs:
      node: {type: object, properties: {children: {type: array, items: {$ref: "#/$defs/node"}}}}
"""


@pytest.mark.parametrize("command", [("tools", "list", "--check"), ("ask", "--offline", "--no-transcript", "hi")])
def test_a_ref_loop_is_refused_when_tools_load(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "tools.yaml").write_text(REF_LOOP, encoding="utf-8")
    code, out, err = cli(*command)
    assert (code, out) == (3, "")
    line = one_line_error(err)
    assert line.startswith("crazycall: error: tools.yaml:10: tool 'loop': parameters are not a valid JSON Schema")
    assert "$ref loop" in line


def test_recursion_through_properties_is_still_allowed(tmp_path: Path) -> None:
    (tmp_path / "tools.yaml").write_text(TREE, encoding="utf-8")
    code, out, err = cli("tools", "list", "--check")
    assert (code, err) == (0, "")
    assert "tree" in out


@pytest.mark.parametrize("where", ["tools.yaml", "smoke.yaml", "config"])
def test_an_alias_bomb_is_refused_in_every_yaml_file(tmp_path: Path, where: str) -> None:
    path = tmp_path / ("config.yaml" if where == "config" else where)
    path.write_text(BOMB, encoding="utf-8")
    command = {"tools.yaml": ["tools", "list"], "smoke.yaml": ["smoke", "--offline"], "config": ["config", "show"]}
    env = {"CRAZYCALL_CONFIG": str(path)} if where == "config" else None
    done = run_cli(tmp_path, *command[where], env=env, timeout=30)
    assert (done.returncode, done.stdout) == (3, "")
    assert "refusing a YAML document that expands to more than" in one_line_error(done.stderr)


# ---------------------------------------------------------------- numbers and URLs (items 3, 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "-1"], "--timeout must be > 0"),
        (["--tool-timeout", "inf"], "--tool-timeout must be > 0"),
        (["--base-url", "127.0.0.1:8787", "--api-key", KEY], "--base-url must start with http:// or https://"),
    ],
)
def test_bad_flag_values_are_usage_errors(args: list[str], message: str) -> None:
    code, out, err = cli("ask", "--json", "--no-transcript", "--offline", *args, "hi")
    assert code == 2
    assert json.loads(out)["error"]["message"].startswith(message)
    assert one_line_error(err).startswith(f"crazycall: error: {message}")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("model: gpt-5.4\ntimeout: .inf\n", 2, "setting 'timeout' must be > 0"),
        ("max_turns: -1\n", 1, "setting 'max_turns' must be >= 1"),
        ("max_turns: ten\n", 1, "setting 'max_turns' must be a whole number"),
        ("result_limit: -5\n", 1, "setting 'result_limit' must be >= 1"),
        ("routes:\n  'gpt-*': grpc\n", 2, "route 'gpt-*': unknown protocol 'grpc'"),
    ],
)
def test_bad_config_values_name_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    done = run_cli(tmp_path, "ask", "--offline", "--no-transcript", "hi", env={"CRAZYCALL_CONFIG": str(path)})
    assert (done.returncode, done.stdout) == (3, "")
    assert one_line_error(done.stderr).startswith(f"crazycall: error: {path}:{line}: {message}")


def test_per_tool_timeout_must_be_finite(tmp_path: Path) -> None:
    (tmp_path / "tools.yaml").write_text("t:\n  command: [echo]\n  timeout: .inf\n", encoding="utf-8")
    code, out, err = cli("tools", "list")
    assert (code, out) == (3, "")
    assert one_line_error(err).startswith("crazycall: error: tools.yaml:3: tool 't': timeout must be > 0")


def test_a_missing_crazycall_config_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAZYCALL_CONFIG", str(tmp_path / "nope.yaml"))
    code, out, err = cli("config", "show")
    assert (code, out) == (3, "")
    assert (
        one_line_error(err)
        == f"crazycall: error: {tmp_path / 'nope.yaml'}: config file not found (CRAZYCALL_CONFIG names it)"
    )


def test_sdk_style_base_url_with_v1_reaches_the_router(router: OfflineRouter) -> None:
    code, out, err = cli("ask", "--json", "--no-transcript", "--base-url", router.url + "/v1/", "--api-key", KEY, "hi")
    assert code == 0, err
    assert json.loads(out)["text"] == 'Offline router: you said "hi"'


def test_config_show_says_the_suffix_was_removed_and_masks_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAZYROUTER_BASE_URL", "http://alice:s3cret-pass@127.0.0.1:9/v1")
    code, out, err = cli("config", "show", "--json")
    assert (code, err) == (0, "")
    assert "s3cret-pass" not in out and "alice" not in out
    assert json.loads(out)["settings"]["base_url"] == {
        "value": "http://***@127.0.0.1:9",
        "source": "env CRAZYROUTER_BASE_URL; trailing /v1 removed",
    }


def test_config_show_prints_the_defaults_in_force() -> None:
    code, out, err = cli("config", "show", "--json")
    assert (code, err) == (0, "")
    settings = json.loads(out)["settings"]
    shown = {name: settings[name] for name in ("max_turns", "max_retries", "tool_timeout", "result_limit")}
    assert shown == {
        "max_turns": {"value": 10, "source": "default"},
        "max_retries": {"value": 2, "source": "default"},
        "tool_timeout": {"value": 60.0, "source": "default"},
        "result_limit": {"value": 65536, "source": "default"},
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("gpt-4.1:grpc", "--case 'gpt-4.1:grpc': unknown protocol 'grpc'"),
        ("gpt-4.1:Chat", "--case 'gpt-4.1:Chat': unknown protocol 'Chat' (did you mean 'chat'?)"),
    ],
)
def test_smoke_case_with_an_unknown_protocol_is_a_usage_error(case: str, message: str) -> None:
    code, _out, err = cli("smoke", "--offline", "--no-defaults", "--case", case)
    assert code == 2
    assert one_line_error(err).startswith(f"crazycall: error: {message}")


# ---------------------------------------------------------------- where tools come from (item 6)


def test_a_run_without_tools_says_where_it_looked(tmp_path: Path) -> None:
    code, out, err = cli("ask", "--offline", "--json", "--no-transcript", "hi")
    assert code == 0
    assert json.loads(out)["text"] == 'Offline router: you said "hi"'
    assert err == (
        f"crazycall: note: no tools were loaded (looked in {tmp_path / 'tools.yaml'}, {tmp_path / 'plugins'} and "
        "crazycall.plugins entry points); see -t/--tools, --plugins\n"
    )


PLUGIN = '''
import crazycall


@crazycall.tool
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()
'''


def test_tools_yaml_elsewhere_finds_the_plugins_beside_it(tmp_path: Path) -> None:
    project = tmp_path / "other" / "dir"
    (project / "plugins").mkdir(parents=True)
    (project / "plugins" / "text.py").write_text(PLUGIN, encoding="utf-8")
    (project / "tools.yaml").write_text("shout:\n  description: Refined here.\n", encoding="utf-8")
    code, out, err = cli("tools", "list", "--json", "-t", "other/dir/tools.yaml")
    assert (code, err) == (0, "")
    [record] = json.loads(out)
    assert (record["name"], record["description"], record["source"]) == (
        "shout",
        "Refined here.",
        "other/dir/tools.yaml:1",
    )
    assert record["function_source"] == "other/dir/plugins/text.py:6"
    code, out, err = cli("tools", "show", "shout", "-t", "other/dir/tools.yaml")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "shout  (other/dir/tools.yaml:1, def other/dir/plugins/text.py:6)"


def test_a_deeply_nested_schema_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    inner = "{type: string}"
    for _ in range(100):
        inner = "{type: object, properties: {a: " + inner + "}}"
    (tmp_path / "tools.yaml").write_text(f"t:\n  command: [echo]\n  parameters: {inner}\n", encoding="utf-8")
    code, out, err = cli("tools", "list", "--check")
    assert (code, out) == (3, "")
    assert one_line_error(err).startswith("crazycall: error: tools.yaml:3: refusing YAML nested more than")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_tools_file_is_refused() -> None:
    code, out, err = cli("tools", "list", "-t", "/dev/zero")
    assert (code, out) == (3, "")
    assert one_line_error(err).startswith("crazycall: error: /dev/zero: the tools file is larger than")

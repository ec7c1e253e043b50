"""MCP without a server: the ``mcp_servers`` section, tool names, and mapping results to tool values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from crazycall.errors import ConfigError
from crazycall.tools.mcp import DEFAULT_STARTUP_TIMEOUT, ServerConfig, portable_name, result_value, server_config
from crazycall.tools.registry import ToolFailed
from crazycall.tools.yaml_file import read_tools_config

GOOD = """\
tools:
  word_count:
    command: [wc, -w]
    stdin: "{text}"
mcp_servers:
  files:
    command: ./servers/files.py
    args: [--root, /srv, 3]
    env: {TOKEN: "${FILES_TOKEN}"}
    cwd: work
    include: [read, list]
    confirm: [write]
    startup_timeout: 5
    timeout: 2.5
  remote:
    url: https://mcp.example.com/mcp
    headers: {Authorization: "Bearer ${REMOTE_TOKEN}"}
    prefix: ""
    exclude: [debug]
    confirm: true
"""


def read(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "tools.yaml"
    path.write_text(text, encoding="utf-8")
    return read_tools_config(path, "tools.yaml")


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        read(tmp_path, text)
    return str(info.value)


def test_sections_hold_tools_and_servers(tmp_path: Path) -> None:
    config = read(tmp_path, GOOD)
    assert [(e.name, e.command, e.stdin) for e in config.entries] == [("word_count", ("wc", "-w"), "{text}")]
    files, remote = (server_config(s) for s in config.servers)
    assert files == ServerConfig(
        name="files",
        source="tools.yaml:6",
        command=str(tmp_path / "servers/files.py"),
        args=("--root", "/srv", "3"),
        env={"TOKEN": "${FILES_TOKEN}"},  # expanded when the server starts, never stored expanded
        cwd=tmp_path / "work",
        prefix="files__",
        include=("read", "list"),
        startup_timeout=5.0,
        timeout=2.5,
        confirm=("write",),
    )
    assert remote == ServerConfig(
        name="remote",
        source="tools.yaml:15",
        url="https://mcp.example.com/mcp",
        headers={"Authorization": "Bearer ${REMOTE_TOKEN}"},
        prefix="",
        exclude=("debug",),
        startup_timeout=DEFAULT_STARTUP_TIMEOUT,
        confirm=True,
    )
    assert (files.needs_confirm("write"), files.needs_confirm("read"), remote.needs_confirm("any")) == (
        True,
        False,
        True,
    )


def test_a_bare_program_name_is_left_for_path_lookup(tmp_path: Path) -> None:
    (server,) = read(tmp_path, "mcp_servers:\n  s:\n    command: uvx\n").servers
    assert server_config(server).command == "uvx"
    assert read(tmp_path, "mcp_servers:\n").servers == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "mcp_servers:\n  s:\n    args: [x]\n",
            "tools.yaml:2: MCP server 's': give either 'command' (a local server over stdio) or 'url' "
            "(streamable HTTP)",
        ),
        (
            "mcp_servers:\n  s:\n    command: a\n    url: http://127.0.0.1/mcp\n",
            "tools.yaml:2: MCP server 's': give either 'command' (a local server over stdio) or 'url' "
            "(streamable HTTP)",
        ),
        (
            "mcp_servers:\n  s:\n    url: http://127.0.0.1/mcp\n    args: [x]\n",
            "tools.yaml:4: MCP server 's': 'args' does not go with 'url'",
        ),
        (
            "mcp_servers:\n  s:\n    command: a\n    headers: {A: b}\n",
            "tools.yaml:4: MCP server 's': 'headers' does not go with 'command'",
        ),
        (
            "mcp_servers:\n  s:\n    command: [a, b]\n",
            "tools.yaml:3: MCP server 's': 'command' must be a non-empty string, got a list",
        ),
        (
            "mcp_servers:\n  s:\n    command: a\n    startup_timeout: 0\n",
            "tools.yaml:4: MCP server 's': startup_timeout must be a number of seconds > 0, got 0",
        ),
        (
            "mcp_servers:\n  s:\n    command: a\n    confirm: sometimes\n",
            "tools.yaml:4: MCP server 's': 'confirm' must be true or false or a list of the server's tool names, "
            "got the scalar 'sometimes'",
        ),
        (
            "mcp_servers:\n  s:\n    command: a\n    includes: [x]\n",
            "tools.yaml:4: MCP server 's': unknown key 'includes' (did you mean 'include'?); allowed: command, "
            "args, env, cwd, url, headers, prefix, include, exclude, startup_timeout, timeout, confirm",
        ),
        (
            "mcp_servers:\n  my.server:\n    command: a\n",
            "tools.yaml:2: invalid MCP server name 'my.server': names must match ^[a-zA-Z0-9_-]{1,64}$",
        ),
        ("mcp_servers: [a]\n", "tools.yaml:1: 'mcp_servers' must be a mapping of server names to servers"),
        (
            "get_weather:\n  function: m:f\nmcp_servers: {}\n",
            "tools.yaml:1: unknown top-level key 'get_weather'; with sections the top-level keys are 'tools' and "
            "'mcp_servers' (tool entries go under 'tools:')",
        ),
        (
            "mcp_servers:\n  s: npx\n",
            "tools.yaml:2: MCP server 's': expected a mapping with keys command, args, env, cwd, url, headers, "
            "prefix, include, exclude, startup_timeout, timeout, confirm, got the scalar 'npx'",
        ),
    ],
)
def test_bad_servers(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text) == message


NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@pytest.mark.parametrize(
    ("prefix", "tool", "expected"),
    [
        ("files__", "read", "files__read"),
        ("", "read_file", "read_file"),
        ("gh_", "repos/list.all", "gh_repos_list_all"),
        ("x__", "naïve name", "x__na_ve_name"),
    ],
)
def test_portable_names(prefix: str, tool: str, expected: str) -> None:
    assert portable_name(prefix, tool) == expected


def test_long_names_are_cut_and_keep_a_hash_of_the_whole() -> None:
    a = portable_name("server__", "a" * 80)
    b = portable_name("server__", "a" * 81)
    assert len(a) == len(b) == 64 and NAME_RE.match(a) and NAME_RE.match(b)
    assert a != b and a[:55] == b[:55] == ("server__" + "a" * 47)
    assert portable_name("server__", "a" * 80) == a  # stable from run to run


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ({"content": [{"type": "text", "text": "hello"}]}, "hello"),
        ({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "a\nb"),
        ({"content": [{"type": "text", "text": '{"sum": 3}'}], "structuredContent": {"sum": 3}}, {"sum": 3}),
        ({"content": []}, ""),
        (
            {"content": [{"type": "image", "data": "AAAA", "mimeType": "image/png"}]},
            "[image image/png, about 3 bytes, not shown]",
        ),
        (
            {"content": [{"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}}]},
            "inside",
        ),
        (
            {"content": [{"type": "resource", "resource": {"uri": "file:///a.bin", "mimeType": "x/y", "blob": "AA"}}]},
            "[resource file:///a.bin x/y, binary, not shown]",
        ),
        (
            {"content": [{"type": "resource_link", "uri": "file:///b", "name": "b"}]},
            "[resource link file:///b b]",
        ),
        ({"content": [{"type": "hologram"}]}, "[hologram content, not shown]"),
    ],
)
def test_results_map_to_values(data: dict[str, Any], value: Any) -> None:
    assert result_value(data) == value


def test_is_error_results_raise_their_text() -> None:
    with pytest.raises(ToolFailed, match=r"^no such file: a\.txt$"):
        result_value({"content": [{"type": "text", "text": "no such file: a.txt"}], "isError": True})
    with pytest.raises(ToolFailed, match=r"^the MCP tool reported an error without a message$"):
        result_value({"content": [], "isError": True, "structuredContent": {"x": 1}})

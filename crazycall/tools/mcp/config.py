"""One MCP server's configuration (a checked tools.yaml ``mcp_servers:`` entry) and the names of its tools.

Owns the defaults (a stdio server runs in its tools.yaml's folder, like a command tool; ``startup_timeout``),
the mapping of server-side tool names to portable ones, which listed tools are offered (``include``/
``exclude``, and never one crazycall cannot call, see ``left_out_reason``) and the checks that make a
misconfigured server a clear configuration error before or right after it starts.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crazycall.errors import ConfigError
from crazycall.tools.yaml_file import McpServerEntry

DEFAULT_STARTUP_TIMEOUT = 30.0
NAME_LIMIT = 64
_NOT_PORTABLE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True)
class ServerConfig:
    name: str
    source: str
    """``tools.yaml:LINE`` of the server's entry."""
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    """A stdio server's working folder: ``cwd:`` relative to its tools.yaml, by default that tools.yaml's folder."""
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    prefix: str = ""
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    timeout: float | None = None
    confirm: bool | tuple[str, ...] = False

    def needs_confirm(self, tool: str) -> bool:
        return self.confirm if isinstance(self.confirm, bool) else tool in self.confirm


def server_config(entry: McpServerEntry) -> ServerConfig:
    """The checked configuration of one ``mcp_servers`` entry (paths relative to its tools.yaml)."""
    v = entry.values
    folder = entry.file.parent
    command = v.get("command")
    if command is not None and ("/" in command or "\\" in command) and not Path(command).is_absolute():
        command = str(folder / command)  # like a command tool's program: relative to tools.yaml
    cwd = Path(v.get("cwd", "."))
    return ServerConfig(
        name=entry.name,
        source=entry.source,
        command=command,
        args=tuple(v.get("args", ())),
        env=dict(v.get("env", {})),
        # like a command tool: the tools.yaml's folder, never wherever crazycall happens to be started from
        cwd=None if command is None else cwd if cwd.is_absolute() else (folder / cwd).absolute(),
        url=v.get("url"),
        headers=dict(v.get("headers", {})),
        prefix=v.get("prefix", f"{entry.name}__"),
        include=tuple(v["include"]) if "include" in v else None,
        exclude=tuple(v.get("exclude", ())),
        startup_timeout=v.get("startup_timeout", DEFAULT_STARTUP_TIMEOUT),
        timeout=v.get("timeout"),
        confirm=v.get("confirm", False),
    )


def portable_name(prefix: str, tool: str) -> str:
    """``prefix + tool`` within ``^[a-zA-Z0-9_-]{1,64}$`` (PROTOCOLS.md §0), stable for a given input."""
    full = prefix + tool
    name = _NOT_PORTABLE.sub("_", full) or "_"
    if len(name) > NAME_LIMIT:
        digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:8]
        name = f"{name[: NAME_LIMIT - 9]}_{digest}"
    return name


def left_out_reason(listed: Mapping[str, Any]) -> str | None:
    """Why a listed tool cannot be called by crazycall (so it is not offered), or None.

    A tool whose ``execution.taskSupport`` is ``required`` answers a plain ``tools/call`` with an error (-32601):
    it only runs as an MCP task, a protocol crazycall does not speak.
    """
    execution = listed.get("execution")
    if isinstance(execution, Mapping) and execution.get("taskSupport") == "required":
        return "it can only run as an MCP task (taskSupport: required), which crazycall does not support"
    return None


def check_names(config: ServerConfig, names: list[str]) -> None:
    """Every name in include, exclude and a confirm list is one of the server's tools (a typo must not leave a
    destructive tool unconfirmed); checked once the server has listed them."""
    from crazycall.tools.registry import unknown_names

    confirm = config.confirm if not isinstance(config.confirm, bool) else ()
    for key, given in (("include", config.include or ()), ("exclude", config.exclude), ("confirm", confirm)):
        if problem := unknown_names(given, names, label=f" ({key}); it has"):
            raise ConfigError(f"{config.source}: MCP server {config.name!r} has no tool(s) {problem}")


def check_command(config: ServerConfig) -> None:
    """A missing local server program or working folder is a clear error before anything starts."""
    where = f"{config.source}: MCP server {config.name!r}"
    if config.cwd is not None and not config.cwd.is_dir():
        raise ConfigError(f"{where}: cwd {str(config.cwd)!r} is not a folder")
    program = config.command
    if program is None or "/" in program or "\\" in program:
        return
    if shutil.which(program) is None:
        raise ConfigError(f"{where}: command not found: {program!r} is not on PATH")


def collision_hint(first_kind: str, second_kind: str) -> str:
    """How to resolve two tools with one name: a server's tool names cannot be changed, its prefix can."""
    if "mcp" in (first_kind, second_kind):
        return "give an MCP server another 'prefix:', or leave the tool out with its 'exclude:'"
    return "rename one of them"

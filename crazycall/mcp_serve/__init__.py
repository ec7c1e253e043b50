"""``crazycall mcp-serve``: the tool registry served over MCP, to any MCP client (README "crazycall mcp-serve").

Modules: ``calls`` (one MCP ``tools/call`` through the same ``ToolRunner`` as ``ask``: validation, timeouts,
output limits, approval, with MCP elicitation as the prompt), ``server`` (the SDK's low-level ``Server`` built
from the registry, and the stdio transport behind ``capture.protect_stdout``), ``http`` (streamable HTTP with a
bearer token, served by uvicorn). The ``mcp`` SDK (the optional extra ``crazycall[mcp]``) is imported only here
and in ``crazycall/tools/mcp/``, and only when the command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "pip install 'crazycall[mcp]'"


@dataclass(frozen=True)
class ServeOptions:
    """What ``mcp-serve``'s flags ask for (checked by ``commands/mcp_serve.py``)."""

    tool_files: tuple[Path, ...] = ()
    plugin_paths: tuple[Path, ...] = ()
    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    approve: tuple[str, ...] = ()
    yes: bool = False
    tool_timeout: float | None = None
    http: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = field(default=None, repr=False)
    transcript: Path | None = None
    verbose: bool = False

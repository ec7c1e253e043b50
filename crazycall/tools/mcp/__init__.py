"""MCP servers as a tool source: one session per server, open for the whole run, called from tool threads.

A tools.yaml ``mcp_servers:`` entry names a local server (``command`` + ``args``, ``env``, ``cwd``: stdio) or a
remote one (``url``, ``headers``: streamable HTTP). Its tools join the registry as ``<prefix><tool>``, where the
prefix defaults to ``<server>__`` (PROTOCOLS.md §0 allows no ``.`` in portable names); characters outside
``[a-zA-Z0-9_-]`` become ``_`` and a name longer than 64 characters is cut and ends in a hash of the full one.
``include``/``exclude`` pick tools by their server-side names; ``startup_timeout`` bounds starting the server
and listing its tools; ``timeout`` is each call's (default: the run's tool timeout); ``confirm`` is true, false
or a list of the server's tool names that need approval.

Modules: ``config`` (an entry's settings, names, checks), ``connect`` (opening a session with the SDK),
``content`` (results and their audience), ``logs`` (the SDK's log records), ``hub`` (the event loop thread, the
sessions, calls). The ``mcp`` package is imported only by ``connect`` and ``hub``, only when a tools.yaml has
``mcp_servers`` (it is the optional extra ``crazycall[mcp]``). YAML is parsed by ``yaml_file.py``; the order of
tools is decided by ``loader.py``.
"""

from __future__ import annotations

from crazycall.tools.mcp.config import (
    DEFAULT_STARTUP_TIMEOUT,
    ServerConfig,
    collision_hint,
    portable_name,
    server_config,
)
from crazycall.tools.mcp.content import result_value
from crazycall.tools.mcp.hub import McpCall, McpHub, mcp_server_record

__all__ = [
    "DEFAULT_STARTUP_TIMEOUT",
    "McpCall",
    "McpHub",
    "ServerConfig",
    "collision_hint",
    "mcp_server_record",
    "portable_name",
    "result_value",
    "server_config",
]

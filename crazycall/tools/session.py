"""A run's tools: load the registry, apply allow/deny lists, build the runner; close what was opened.

Owns the lifetime of everything tool-related in one ``ask`` run (later: MCP sessions kept open for the whole
run, approval rules). ``ask.py`` only enters ``tool_session`` and hands the runner to the loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crazycall.errors import UsageError
from crazycall.tools.registry import DEFAULT_TOOL_TIMEOUT
from crazycall.tools.runner import ToolRunner


@dataclass(frozen=True)
class ToolOptions:
    tool_files: Sequence[Path] = ()
    plugin_paths: Sequence[Path] = ()
    allow: Sequence[str] | None = None
    """--allow-tools: only these are offered (None: all)."""
    deny: Sequence[str] = ()
    """--deny-tools: never offered."""
    approve: Sequence[str] = ()
    """--approve: tools pre-approved for this run."""
    yes: bool = False
    """--yes: every tool pre-approved."""
    tool_timeout: float | None = None
    verbose: bool = False


@contextmanager
def tool_session(options: ToolOptions, tool_choice: str = "auto") -> Iterator[ToolRunner]:
    """The ToolRunner for one run; everything opened for it is closed on exit."""
    from crazycall.tools.loader import load_registry

    registry = load_registry(tuple(options.tool_files), tuple(options.plugin_paths))
    if options.allow is not None or options.deny:
        registry = registry.restrict(options.allow, options.deny)
    if tool_choice not in ("auto", "none", "required") and tool_choice not in registry:
        known = ", ".join(registry.names()) or "no tools are loaded"
        raise UsageError(f"--tool-choice {tool_choice!r} is not an offered tool; known: {known}")
    yield ToolRunner(registry, default_timeout=options.tool_timeout or DEFAULT_TOOL_TIMEOUT, verbose=options.verbose)

"""A run's tools: load the registry, apply allow/deny lists and approval rules, build the runner; close it all.

Owns the lifetime of everything tool-related in one ``ask`` run: MCP sessions are opened here for the whole run
and closed when the ``with`` block ends (whatever way it ends), command tools still running then are killed
(``processes.kill_running``), and the ``Approval`` that remembers "yes for this run" answers is made here,
once per run. ``ask.py`` only enters ``tool_session`` and hands the runner to
the loop. Whether a terminal may be asked is the caller's call (``ToolOptions.interactive``, computed with
``approval.can_prompt``); this module never looks at the process's streams by itself, except to read the
answer from the stdin it is told is a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crazycall.conversation import ToolCall
from crazycall.errors import UsageError
from crazycall.settings import DEFAULT_RESULT_LIMIT, DEFAULT_TOOL_TIMEOUT
from crazycall.tools.approval import Approval, TerminalPrompter
from crazycall.tools.registry import ToolRegistry, unknown_names
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
    result_limit: int | None = None
    """Characters of a result sent to the model (None: the runner's 64 KiB default)."""
    interactive: bool = False
    """The user can be asked at the terminal (stdin, stdout, stderr are TTYs and the output is not JSON).
    False, the safe default: a call that needs confirmation and was not pre-approved is declined, never waited on."""
    before_prompt: Callable[[ToolCall], None] | None = None
    """Called in the main thread just before the user is asked (a renderer clears its live display)."""


@contextmanager
def tool_session(options: ToolOptions, tool_choice: str = "auto") -> Iterator[ToolRunner]:
    """The ToolRunner for one run; everything opened for it (MCP sessions) is closed on exit."""
    from crazycall.tools.loader import open_registry

    with open_registry(tuple(options.tool_files), tuple(options.plugin_paths), verbose=options.verbose) as loaded:
        if not len(loaded):
            from crazycall.tools.loader import looked_in

            where = looked_in(options.tool_files, options.plugin_paths)
            sys.stderr.write(f"crazycall: note: no tools were loaded (looked in {where}); see -t/--tools, --plugins\n")
        _check_names("--approve", options.approve, loaded)
        registry = loaded
        if options.allow is not None or options.deny:
            registry = loaded.restrict(options.allow, options.deny)
        if tool_choice not in ("auto", "none", "required") and tool_choice not in registry:
            known = ", ".join(registry.names()) or "no tools are loaded"
            raise UsageError(f"--tool-choice {tool_choice!r} is not an offered tool; known: {known}")
        try:
            yield ToolRunner(
                registry,
                default_timeout=options.tool_timeout or DEFAULT_TOOL_TIMEOUT,
                result_limit=options.result_limit or DEFAULT_RESULT_LIMIT,
                verbose=options.verbose,
                approval=make_approval(options),
            )
        finally:
            kill_commands()


def kill_commands() -> None:
    """Kill command tools still running (Ctrl-C, an error): their own sessions never saw the terminal's SIGINT."""
    processes = sys.modules.get("crazycall.tools.processes")  # not imported: no command was ever started
    if processes is not None:
        processes.kill_running()


def make_approval(options: ToolOptions) -> Approval:
    """The run's approval rules: pre-approved names, --yes, and a terminal prompter when interactive."""
    prompter = TerminalPrompter(sys.stdin, sys.stderr) if options.interactive else None
    return Approval(options.approve, yes=options.yes, prompter=prompter, before_prompt=options.before_prompt)


def _check_names(flag: str, names: Sequence[str], registry: ToolRegistry) -> None:
    if problem := unknown_names(names, registry.names()):
        raise UsageError(f"{flag}: unknown tool(s): {problem}")

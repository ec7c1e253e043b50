"""The flags ``ask`` and ``chat`` share: one definition each (names, defaults, help are a contract).

Typer reads a command's options from its parameters' defaults; both commands use these objects as defaults,
so a flag cannot drift between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import typer

_PROTOCOL_HELP = "auto (from the model name), chat, responses, messages or gemini."

MODEL = typer.Option(None, "-m", "--model", help="Model name (default gpt-5.4).")
PROTOCOL = typer.Option("auto", "-p", "--protocol", help=_PROTOCOL_HELP)
BASE_URL = typer.Option(None, "--base-url", help="Router base URL.")
API_KEY = typer.Option(None, "--api-key", help="API key (prefer CRAZYROUTER_API_KEY).")
OFFLINE = typer.Option(False, "--offline", help="Use the built-in offline router (no key).")
TOOLS = typer.Option([], "-t", "--tools", help="tools.yaml file (repeatable).")
PLUGINS = typer.Option([], "--plugins", help="Plugin file or folder (repeatable).")
TOOL_CHOICE = typer.Option("auto", "--tool-choice", help="auto, none, required or a tool name.")
NO_PARALLEL = typer.Option(False, "--no-parallel", help="At most one tool call per turn.")
SYSTEM = typer.Option(None, "-s", "--system", help="System prompt.")
MAX_TURNS = typer.Option(None, "--max-turns", min=1, help="Turn limit (default 10).")
MAX_TOKENS = typer.Option(None, "--max-tokens", min=1, help="Output token limit.")
TEMPERATURE = typer.Option(None, "--temperature", help="Sampling temperature.")
STREAM = typer.Option(True, "--stream/--no-stream", help="Stream the answer (default on).")
JSON_OUTPUT = typer.Option(False, "--json", help="Print one JSON object at the end.")
OUTPUT = typer.Option("auto", "-o", "--output", help="auto, rich, plain, json or jsonl.")
QUIET = typer.Option(False, "-q", "--quiet", help="Print only the final text.")
NO_COLOR = typer.Option(False, "--no-color", help="No colours (NO_COLOR is honoured too).")
NO_REASONING = typer.Option(False, "--no-reasoning", help="Hide reasoning text.")
FAIL_ON_TOOL_ERROR = typer.Option(False, "--fail-on-tool-error", help="Exit 8 when any tool call ended in error.")
TIMEOUT = typer.Option(None, "--timeout", help="Whole-request deadline, seconds.")
MAX_RETRIES = typer.Option(None, "--max-retries", min=0, help="Retries (default 2).")
TOOL_TIMEOUT = typer.Option(None, "--tool-timeout", help="Per-tool timeout (60 s).")
MAX_COST = typer.Option(
    None, "--max-cost", help="Stop before the next model turn once the run cost this much (USD; needs prices:)."
)
MAX_TOKENS_TOTAL = typer.Option(
    None, "--max-tokens-total", help="Stop before the next model turn once this many tokens were used."
)
VERBOSE = typer.Option(False, "-v", "--verbose", help="Tracebacks for errors and tool failures.")
TRANSCRIPT = typer.Option(None, "--transcript", help="Write the run's transcript here.")
NO_TRANSCRIPT = typer.Option(False, "--no-transcript", help="Do not write a transcript.")
CONTINUE_LAST = typer.Option(False, "--continue", help="Continue the latest conversation.")
RESUME = typer.Option(None, "--resume", help="Continue the conversation with this run id.")
ALLOW_TOOLS = typer.Option([], "--allow-tools", help="Offer only these tools (a,b; repeatable).")
DENY_TOOLS = typer.Option([], "--deny-tools", help="Never offer these tools (a,b; repeatable).")
APPROVE = typer.Option([], "--approve", help="Pre-approve a confirm: tool (repeatable).")
YES = typer.Option(False, "--yes", "-y", help="Pre-approve every tool that needs confirmation.")


def tool_names(values: list[str]) -> tuple[str, ...]:
    """Repeated ``--allow-tools a,b --allow-tools c`` -> ("a", "b", "c"): repeats add up."""
    return tuple(n.strip() for n in ",".join(values).split(",") if n.strip())


def shared_options(given: Mapping[str, Any]) -> dict[str, Any]:
    """The ``AskOptions`` fields that come from the flags ``ask`` and ``chat`` share, read from the command's
    parameters by name (``given``: its ``locals()``), so the two commands cannot map a flag differently."""
    from crazycall.settings import FLAGS

    return {
        "settings": {name: given[name] for name in FLAGS},  # every setting flag is a parameter of its name
        "protocol": given["protocol"],
        "offline": given["offline"],
        "tool_files": given["tools"],
        "plugin_paths": given["plugins"],
        "tool_choice": given["tool_choice"],
        "parallel": not given["no_parallel"],
        "system": given["system"],
        "temperature": given["temperature"],
        "stream": given["stream"],
        "color": not given["no_color"],
        "show_reasoning": not given["no_reasoning"],
        "verbose": given["verbose"],
        "transcript": given["transcript"],
        "save_transcript": not given["no_transcript"],
        "continue_last": given["continue_last"],
        "resume": given["resume"],
        "allow_tools": tool_names(given["allow_tools"]) if given["allow_tools"] else None,  # None: no allow list
        "deny_tools": tool_names(given["deny_tools"]),
        "approve": tuple(given["approve"]),
        "yes": given["yes"],
        "replay": given["replay"],
    }

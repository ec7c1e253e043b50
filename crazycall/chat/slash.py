"""Slash commands: their names and help (a contract), and parsing a line into one.

A line is a command when it starts with ``/``; ``//text`` sends ``/text`` as a message. An unknown name is a
``UsageError`` with a did-you-mean, so the REPL prints one line and prompts again.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from crazycall.errors import UsageError

COMMANDS: dict[str, str] = {
    "help": "this list",
    "model": "NAME: switch model (the protocol follows the routing rules unless /protocol pinned it)",
    "protocol": "NAME: speak this protocol (auto, chat, responses, messages or gemini)",
    "tools": "list the tools; /tools enable|disable NAME",
    "system": "TEXT: set the system prompt (no TEXT: clear it)",
    "schema": "[SCHEMA|off]: the answers must follow this JSON Schema (inline or a file); off clears it",
    "retry": "resend the last user message",
    "undo": "drop the last exchange",
    "clear": "start a new conversation with the same settings",
    "usage": "tokens so far, per model",
    "save": "FILE: write the conversation as Markdown",
    "transcript": "the path of this session's transcript",
    "exit": "leave (Ctrl-D does too)",
}

NEEDS_ARGUMENT = frozenset({"model", "protocol", "save"})


@dataclass(frozen=True)
class Slash:
    name: str
    argument: str = ""


def is_command(line: str) -> bool:
    return line.startswith("/") and not line.startswith("//")


def unescape(line: str) -> str:
    """``//text`` is the message ``/text``."""
    return line[1:] if line.startswith("//") else line


def parse(line: str) -> Slash:
    """``/model  gpt-5.4`` -> Slash("model", "gpt-5.4"); errors name the command and say what is missing."""
    word, _, rest = line[1:].strip().partition(" ")
    name, argument = word.lower(), rest.strip()
    if name not in COMMANDS:
        raise UsageError(_unknown(name))
    if name in NEEDS_ARGUMENT and not argument:
        raise UsageError(f"/{name} needs an argument: /{name} {COMMANDS[name].split(':')[0]}")
    return Slash(name, argument)


def _unknown(name: str) -> str:
    shown = f"/{name}" if name else "/"
    close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
    if not close and name:
        close = [c for c in COMMANDS if c.startswith(name)][:1]
    hint = f" (did you mean /{close[0]}?)" if close else ""
    return f"unknown command {shown}{hint}; /help lists the commands"


def help_lines() -> list[str]:
    width = max(len(n) for n in COMMANDS) + 1
    lines = [f"/{name:<{width}} {text}" for name, text in COMMANDS.items()]
    lines.append("Esc Enter (or Alt-Enter) inserts a newline; Ctrl-C stops a turn; Ctrl-D leaves.")
    return lines

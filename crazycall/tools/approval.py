"""Approval: which tool calls may run without asking, asking at a terminal, and declining without one.

Rules (README "Approval"):

- Only tools marked ``confirm`` (tools.yaml ``confirm: true``, ``@tool(confirm=True)``, an MCP server's
  ``confirm``) are ever held back. ``--yes`` approves every call; ``--approve NAME`` approves every call of NAME.
- With a prompter (an interactive terminal, see ``can_prompt``) the user sees the tool's name and arguments and
  answers yes once / yes for this run / no. With none, the call is declined at once: nothing ever waits for
  input that cannot come (scripts, CI, ``-o json``, stdin closed or a pipe).
- A declined call is not run; its result is an error telling the model it was not permitted or that the user
  declined, and the run goes on.

This module owns those rules, the prompt's wording and the terminal check. It does not decide when the prompt
is shown relative to other output: the runner asks in the caller's thread before any tool of the turn starts,
and ``before_prompt`` lets the caller clear a live display first. "Yes for this run" lives in the ``Approval``
object, which ``tool_session`` makes once per run.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from crazycall.conversation import ToolCall

APPROVE_ONCE = "once"
APPROVE_RUN = "run"
DECLINE = "no"
NOT_PERMITTED = "not_permitted"
USER_DECLINED = "user_declined"

_ANSWERS = {
    "y": APPROVE_ONCE,
    "yes": APPROVE_ONCE,
    "a": APPROVE_RUN,
    "always": APPROVE_RUN,
    "n": DECLINE,
    "no": DECLINE,
    "": DECLINE,
}
_MAX_ASKS = 3
_NO_PROMPT_MODES = ("json", "jsonl")


class Prompter(Protocol):
    def __call__(self, call: ToolCall) -> str:
        """Ask about one call; returns APPROVE_ONCE, APPROVE_RUN or DECLINE."""
        ...


@dataclass(frozen=True)
class Declined:
    """Why a call was not run: ``reason`` is NOT_PERMITTED or USER_DECLINED, ``message`` is for the model."""

    reason: str
    message: str


def not_permitted(name: str) -> Declined:
    return Declined(
        NOT_PERMITTED,
        f"not permitted: tool {name} needs the user's confirmation and this run cannot ask for it (no "
        f"interactive terminal), so it was not run. The user can allow it with --approve {name} or --yes; "
        "do not call it again in this run.",
    )


def user_declined(name: str) -> Declined:
    return Declined(
        USER_DECLINED,
        f"the user declined: tool {name} was not run. Do not call it again unless the user asks; "
        "continue without its result.",
    )


def declined_for_user(reason: str, name: str) -> str:
    """What the person running crazycall reads about a declined call (the model reads ``Declined.message``):
    short, and with the flag that allows the call when no terminal could ask."""
    if reason == NOT_PERMITTED:
        return (
            f"not run: {name} needs confirmation and there is no terminal to ask at; "
            f"allow it with --approve {name} (or --yes)"
        )
    return f"not run: you declined {name}"


class Approval:
    """One run's approval state: pre-approved names, the prompter (or None) and "yes for this run" answers."""

    def __init__(
        self,
        approve: Iterable[str] = (),
        *,
        yes: bool = False,
        prompter: Prompter | None = None,
        before_prompt: Callable[[ToolCall], None] | None = None,
    ) -> None:
        self.yes = yes
        self.approved = set(approve)
        self.prompter = prompter
        self.before_prompt = before_prompt

    def review(self, call: ToolCall, confirm: bool) -> Declined | None:
        """None when the call may run; else why not. May ask the user (in the caller's thread)."""
        if not confirm or self.yes or call.name in self.approved:
            return None
        if self.prompter is None:
            return not_permitted(call.name)
        if self.before_prompt is not None:
            self.before_prompt(call)
        answer = self.prompter(call)
        if answer == APPROVE_RUN:
            self.approved.add(call.name)
            return None
        if answer == APPROVE_ONCE:
            return None
        return user_declined(call.name)


@dataclass(frozen=True)
class ToolPrompt:
    """Whether this run may ask at a terminal, and what to call first so a live display steps aside."""

    interactive: bool = False
    before_prompt: Callable[[ToolCall], None] | None = None


def can_prompt(output: str, stdin: Any, stdout: Any, stderr: Any) -> bool:
    """Whether a run may ask the user: stdin, stdout and stderr are terminals and the output is not JSON."""
    if output in _NO_PROMPT_MODES:
        return False
    return all(_isatty(stream) for stream in (stdin, stdout, stderr))


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and not getattr(stream, "closed", False) and bool(stream.isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


class TerminalPrompter:
    """Shows a call on ``out`` (stderr) and reads the answer from ``stdin``, a terminal.

    End of input (Ctrl-D) or three unreadable answers decline; Ctrl-C interrupts the run as anywhere else.
    """

    def __init__(self, stdin: TextIO, out: TextIO) -> None:
        self.stdin = stdin
        self.out = out

    def __call__(self, call: ToolCall) -> str:
        self.out.write(describe_call(call, self._strong))
        for _ in range(_MAX_ASKS):
            self.out.write(self._strong("Run it? [y] yes once, [a] yes for this run, [n] no (default): "))
            self.out.flush()
            try:
                line = self.stdin.readline()
            except KeyboardInterrupt:  # Ctrl-C: "interrupted" goes on a line of its own, not after the question
                self.out.write("\n")
                self.out.flush()
                raise
            if not line:  # end of input: nobody is there to say yes
                self.out.write("\n")
                return DECLINE
            answer = _ANSWERS.get(line.strip().lower())
            if answer is not None:
                return answer
            self.out.write("Please answer y, a or n.\n")
        return DECLINE

    def _strong(self, text: str) -> str:
        """Bold (and yellow unless NO_COLOR) at a terminal, so the question stands out from the run's output
        even without colour."""
        if not _isatty(self.out):
            return text
        colour = "" if os.environ.get("NO_COLOR") else ";33"
        return f"\x1b[1{colour}m{text}\x1b[0m"


def describe_call(call: ToolCall, strong: Callable[[str], str] = str) -> str:
    """The request as shown to the user: the tool's name and its arguments as indented JSON."""
    raw = call.arguments_error is not None
    args = call.raw_arguments if raw else json.dumps(call.arguments, ensure_ascii=False, indent=2)
    head = strong(f"Tool {_visible(call.name)} needs your approval. Arguments:")
    return f"\n{head}\n{_visible(args)}\n"


def _visible(text: str) -> str:
    """Control and format characters escaped, so arguments cannot redraw or disguise the prompt.

    JSON already escapes C0 controls; C1 controls (a CSI introducer is one) and bidirectional overrides are
    escaped here too, leaving newlines from ``indent`` alone.
    """
    return "".join(
        f"\\u{ord(ch):04x}" if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text
    )

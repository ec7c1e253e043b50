"""Where chat's input comes from: prompt_toolkit at a terminal (history persisted under the XDG state folder,
up/down and Ctrl-R search, Esc-Enter / Alt-Enter for a newline, completion of slash commands and tool names),
or one prompt per line from a stdin that is not a terminal (nothing ever waits for a key press).

Both raise ``EOFError`` at the end of input (Ctrl-D) and let ``KeyboardInterrupt`` (Ctrl-C) through.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

PROMPT = "you> "
HISTORY_FILE = "chat_history"


class Reader(Protocol):
    def read(self) -> str: ...


def history_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/crazycall/chat_history`` (``~/.local/state/...`` when the variable is unset)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "crazycall" / HISTORY_FILE


class LineReader:
    """One prompt per line of a stdin that is not a terminal."""

    def __init__(self, stdin: TextIO) -> None:
        self.stdin = stdin

    def read(self) -> str:
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")


class TerminalReader:
    """A prompt_toolkit ``PromptSession`` (imported here, when a terminal chat starts, and nowhere else)."""

    def __init__(self, words: Iterable[str], history: Path | None = None) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import WordCompleter
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("escape", "enter")  # Alt-Enter sends the same keys
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        path = history_path() if history is None else history
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            stored: Any = FileHistory(str(path))
        except OSError:  # a read-only home: history for this session only
            stored = InMemoryHistory()
        self.session: Any = PromptSession(
            history=stored,
            completer=WordCompleter(list(words), WORD=True),
            key_bindings=bindings,
            complete_while_typing=False,
        )

    def read(self) -> str:
        return str(self.session.prompt(PROMPT))

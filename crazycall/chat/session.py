"""A chat session's state, kept apart from any I/O so each slash command's effect can be tested alone.

Owns the conversation as it stands between exchanges, the model and protocol (and whether ``/protocol``
pinned the protocol), tokens used per model, the exchanges so far (for ``/undo`` and ``/retry``) and the tools
the user disabled. The conversation only changes between exchanges; an exchange's own turns are the loop's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crazycall.conversation import Conversation, Usage
from crazycall.errors import UsageError


@dataclass
class ChatSession:
    conversation: Conversation
    model: str
    protocol: str
    pinned: str = "auto"
    """The protocol /protocol (or -p) asked for; ``auto`` lets /model route by name."""
    usage: dict[str, Usage] = field(default_factory=dict)
    turns: int = 0
    tool_calls: int = 0
    exchanges: list[int] = field(default_factory=list)
    """For each exchange of this session, how many messages the conversation held before it (for /undo)."""
    last_prompt: str | None = None
    disabled: set[str] = field(default_factory=set)

    def begin(self, prompt: str) -> None:
        """An exchange starts from the conversation as it is now."""
        self.exchanges.append(len(self.conversation.messages))
        self.last_prompt = prompt

    def finish(self, conversation: Conversation, model: str, usage: Usage, turns: int, tool_calls: int) -> None:
        """An exchange ended (answered, failed or interrupted): keep what it added and what it cost."""
        self.conversation = conversation
        self.usage[model] = self.usage.get(model, Usage()) + usage
        self.turns += turns
        self.tool_calls += tool_calls

    def undo(self) -> int:
        """Drop the last exchange (its user message, tool calls, results and answer); returns messages dropped."""
        if not self.exchanges:
            raise UsageError("/undo: nothing to undo in this session")
        keep = self.exchanges.pop()
        dropped = len(self.conversation.messages) - keep
        self.conversation = Conversation(self.conversation.system, self.conversation.messages[:keep])
        return dropped

    def retry_prompt(self) -> str:
        """/retry: the last user message, with its exchange undone so it is sent once more in its place."""
        if self.last_prompt is None or not self.exchanges:
            raise UsageError("/retry: no message to resend yet")
        prompt = self.last_prompt
        self.undo()
        return prompt

    def clear(self) -> None:
        self.conversation = Conversation(self.conversation.system)
        self.exchanges.clear()
        self.last_prompt = None

    def set_system(self, text: str) -> None:
        self.conversation = Conversation(text or None, self.conversation.messages)

    def set_tool(self, name: str, enabled: bool, known: list[str]) -> None:
        if name not in known:
            raise UsageError(f"/tools: no tool named {name!r}; known: {', '.join(known) or 'none loaded'}")
        (self.disabled.discard if enabled else self.disabled.add)(name)

    def total_tokens(self) -> tuple[int, int]:
        return sum(u.input_tokens for u in self.usage.values()), sum(u.output_tokens for u in self.usage.values())

    def usage_lines(self) -> list[str]:
        if not self.usage:
            return ["no tokens used yet"]
        lines = [f"{m}: {u.input_tokens} in / {u.output_tokens} out" for m, u in self.usage.items()]
        tin, tout = self.total_tokens()
        return [*lines, f"total: {tin} in / {tout} out"]

    def summary(self, run_id: str) -> str:
        tin, tout = self.total_tokens()
        turns, calls = _count(self.turns, "turn"), _count(self.tool_calls, "tool call")
        return f"chat ended: {turns}, {calls}, {tin} in / {tout} out tokens, run {run_id}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

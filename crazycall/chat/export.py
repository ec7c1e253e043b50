"""``/save FILE``: a conversation as Markdown (messages, tool calls with their arguments, results)."""

from __future__ import annotations

from crazycall.conversation import Conversation, ReasoningPart, TextPart, ToolCall, ToolResult
from crazycall.redact import redact

_TITLES = {"user": "User", "assistant": "Assistant", "tool": "Tool results"}


def _fence(text: str, lang: str = "") -> str:
    """A fence longer than any run of backticks in ``text``, so hostile content cannot close it."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def to_markdown(conversation: Conversation, model: str, protocol: str) -> str:
    out = [f"# crazycall chat ({model} via {protocol})", ""]
    if conversation.system:
        out += ["## System", "", conversation.system, ""]
    for message in conversation.messages:
        out += [f"## {_TITLES[message.role]}", ""]
        for part in message.parts:
            if isinstance(part, TextPart) and part.text:
                out += [part.text, ""]
            elif isinstance(part, ReasoningPart) and part.text:
                out += ["> " + line for line in part.text.splitlines()] + [""]
            elif isinstance(part, ToolCall):
                out += [f"**Tool call** `{part.name}` (id `{part.id}`):", "", _fence(part.raw_arguments, "json"), ""]
            elif isinstance(part, ToolResult):
                label = "error" if part.is_error else "result"
                out += [f"**Tool {label}** `{part.name}` (id `{part.call_id}`):", "", _fence(part.content), ""]
    return redact("\n".join(out))

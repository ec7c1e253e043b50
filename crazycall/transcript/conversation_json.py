"""The neutral conversation's JSON form: what a transcript stores and ``--continue`` / ``--resume`` read back.

``{"system": str | null, "messages": [{"role", "parts": [...]}]}`` with parts ``{"type": "text", "text",
"provider_data"}``, ``{"type": "reasoning", "text", "provider_data"}``, ``{"type": "tool_call", "id", "name",
"arguments", "raw_arguments", "arguments_error", "provider_data"}`` and ``{"type": "tool_result", "call_id",
"name", "content", "is_error"}``. Reading refuses anything else with a ValueError naming what is wrong; where
the JSON lives (the transcript) and what a bad file means for the user are the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crazycall.conversation import Conversation, Message, Part, ReasoningPart, TextPart, ToolCall, ToolResult


def part_to_json(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text, "provider_data": dict(part.provider_data)}
    if isinstance(part, ReasoningPart):
        return {"type": "reasoning", "text": part.text, "provider_data": dict(part.provider_data)}
    if isinstance(part, ToolCall):
        return {
            "type": "tool_call",
            "id": part.id,
            "name": part.name,
            "arguments": part.arguments,
            "raw_arguments": part.raw_arguments,
            "arguments_error": part.arguments_error,
            "provider_data": dict(part.provider_data),
        }
    return {
        "type": "tool_result",
        "call_id": part.call_id,
        "name": part.name,
        "content": part.content,
        "is_error": part.is_error,
    }


def message_to_json(message: Message) -> dict[str, Any]:
    return {"role": message.role, "parts": [part_to_json(p) for p in message.parts]}


def conversation_to_json(conv: Conversation) -> dict[str, Any]:
    return {"system": conv.system, "messages": [message_to_json(m) for m in conv.messages]}


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def _mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} must be an object")
    return value


def part_from_json(data: Any) -> Part:
    if not isinstance(data, dict):
        raise ValueError("a part must be an object")
    kind = data.get("type")
    if kind == "text":
        return TextPart(_str(data, "text"), _mapping(data, "provider_data"))
    if kind == "reasoning":
        return ReasoningPart(_str(data, "text"), _mapping(data, "provider_data"))
    if kind == "tool_call":
        error = data.get("arguments_error")
        return ToolCall(
            _str(data, "id"),
            _str(data, "name"),
            _mapping(data, "arguments"),
            _str(data, "raw_arguments"),
            _mapping(data, "provider_data"),
            error if isinstance(error, str) else None,
        )
    if kind == "tool_result":
        is_error = data.get("is_error") is True
        return ToolResult(_str(data, "call_id"), _str(data, "name"), _str(data, "content"), is_error)
    raise ValueError(f"unknown part type {kind!r}")


def message_from_json(data: Any) -> Message:
    if not isinstance(data, dict) or data.get("role") not in ("user", "assistant", "tool"):
        raise ValueError("a message must be an object with role user, assistant or tool")
    parts = data.get("parts")
    if not isinstance(parts, list):
        raise ValueError("a message's parts must be a list")
    return Message(data["role"], tuple(part_from_json(p) for p in parts))


def conversation_from_json(data: Any) -> Conversation:
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ValueError("a conversation must be an object with a messages list")
    system = data.get("system")
    messages = tuple(message_from_json(m) for m in data["messages"])
    return Conversation(system if isinstance(system, str) else None, messages)

"""What an MCP tool result becomes: the value the model gets and the text shown to the user.

Results: ``structuredContent`` when the server sends it, else the text of the content blocks; ``isError`` is an
error result. Content blocks follow their ``annotations.audience``: a block meant only for the user is shown to
the user (as the call's output) and never sent to the model; a block meant only for the assistant is sent to the
model and not repeated as output; a block without an audience (or with both) goes to the model, as before.
Binary blocks (images, audio, blobs) are described, never sent as base64 text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crazycall.tools.registry import ToolFailed

USER_ONLY_NOTE = "[the tool's content was meant for the user and was shown to them]"


def for_user_only(block: Mapping[str, Any]) -> bool:
    annotations = block.get("annotations")
    audience = annotations.get("audience") if isinstance(annotations, Mapping) else None
    return isinstance(audience, list) and "user" in audience and "assistant" not in audience


def split_result(data: Mapping[str, Any]) -> tuple[Any, str, bool]:
    """A ``CallToolResult`` (as wire JSON) -> (the value for the model, the text for the user only, isError).

    For an error the value is the model's text (the message of the error result).
    """
    blocks = [b for b in data.get("content") or [] if isinstance(b, Mapping)]
    user = "\n".join(block_text(b) for b in blocks if for_user_only(b))
    text = "\n".join(block_text(b) for b in blocks if not for_user_only(b))
    if data.get("isError"):
        return text or "the MCP tool reported an error without a message", user, True
    structured = data.get("structuredContent")
    if structured is not None:
        return structured, user, False
    return (text if text or not user else USER_ONLY_NOTE), user, False


def result_value(data: Mapping[str, Any]) -> Any:
    """The tool's value for the model (see ``split_result``); ``isError`` -> ToolFailed with its text."""
    value, _user, is_error = split_result(data)
    if is_error:
        raise ToolFailed(value)
    return value


def block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind in ("image", "audio"):
        size = len(str(block.get("data", ""))) * 3 // 4
        return f"[{kind} {block.get('mimeType', '')}, about {size} bytes, not shown]"
    if kind == "resource":
        resource = block.get("resource") or {}
        if "text" in resource:
            return str(resource["text"])
        return f"[resource {resource.get('uri', '')} {resource.get('mimeType', '')}, binary, not shown]"
    if kind == "resource_link":
        return f"[resource link {block.get('uri', '')} {block.get('name', '')}]".replace(" ]", "]")
    return f"[{kind} content, not shown]"

"""Anthropic Messages requests (PROTOCOLS.md §3.1, §3.3): the neutral conversation -> the JSON body.

Owns the body layout (top-level ``system``, mandatory ``max_tokens``, tools with ``input_schema``,
``tool_choice`` objects), the echo of assistant turns (text, ``tool_use``, and ``thinking`` /
``redacted_thinking`` blocks kept verbatim in ``provider_data["messages"]["block"]``), merging user-side turns
with ``tool_result`` blocks first, and the tool-use id cleanup. It does not parse anything coming back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from crazycall.conversation import Conversation, Message, Part, ReasoningPart, TextPart, ToolCall, ToolSpec
from crazycall.protocols.base import (
    Auth,
    HttpRequest,
    RequestOptions,
    provider_data_for,
    response_schema,
    tool_choice_kind,
)

NAME = "messages"
PATH = "/v1/messages"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # PROTOCOLS.md §3.6: max_tokens is mandatory

_ID_OK = re.compile(r"[a-zA-Z0-9_-]+")
_ID_BAD = re.compile(r"[^a-zA-Z0-9_-]")


def clean_id(call_id: str) -> str:
    """A tool-use id Anthropic accepts (``^[a-zA-Z0-9_-]+$``, PROTOCOLS.md §3.3 and §6).

    Valid ids pass unchanged. Others (ids from other protocols, e.g. ``call:abc/1``) get every bad character
    replaced by ``_`` plus a short hash of the original, so two ids that differ only in bad characters stay
    distinct. A pure function of the id, hence the same on ``tool_use`` and ``tool_result``.
    """
    if _ID_OK.fullmatch(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{_ID_BAD.sub('_', call_id)}_{digest}"


def build_request(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
    # anthropic-version is also part of auth(); sending it here keeps a keyless request well-formed
    return HttpRequest(
        path=PATH, body=build_body(conv, tools, opts), stream=opts.stream, headers={"anthropic-version": API_VERSION}
    )


def auth(api_key: str) -> Auth:
    return Auth(headers={"x-api-key": api_key, "anthropic-version": API_VERSION})


def build_body(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> dict[str, Any]:
    max_tokens = opts.max_tokens if opts.max_tokens is not None else DEFAULT_MAX_TOKENS
    body: dict[str, Any] = {"model": opts.model, "max_tokens": max_tokens}
    if conv.system:
        body["system"] = conv.system  # PROTOCOLS.md §3.1: top level; there is no system role in messages
    body["messages"] = _wire_messages(conv.messages)
    body.update(_wire_tools(tools, opts))
    if opts.temperature is not None:
        body["temperature"] = opts.temperature
    schema = response_schema(opts)
    if schema is not None:
        # --schema: structured outputs, GA shape output_config.format {type: json_schema, schema}
        # (https://platform.claude.com/docs/en/build-with-claude/structured-outputs; it replaced the beta's
        # top-level output_format and its anthropic-beta: structured-outputs-2025-11-13 header). The answer
        # arrives as ordinary text blocks holding the JSON document; tools still work alongside it.
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    if opts.stream:
        body["stream"] = True
    return body


def _wire_tools(tools: Sequence[ToolSpec], opts: RequestOptions) -> dict[str, Any]:
    if not tools:
        return {}
    wire: list[dict[str, Any]] = []
    for spec in tools:
        schema = dict(spec.parameters)
        if "type" not in schema:  # PROTOCOLS.md §3.1: input_schema.type must be "object"
            schema = {"type": "object", **schema}
        tool: dict[str, Any] = {"name": spec.name}
        if spec.description:
            tool["description"] = spec.description
        tool["input_schema"] = schema
        wire.append(tool)
    kind, name = tool_choice_kind(opts.tool_choice, tools)
    choice: dict[str, Any] = {"type": {"required": "any"}.get(kind, kind)}  # PROTOCOLS.md §6
    if name is not None:
        choice["name"] = name
    if not opts.parallel_tool_calls and kind != "none":  # §3.1: only auto / any / tool accept it
        choice["disable_parallel_tool_use"] = True
    return {"tools": wire, "tool_choice": choice}


def _block(part: Part) -> dict[str, Any] | None:
    """One neutral part as a content block, or None when it has nothing to send on this wire."""
    if isinstance(part, TextPart):
        # Anthropic rejects empty text blocks
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ReasoningPart):
        # §3.3: our own thinking blocks go back unchanged (the signature is checked); other protocols'
        # reasoning cannot be sent as a thinking block and is dropped
        data = provider_data_for(part, NAME)
        block = data.get("block") if isinstance(data, Mapping) else None
        return dict(block) if isinstance(block, Mapping) else None
    if isinstance(part, ToolCall):
        # §3.6: input is always an object; arguments is {} when the raw arguments were unusable
        return {"type": "tool_use", "id": clean_id(part.id), "name": part.name, "input": dict(part.arguments)}
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": clean_id(part.call_id)}
    if part.content:  # §3.3: content is optional
        result["content"] = part.content
    if part.is_error:
        result["is_error"] = True
    return result


def _wire_message(role: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    if role == "user":
        # PROTOCOLS.md §3.3: the tool_result blocks must come first, any text after them
        results = [b for b in blocks if b.get("type") == "tool_result"]
        blocks = results + [b for b in blocks if b.get("type") != "tool_result"]
        if len(blocks) == 1 and blocks[0].get("type") == "text":
            return {"role": "user", "content": blocks[0]["text"]}
    return {"role": role, "content": blocks}


def _wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Neutral messages as Anthropic turns: tool messages become user turns; same-role turns merge (§3.1)."""
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for message in messages:
        role = "assistant" if message.role == "assistant" else "user"
        blocks = [b for b in map(_block, message.parts) if b is not None]
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    return [_wire_message(role, blocks) for role, blocks in turns]

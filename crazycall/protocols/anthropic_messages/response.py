"""Anthropic Messages replies (PROTOCOLS.md §3.2): a JSON body -> a ModelResponse.

Owns the stop-reason table, usage arithmetic and content-block parsing of a non-streamed body
(text / tool_use / thinking / redacted_thinking; other block types are skipped). The small field readers
here are shared with ``stream.py``; the stream itself is parsed there, error bodies in ``errors.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_OTHER,
    STOP_PAUSE,
    STOP_TOOL_USE,
    ModelResponse,
    Usage,
    encode_arguments,
)
from crazycall.errors import ProtocolViolation
from crazycall.protocols.anthropic_messages.errors import in_band_error
from crazycall.protocols.anthropic_messages.request import NAME
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.jsonutil import opt_str, require_mapping

# PROTOCOLS.md §3.2
STOP_REASONS = {
    "end_turn": STOP_END_TURN,
    "stop_sequence": STOP_END_TURN,
    "max_tokens": STOP_MAX_TOKENS,
    "model_context_window_exceeded": STOP_MAX_TOKENS,
    "tool_use": STOP_TOOL_USE,
    "refusal": STOP_CONTENT_FILTER,
    "pause_turn": STOP_PAUSE,  # §3.3: send the content back unchanged to let the model continue
}

USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def req_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ProtocolViolation(f"{NAME}: expected a string at {where}.{key}, got {type_name(value)}")
    return value


def count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stop_reason(raw: str | None) -> str:
    return STOP_REASONS.get(raw, STOP_OTHER) if raw else STOP_OTHER


def read_usage(value: Any, counts: dict[str, int]) -> None:
    """Overwrite ``counts`` with the numbers present in a usage object (§3.4: they are cumulative)."""
    if not isinstance(value, Mapping):
        return
    for key in USAGE_KEYS:
        number = count(value.get(key))
        if number is not None:
            counts[key] = number


def usage(counts: Mapping[str, int]) -> Usage:
    # PROTOCOLS.md §3.2: the total input is the sum of the three input fields
    inputs = sum(counts.get(k, 0) for k in USAGE_KEYS[:3])
    # no separate reasoning count on this wire: thinking is part of output_tokens
    return Usage(inputs, counts.get("output_tokens", 0), counts.get("cache_read_input_tokens", 0))


def raw_input(value: Any) -> str:
    """``tool_use.input`` as the raw argument string (an object on this wire, §3.2; missing means ``{}``)."""
    if value is None:
        return "{}"
    if isinstance(value, Mapping):
        return encode_arguments(value)
    if isinstance(value, str):  # not Anthropic, but a proxy might send a JSON string: keep it as sent
        return value
    return json.dumps(value, ensure_ascii=False)  # not an object: decode_arguments reports it


def parse_response(body: Any) -> ModelResponse:
    data = require_mapping(body, "the response body", NAME)
    if data.get("type") == "error" or data.get("error") is not None:
        raise in_band_error(data)
    content = data.get("content")
    if not isinstance(content, list):
        raise ProtocolViolation(f"{NAME}: expected a list at content, got {type_name(content)}")
    asm = StreamAssembler(NAME)
    asm.model = opt_str(data.get("model"))
    asm.response_id = opt_str(data.get("id"))
    for index, block in enumerate(content):
        _add_block(asm, index, require_mapping(block, f"content[{index}]", NAME))
    counts: dict[str, int] = {}
    read_usage(data.get("usage"), counts)
    asm.usage = usage(counts)
    raw_stop = opt_str(data.get("stop_reason"))
    return asm.finish(stop_reason(raw_stop), raw_stop)


def _add_block(asm: StreamAssembler, index: int, block: Mapping[str, Any]) -> None:
    """One content block of a non-streamed body into the assembler (unknown block types are skipped)."""
    where = f"content[{index}]"
    kind = block.get("type")
    if kind == "text":
        asm.ensure(index, "text")
        asm.text(req_str(block, "text", where), key=index)
    elif kind == "tool_use":
        asm.start_tool_call(index, req_str(block, "id", where), req_str(block, "name", where))
        asm.set_tool_arguments(index, raw_input(block.get("input")))
    elif kind in ("thinking", "redacted_thinking"):
        text = req_str(block, "thinking", where) if kind == "thinking" else ""
        asm.ensure(index, "reasoning")
        asm.reasoning(text, key=index)
        # §3.3: echoed back unchanged on the next request
        asm.set_provider_data(index, {NAME: {"block": dict(block)}})

"""Anthropic Messages replies (PROTOCOLS.md §3.2, §3.5): a JSON body or an error body -> neutral objects.

Owns the stop-reason and error-type tables, usage arithmetic, content-block parsing of a non-streamed body
(text / tool_use / thinking / redacted_thinking; other block types are skipped) and error bodies. The small
field readers here are shared with ``stream.py``; the stream itself is parsed there.
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
from crazycall.errors import ProtocolViolation, ProviderError
from crazycall.protocols.anthropic_messages.request import ENDPOINT, NAME
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.http_errors import build_error, header, json_error_body
from crazycall.protocols.jsonutil import require_mapping

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

# PROTOCOLS.md §3.5. An in-stream error gets the status of the matching HTTP error so that retry logic treats
# both the same. The billing_error and timeout_error statuses are (unverified) guesses.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def req_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ProtocolViolation(f"{NAME}: expected a string at {where}.{key}, got {type_name(value)}")
    return value


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


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
    return Usage(inputs, counts.get("output_tokens", 0))


def raw_input(value: Any) -> str:
    """``tool_use.input`` as the raw argument string (an object on this wire, §3.2; missing means ``{}``)."""
    if value is None:
        return "{}"
    if isinstance(value, Mapping):
        return encode_arguments(value)
    if isinstance(value, str):  # not Anthropic, but a proxy might send a JSON string: keep it as sent
        return value
    return json.dumps(value, ensure_ascii=False)  # not an object: decode_arguments reports it


def error_from(payload: Mapping[str, Any], status: int | None, headers: Mapping[str, str]) -> ProviderError:
    """A ProviderError from ``{"type":"error","error":{type,message},"request_id"}`` (PROTOCOLS.md §3.5).

    ``status`` None (an error inside a 200 body or stream) takes the status matching the error type.
    """
    err = payload.get("error")
    error_type: str | None = None
    message = "no error message given"
    if isinstance(err, Mapping):
        error_type = opt_str(err.get("type")) or None
        message = opt_str(err.get("message")) or message
    elif isinstance(err, str) and err:
        message = err
    if status is None and error_type is not None:
        status = ERROR_STATUS.get(error_type)
    all_headers = dict(headers)
    request_id = opt_str(payload.get("request_id"))
    if request_id and header(headers, "request-id") is None:
        all_headers["request-id"] = request_id  # the body's copy, when the header got lost on the way
    return build_error(status, message, protocol=NAME, endpoint=ENDPOINT, error_type=error_type, headers=all_headers)


def parse_error_body(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    decoded = json_error_body(body)
    if isinstance(decoded, Mapping) and decoded.get("error") is not None:
        return error_from(decoded, status, headers)
    if isinstance(decoded, Mapping) and isinstance(decoded.get("message"), str):
        message = decoded["message"]
    else:  # HTML from a proxy and the like: build_error truncates it
        message = body.decode("utf-8", "replace").strip() or "(empty error body)"
    return build_error(status, message, protocol=NAME, endpoint=ENDPOINT, error_type=None, headers=headers)


def parse_body(body: Any) -> ModelResponse:
    data = require_mapping(body, "the response body", NAME)
    if data.get("type") == "error" or data.get("error") is not None:
        raise error_from(data, None, {})
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

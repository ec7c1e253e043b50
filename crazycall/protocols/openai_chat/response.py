"""Chat Completions bodies and errors (PROTOCOLS.md §1.2, §1.5): JSON -> ModelResponse / ProviderError.

Owns the readers shared with the stream parser (finish_reason mapping, usage, reasoning and argument
fields, the echo data: tool-call ``extra_content`` and the ``reasoning_content`` marker) and the
``{"error": {...}}`` envelope, whether it comes with an HTTP status, inside a 200 body or inside a stream.
Reads only the choice with index 0.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Hashable, Mapping
from typing import Any

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_OTHER,
    STOP_TOOL_USE,
    ModelResponse,
    Usage,
    encode_arguments,
)
from crazycall.errors import ProtocolViolation, ProviderError
from crazycall.events import ReasoningDelta
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.http_errors import build_error, json_error_body, should_retry_header
from crazycall.protocols.jsonutil import as_int, require_mapping, truncate
from crazycall.protocols.openai_chat.request import NAME, PATH

# PROTOCOLS.md §1.2 finish_reason values; anything else (router inventions) is STOP_OTHER
FINISH = {
    "stop": STOP_END_TURN,
    "length": STOP_MAX_TOKENS,
    "tool_calls": STOP_TOOL_USE,
    "function_call": STOP_TOOL_USE,
    "content_filter": STOP_CONTENT_FILTER,
}

# Errors inside a 200 (body or stream) carry no HTTP status: map the type/code to the status it stands for,
# so retry logic treats them like the HTTP error (PROTOCOLS.md §1.5).
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "api_error": 500,
    "service_unavailable": 503,
    "overloaded_error": 529,
}


def parse_body(body: Any) -> ModelResponse:
    root = require_mapping(body, "the response body", NAME)
    if root.get("error") is not None:
        raise payload_error(root["error"])
    choices = root.get("choices")
    if not isinstance(choices, list):
        raise ProtocolViolation(f"{NAME}: expected a list at choices, got {type(choices).__name__}")
    choice = _first_choice(choices)
    message = require_mapping(choice.get("message"), "choices[0].message", NAME)
    asm = StreamAssembler(NAME)
    read_meta(asm, root)
    add_reasoning(asm, message)
    for text in _content_texts(message.get("content")):
        asm.text(text)
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        asm.text(refusal)  # a refusal is what the model said: show it as text
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise ProtocolViolation(f"{NAME}: expected a list at choices[0].message.tool_calls")
    for i, call in enumerate(calls or ()):
        _add_call(asm, i, call)
    return finish(asm, choice.get("finish_reason"), bool(calls))


# ---------------------------------------------------------------------- readers shared with stream.py


def is_index0(choice: Mapping[str, Any]) -> bool:
    index = choice.get("index", 0)
    return isinstance(index, int) and not isinstance(index, bool) and index == 0


def nonempty(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_meta(asm: StreamAssembler, root: Mapping[str, Any]) -> None:
    model, response_id, usage = root.get("model"), root.get("id"), root.get("usage")
    if model and isinstance(model, str):
        asm.model = model
    if response_id and isinstance(response_id, str):
        asm.response_id = response_id
    if usage is not None and isinstance(usage, Mapping):
        asm.usage = Usage(as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens")))


def add_reasoning(asm: StreamAssembler, holder: Mapping[str, Any]) -> ReasoningDelta | None:
    """Reasoning text outside PROTOCOLS.md §1: DeepSeek/Kimi send ``reasoning_content``, OpenRouter/vLLM
    ``reasoning``. One only is taken, since some routers send both with the same text."""
    for key in ("reasoning_content", "reasoning"):
        value = holder.get(key)
        if isinstance(value, str) and value:
            event = asm.reasoning(value)
            if key == "reasoning_content":
                # DeepSeek and Kimi in thinking mode answer 400 "The reasoning_content in the thinking mode must
                # be passed back" when a tool-call turn comes back without it: mark it for request.py
                asm.set_provider_data("reasoning", {NAME: {"echo": "reasoning_content"}})
            return event
    return None


def arguments_text(value: Any, where: str) -> str:
    """``function.arguments`` is a JSON string (§1.2); null means none; an object (some routers) is encoded."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return encode_arguments(value)
    raise ProtocolViolation(f"{NAME}: expected a JSON string at {where}, got {type(value).__name__}")


def new_call_id() -> str:
    # The wire always sends an id (§6); if a router drops it, results still need a unique id to answer.
    return f"call_{uuid.uuid4().hex[:24]}"


def keep_extra_content(asm: StreamAssembler, key: Hashable, call: Mapping[str, Any]) -> bool:
    """Store ``tool_calls[].extra_content`` (Gemini's thought signature over chat) for the echo; True if any."""
    extra = call.get("extra_content")
    if extra is None:
        return False
    asm.set_provider_data(key, {NAME: {"extra_content": extra}})
    return True


def finish(asm: StreamAssembler, finish_reason: Any, has_calls: bool) -> ModelResponse:
    raw = nonempty(finish_reason)  # some servers send "" for null
    stop = FINISH.get(raw, STOP_OTHER) if raw else STOP_OTHER
    if stop == STOP_TOOL_USE and not has_calls:
        stop = STOP_OTHER  # tools are detected from calls, never from finish_reason (§1.6)
    # A forced tool_choice gives "stop" with calls present: the assembler turns that into tool_use (§1.6).
    return asm.finish(stop, raw)


# ---------------------------------------------------------------------- body internals


def _first_choice(choices: list[Any]) -> Mapping[str, Any]:
    """The choice with index 0 (§1.6: with n > 1 there are several), else the first one."""
    for choice in choices:
        if isinstance(choice, Mapping) and is_index0(choice):
            return choice
    if not choices:
        raise ProtocolViolation(f"{NAME}: the response has no choices[0]")
    return require_mapping(choices[0], "choices[0]", NAME)


def _content_texts(content: Any) -> list[str]:
    """``message.content``: a string, null, or (some routers) a list of text parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content else []
    if isinstance(content, list):
        return [
            p["text"]
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str)
        ]
    raise ProtocolViolation(f"{NAME}: expected a string or null at choices[0].message.content")


def _add_call(asm: StreamAssembler, position: int, raw: Any) -> None:
    where = f"choices[0].message.tool_calls[{position}]"
    call = require_mapping(raw, where, NAME)
    function = require_mapping(call.get("function"), f"{where}.function", NAME)
    name = function.get("name")
    if not isinstance(name, str):
        raise ProtocolViolation(f"{NAME}: expected a string at {where}.function.name")
    key = ("tool", position)
    asm.start_tool_call(key, nonempty(call.get("id")) or new_call_id(), name)
    asm.tool_arguments(key, arguments_text(function.get("arguments"), f"{where}.function.arguments"))
    keep_extra_content(asm, key, call)


# ---------------------------------------------------------------------- errors


def parse_error_body(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    payload = json_error_body(body)  # the §1.5 envelope; proxies may send HTML or bare text instead
    error = payload.get("error", payload) if isinstance(payload, Mapping) else None
    message, error_type, code = _error_fields(error)
    if not message:
        text = body.decode("utf-8", "replace").strip()
        if text.startswith("<"):  # an HTML page from a proxy: keep the words, not the markup
            text = re.sub(r"<[^>]*>", " ", text)
        message = truncate(text) if text.strip() else "(empty error body)"
    return _make_error(status, message, error_type, code, headers)


def payload_error(error: Any) -> ProviderError:
    """An error delivered inside a 200 (a body or a stream payload): no HTTP status, so infer one."""
    message, error_type, code = _error_fields(error)
    # some routers put the HTTP status in code
    status = code if isinstance(code, int) and 400 <= code <= 599 else ERROR_STATUS.get(str(code))
    status = status or ERROR_STATUS.get(error_type or "")
    return _make_error(status, message or "error without a message", error_type, code, {})


def _error_fields(error: Any) -> tuple[str, str | None, str | int | None]:
    """(message, type, code) from the §1.5 error object (or a bare string)."""
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, Mapping):
        return "", None, None
    message = next((error[k] for k in ("message", "detail") if isinstance(error.get(k), str)), "")
    code = error.get("code")
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        code = None
    return message, nonempty(error.get("type")), code


def _make_error(
    status: int | None, message: str, error_type: str | None, code: str | int | None, headers: Mapping[str, str]
) -> ProviderError:
    retryable = should_retry_header(headers)  # x-should-retry overrides the decision when present (§1.5)
    if retryable is None and "insufficient_quota" in (error_type, code):
        retryable = False  # §1.5: a 429 for an empty account; waiting does not help
    label = error_type or (code if isinstance(code, str) else None)
    if error_type and isinstance(code, str) and code and code != error_type:
        label = f"{error_type}/{code}"  # e.g. "requests/rate_limit_exceeded": the code is the telling part
    return build_error(
        status, message, protocol=NAME, endpoint=PATH, error_type=label, headers=headers, retryable=retryable
    )

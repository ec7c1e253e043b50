"""Chat Completions bodies (PROTOCOLS.md §1.2): JSON -> ModelResponse.

Owns the readers shared with the stream parser (finish_reason mapping, usage, reasoning and argument
fields, the echo data: tool-call ``extra_content`` and the ``reasoning_content`` marker). Error envelopes are
``errors.py``'s. Reads only the choice with index 0.
"""

from __future__ import annotations

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
from crazycall.errors import ProtocolViolation
from crazycall.events import ReasoningDelta
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.jsonutil import as_int, nonempty, require_mapping
from crazycall.protocols.openai_chat.errors import in_band_error
from crazycall.protocols.openai_chat.request import NAME

# PROTOCOLS.md §1.2 finish_reason values; anything else (router inventions) is STOP_OTHER
STOP_REASONS = {
    "stop": STOP_END_TURN,
    "length": STOP_MAX_TOKENS,
    "tool_calls": STOP_TOOL_USE,
    "function_call": STOP_TOOL_USE,
    "content_filter": STOP_CONTENT_FILTER,
}


def parse_response(body: Any) -> ModelResponse:
    root = require_mapping(body, "the response body", NAME)
    if root.get("error") is not None:
        raise in_band_error(root["error"])
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


def read_meta(asm: StreamAssembler, root: Mapping[str, Any]) -> None:
    model, response_id, usage = root.get("model"), root.get("id"), root.get("usage")
    if model and isinstance(model, str):
        asm.model = model
    if response_id and isinstance(response_id, str):
        asm.response_id = response_id
    if usage is not None and isinstance(usage, Mapping):
        # prompt_tokens_details.cached_tokens / completion_tokens_details.reasoning_tokens: parts of the totals
        details = usage.get("prompt_tokens_details")
        cached = as_int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
        details = usage.get("completion_tokens_details")
        reasoning = as_int(details.get("reasoning_tokens")) if isinstance(details, Mapping) else 0
        inputs, outputs = as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens"))
        asm.usage = Usage(inputs, outputs, cached, reasoning)


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
    stop = STOP_REASONS.get(raw, STOP_OTHER) if raw else STOP_OTHER
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

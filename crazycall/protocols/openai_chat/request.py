"""Chat Completions request bodies (PROTOCOLS.md §1.1, §1.3): the neutral conversation -> ``messages``.

Owns the message shapes (system first; assistant ``tool_calls`` echoing ids, names and raw argument strings,
plus the ``provider_data["chat"]`` echoes: ``extra_content`` and ``reasoning_content``; one ``tool`` message
per result), the tool declarations and the request switches. Does not parse anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crazycall.conversation import (
    Conversation,
    Message,
    ReasoningPart,
    ToolCall,
    ToolResult,
    ToolSpec,
    encode_arguments,
)
from crazycall.protocols.base import (
    RESPONSE_SCHEMA_NAME,
    Auth,
    HttpRequest,
    RequestOptions,
    provider_data_for,
    response_schema,
    tool_choice_kind,
)

NAME = "chat"
PATH = "/v1/chat/completions"


def build_request(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
    return HttpRequest(path=PATH, body=build_body(conv, tools, opts), stream=opts.stream)


def auth(api_key: str) -> Auth:
    return Auth(headers={"Authorization": f"Bearer {api_key}"})


def build_body(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"model": opts.model, "messages": build_messages(conv)}
    if tools:  # with no tools, send neither tools nor tool_choice nor parallel_tool_calls
        kind, forced = tool_choice_kind(opts.tool_choice, tools)
        body["tools"] = [_tool(spec) for spec in tools]
        body["tool_choice"] = {"type": "function", "function": {"name": forced}} if kind == "tool" else kind
        if not opts.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    if opts.max_tokens is not None:
        # PROTOCOLS.md §1.1: max_tokens is deprecated and reasoning models reject it
        body["max_completion_tokens"] = opts.max_tokens
    if opts.temperature is not None:
        body["temperature"] = opts.temperature
    schema = response_schema(opts)
    if schema is not None:
        # --schema: Structured Outputs, https://platform.openai.com/docs/guides/structured-outputs (Chat
        # Completions: response_format {type: json_schema, json_schema: {name, schema, strict}}); it combines
        # with tools. Not strict unless --strict rewrote the schema (schema_strict.py): a user's schema is
        # rarely a strict-mode schema (PROTOCOLS.md §1.1), and crazycall validates the answer itself.
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": RESPONSE_SCHEMA_NAME, "schema": schema, "strict": opts.response_strict},
        }
    if opts.stream:
        # PROTOCOLS.md §1.4: without include_usage a stream carries no token counts
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def build_messages(conv: Conversation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if conv.system:
        out.append({"role": "system", "content": conv.system})
    for message in conv.messages:
        if message.role == "user":
            out.append({"role": "user", "content": message.text})
        elif message.role == "assistant":
            assistant = _assistant(message)
            if assistant is not None:
                out.append(assistant)
        else:
            out.extend(_tool_message(result) for result in message.tool_results)
    return out


def _plain(value: Any) -> Any:
    """A JSON-ready deep copy (schemas may arrive as read-only mappings or tuples)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _tool(spec: ToolSpec) -> dict[str, Any]:
    # No "strict": user schemas are not strict-mode schemas (PROTOCOLS.md §1.1) and strict would 400 on them.
    function: dict[str, Any] = {"name": spec.name}
    if spec.description:
        function["description"] = spec.description
    function["parameters"] = _plain(spec.parameters)
    return {"type": "function", "function": function}


def _assistant(message: Message) -> dict[str, Any] | None:
    """The assistant turn. ReasoningParts are dropped (PROTOCOLS.md §1 has no field for them) except below."""
    text, calls = message.text, message.tool_calls
    if not text and not calls:
        return None  # an assistant message with content null and no tool_calls is rejected
    out: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        # DeepSeek/Kimi thinking mode: reasoning that arrived as reasoning_content must come back on the
        # tool-call turn, or the next request is a 400 (marked by response.add_reasoning)
        echoed = [
            p.text
            for p in message.parts
            if isinstance(p, ReasoningPart) and _ours(p).get("echo") == "reasoning_content"
        ]
        if echoed:
            out["reasoning_content"] = "".join(echoed)
        out["tool_calls"] = [_wire_call(call) for call in calls]
    return out


def _ours(part: ReasoningPart | ToolCall) -> Mapping[str, Any]:
    data = provider_data_for(part, NAME)
    return data if isinstance(data, Mapping) else {}


def _wire_call(call: ToolCall) -> dict[str, Any]:
    # PROTOCOLS.md §1.3: echo the argument string exactly as received, never re-encoded
    raw = call.raw_arguments
    if not raw and call.arguments:  # a hand-built call with no raw text
        raw = encode_arguments(call.arguments)
    out: dict[str, Any] = {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": raw}}
    ours = _ours(call)
    if "extra_content" in ours:
        # Gemini behind chat puts its thought signature in tool_calls[].extra_content and 400s without it
        out["extra_content"] = _plain(ours["extra_content"])
    return out


def _tool_message(result: ToolResult) -> dict[str, Any]:
    # PROTOCOLS.md §1.3: no name field and no error flag, so an error is marked in the text
    content = "ERROR: " + result.content if result.is_error else result.content
    return {"role": "tool", "tool_call_id": result.call_id, "content": content}

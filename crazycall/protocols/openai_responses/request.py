"""OpenAI Responses, request side: the neutral conversation as a stateless ``/v1/responses`` body.

Owns the body fields, the flat tool declarations and tool_choice spellings, and the echo of received output items
(PROTOCOLS.md §2.1, §2.3, §6). Requests are always stateless (``store: false`` plus encrypted reasoning):
whether the router keeps response state is unverified, so ``previous_response_id`` is never used. It does not
parse anything coming back (``response.py``) and does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from crazycall.conversation import (
    Conversation,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
    ToolSpec,
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

NAME = "responses"
# Non-reasoning models answer `include: ["reasoning.encrypted_content"]` with a 400 "Encrypted content is not
# supported with this model" (reported for gpt-4o, gpt-4.1, gpt-5-chat: pydantic-ai#2865), although §2.3 says
# it does no harm. They produce no reasoning items, so nothing is lost by leaving it out for them.
_NOT_REASONING = re.compile(r"^(gpt-4|gpt-3\.5|chatgpt-)|-chat\b")
PATH = "/v1/responses"


def _tool(spec: ToolSpec) -> dict[str, Any]:
    # Flat declaration (§2.1). `strict` is sent explicitly and false: user schemas are not strict-mode schemas
    # (§1.1 rules), and what the server does when it is left out is unverified.
    return {
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "parameters": dict(spec.parameters),
        "strict": False,
    }


def _tool_choice(choice: str, tools: Sequence[ToolSpec]) -> str | dict[str, Any]:
    kind, name = tool_choice_kind(choice, tools)
    if kind == "tool":
        return {"type": "function", "name": name}  # flat, no nested "function" (§2.1)
    return kind


def _echo(part: Part, item_type: str, call_id: str | None = None) -> dict[str, Any] | None:
    """The output item this part came from, exactly as received, or None when it has none of ours."""
    data = provider_data_for(part, NAME)
    item = data.get("item") if isinstance(data, Mapping) else None
    if not isinstance(item, Mapping) or item.get("type") != item_type:
        return None
    if call_id is not None and item.get("call_id") != call_id:
        return None  # the part was edited after parsing: the neutral fields win
    return dict(item)


def _result_item(result: ToolResult) -> dict[str, Any]:
    # No error flag on the wire (§2.3): the error is said in the text.
    output = f"ERROR: {result.content}" if result.is_error else result.content
    return {"type": "function_call_output", "call_id": result.call_id, "output": output}


def _assistant_item(part: Part) -> dict[str, Any] | None:
    # Items we received are sent back verbatim and in order: reasoning items must travel with their calls
    # and `phase` must survive (§2.3). Anything else is rebuilt from the neutral fields (§6).
    if isinstance(part, ToolCall):
        return _echo(part, "function_call", part.id) or {
            "type": "function_call",
            "call_id": part.id,
            "name": part.name,
            "arguments": part.raw_arguments,
        }
    if isinstance(part, TextPart):
        echoed = _echo(part, "message")
        if echoed is None and part.text:
            echoed = {"role": "assistant", "content": part.text}
        return echoed
    if isinstance(part, ReasoningPart):
        # Foreign reasoning cannot be replayed here. Nor can an item without encrypted_content: a stateless
        # server looks it up by id and answers 404 "Items are not persisted when `store` is set to false" (§2.3).
        item = _echo(part, "reasoning")
        return item if item is not None and item.get("encrypted_content") else None
    return _result_item(part)


def _message_items(msg: Message) -> list[dict[str, Any]]:
    if msg.role == "assistant":
        return [item for part in msg.parts if (item := _assistant_item(part)) is not None]
    items = [_result_item(p) for p in msg.parts if isinstance(p, ToolResult)]
    texts = [{"type": "input_text", "text": p.text} for p in msg.parts if isinstance(p, TextPart)]
    if texts:
        items.append({"role": "user", "content": texts})
    return items


def build_request(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
    return HttpRequest(PATH, build_body(conv, tools, opts), stream=opts.stream)


def auth(api_key: str) -> Auth:
    return Auth(headers={"Authorization": f"Bearer {api_key}"})


def build_body(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"model": opts.model}
    if conv.system:
        body["instructions"] = conv.system  # not carried between turns, so sent every time (§2.1)
    body["input"] = [item for msg in conv.messages for item in _message_items(msg)]
    if tools:
        body["tools"] = [_tool(spec) for spec in tools]
        body["tool_choice"] = _tool_choice(opts.tool_choice, tools)
        if not opts.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    if opts.max_tokens is not None:
        body["max_output_tokens"] = opts.max_tokens
    if opts.temperature is not None:
        body["temperature"] = opts.temperature
    schema = response_schema(opts)
    if schema is not None:
        # --schema: https://platform.openai.com/docs/guides/structured-outputs (Responses API:
        # text.format {type: json_schema, name, schema, strict}, flat, unlike Chat's nested json_schema).
        # Strict only with --strict, for the reason given in openai_chat/request.py.
        body["text"] = {
            "format": {
                "type": "json_schema",
                "name": RESPONSE_SCHEMA_NAME,
                "schema": schema,
                "strict": opts.response_strict,
            }
        }
    # Stateless: the server keeps nothing, so reasoning must come back encrypted to be echoed (§2.3).
    body["store"] = False
    if _NOT_REASONING.search(opts.model.lower().rsplit("/", 1)[-1]) is None:
        body["include"] = ["reasoning.encrypted_content"]
    if opts.stream:
        body["stream"] = True
    return body

"""Neutral conversation -> a Gemini ``generateContent`` / ``streamGenerateContent`` request (PROTOCOLS.md §4.1, §4.3).

Owns the path (the model is in the URL, never in the body), ``systemInstruction``, ``contents`` with the model
turns echoed part by part (thought signatures and thought parts exactly where they arrived), one user turn of
``functionResponse`` parts per tool message, the function declarations and ``toolConfig``. The schema dialect
lives in ``schema.py``; reading responses is ``response.py``'s and ``stream.py``'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from crazycall.conversation import Conversation, Message, Part, ReasoningPart, TextPart, ToolCall, ToolResult, ToolSpec
from crazycall.protocols.base import (
    Auth,
    HttpRequest,
    RequestOptions,
    provider_data_for,
    response_schema,
    tool_choice_kind,
)
from crazycall.protocols.gemini_native.schema import function_parameters

NAME = "gemini"
PATH = "/v1beta/models/{model}:generateContent"
STREAM_PATH = "/v1beta/models/{model}:streamGenerateContent"
#: Google's documented stand-in for calls the model never signed (history from another protocol), §4.3
SKIP_SIGNATURE = "skip_thought_signature_validator"

_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def path(model: str, stream: bool) -> str:
    """The request path: the model is a path segment, quoted whole ("/" and ":" included) so it cannot
    change the route."""
    return (STREAM_PATH if stream else PATH).format(model=quote(model, safe=""))


def build_request(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
    # Without alt=sse the stream is one big JSON array instead of SSE events (§4.1).
    query = {"alt": "sse"} if opts.stream else {}
    return HttpRequest(
        path=path(opts.model, opts.stream), body=build_body(conv, tools, opts), stream=opts.stream, query=query
    )


def auth(api_key: str) -> Auth:
    # The key travels as the ?key= query parameter the router documents (§0); nothing here logs it.
    return Auth(query={"key": api_key})


def build_body(conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> dict[str, Any]:
    """The JSON body; the model is not in it (it is in the path)."""
    body: dict[str, Any] = {}
    if conv.system:
        body["systemInstruction"] = {"parts": [{"text": conv.system}]}
    body["contents"] = contents(conv.messages)
    if tools:
        kind, name = tool_choice_kind(opts.tool_choice, tools)
        body["tools"] = [{"functionDeclarations": [declaration(t) for t in tools]}]
        config: dict[str, Any] = {"mode": _MODES.get(kind, "ANY")}
        if kind == "tool":
            config["allowedFunctionNames"] = [name]
        body["toolConfig"] = {"functionCallingConfig": config}
    # Parallel calls cannot be turned off on this wire (§4.1): opts.parallel_tool_calls is ignored.
    generation: dict[str, Any] = {}
    if opts.max_tokens is not None:
        generation["maxOutputTokens"] = opts.max_tokens
    if opts.temperature is not None:
        generation["temperature"] = opts.temperature
    schema = response_schema(opts)
    if schema is not None:
        # --schema: https://ai.google.dev/gemini-api/docs/structured-output: responseMimeType application/json
        # plus responseJsonSchema, which takes JSON Schema as it is (unlike responseSchema, the OpenAPI subset
        # of schema.py), so the user's schema needs no dialect conversion; Gemini 3 combines it with tools.
        generation["responseMimeType"] = "application/json"
        generation["responseJsonSchema"] = schema
    if generation:
        body["generationConfig"] = generation
    return body


def declaration(spec: ToolSpec) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": spec.name, "description": spec.description}
    parameters = function_parameters(spec.name, spec.parameters)
    if parameters is not None:
        decl["parameters"] = parameters
    return decl


def contents(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """One ``Content`` per neutral message; messages that end up with no parts are left out (a 400)."""
    wire_ids: dict[str, str] = {}  # neutral call id -> the wire id to echo on its functionResponse
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant":
            role, parts = "model", _model_parts(message.parts, wire_ids)
        else:  # user text and tool results both go in a "user" turn (§4.1)
            role, parts = "user", [p for p in (_user_part(part, wire_ids) for part in message.parts) if p]
        if parts:
            out.append({"role": role, "parts": parts})
    return out


def _own(part: Part) -> Mapping[str, Any]:
    data = provider_data_for(part, NAME)
    return data if isinstance(data, Mapping) else {}


def _model_parts(parts: Sequence[Part], wire_ids: dict[str, str]) -> list[dict[str, Any]]:
    """Every part in order, each signature back on its own part (§4.3)."""
    out: list[dict[str, Any]] = []
    stand_in_used = False
    for part in parts:
        data = _own(part)
        wire: dict[str, Any]
        if isinstance(part, ToolCall):
            wire = {"functionCall": _function_call(part, data, wire_ids)}
            if not data and not stand_in_used:
                # A call from another protocol has no signature; Gemini 3 rejects an unsigned current turn.
                wire["thoughtSignature"] = SKIP_SIGNATURE
                stand_in_used = True
        elif isinstance(part, ReasoningPart):
            if not data:
                continue  # another protocol's reasoning: Gemini cannot take it back
            wire = {"text": part.text, "thought": True}
        elif isinstance(part, TextPart):
            wire = {"text": part.text}
        else:
            continue
        signature = data.get("thoughtSignature")
        if isinstance(signature, str):
            wire["thoughtSignature"] = signature
        elif "text" in wire and not wire["text"]:
            continue  # an empty text part is a 400 unless it carries a signature
        out.append(wire)
    return out


def _function_call(call: ToolCall, data: Mapping[str, Any], wire_ids: dict[str, str]) -> dict[str, Any]:
    fc: dict[str, Any] = {"name": call.name, "args": call.arguments}
    # Only an id the wire sent goes back; a synthesized (or foreign) id would name a call Gemini never made.
    wire_id = data.get("id")
    if isinstance(wire_id, str) and wire_id:
        fc["id"] = wire_id
        wire_ids[call.id] = wire_id
    return fc


def _user_part(part: Part, wire_ids: Mapping[str, str]) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"text": part.text} if part.text else None
    if isinstance(part, ToolResult):
        # No error flag on this wire: the key inside ``response`` says it (§4.3); response must be an object.
        response = {"error" if part.is_error else "output": _json_or_text(part.content)}
        fr: dict[str, Any] = {"name": part.name, "response": response}
        wire_id = wire_ids.get(part.call_id)
        if wire_id:
            fr["id"] = wire_id
        return {"functionResponse": fr}
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_or_text(content: str) -> Any:
    """The parsed JSON value when the content is JSON (NaN/Infinity are not), else the string itself."""
    try:
        return json.loads(content, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return content

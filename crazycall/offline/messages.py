"""Anthropic Messages on the offline router: auth, errors and replies per PROTOCOLS.md §3.2, §3.4, §3.5.

Owns the key check (``x-api-key`` or a Bearer header, §8) and ``anthropic-version``, the error envelope with
its ``request_id``, the message body (text then ``tool_use`` blocks, msg_N / toolu_N) and the event stream
(message_start, blocks with a ping, ``input_json_delta`` starting with an empty ``partial_json``,
message_delta with cumulative usage, message_stop). Request checks live in messages_input.py. Written by hand
from PROTOCOLS.md; it never uses ``crazycall.protocols``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crazycall.offline import messages_input as mi
from crazycall.offline import structured
from crazycall.offline.replies import arguments_json, plan_turn, split_arguments, split_text
from crazycall.offline.wire import Event, Incoming, ProtocolSpec, Reply, RouterState, WireError, dumps

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def render(err: WireError, request_id: str) -> dict[str, Any]:
    """``{"type":"error","error":{type,message},"request_id"}`` (§3.5)."""
    kind = err.kind or _TYPES.get(err.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": err.message}, "request_id": request_id}


def authenticate(inc: Incoming, api_key: str | None) -> None:
    """§0, §8: the key in ``x-api-key`` (SDK 1.x, crazycall) or ``Authorization: Bearer`` (SDK 2.x), and any
    ``anthropic-version``."""
    key = inc.headers.get("x-api-key", "")
    if not key:
        scheme, _, bearer = inc.headers.get("authorization", "").partition(" ")
        key = bearer.strip() if scheme.lower() == "bearer" else ""
    if not key:
        raise WireError(401, "x-api-key header is required")
    if api_key is not None and key != api_key:
        raise WireError(401, "invalid x-api-key")
    if not inc.headers.get("anthropic-version"):
        raise WireError(400, "anthropic-version: header is required")


def fault_error(status: int) -> WireError:
    if status == 401:
        return WireError(401, "invalid x-api-key")
    if status == 429:
        message = "This request would exceed the rate limit for your organization (offline router fault)."
        return WireError(429, message, headers={"retry-after": "0"})
    return WireError(status, "Internal server error")


def bad_json() -> WireError:
    return WireError(400, "There was an issue with the formatting or content of your request: invalid JSON body.")


def _stream(message: dict[str, Any]) -> Reply:
    """The events of §3.4."""
    events: list[Event] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(Event(dumps({"type": kind, **fields}), kind))

    usage = message["usage"]
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    emit("message_start", message=start)
    cut_at = 0
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
        elif block["type"] == "thinking":
            emit(
                "content_block_start", index=index, content_block={"type": "thinking", "thinking": "", "signature": ""}
            )
        else:
            emit("content_block_start", index=index, content_block={**block, "input": {}})
        if index == 0:
            emit("ping")  # §3.4: pings may come anywhere
        if block["type"] == "text":
            for piece in split_text(block["text"]):
                emit("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
        elif block["type"] == "thinking":  # §3.4: thinking_delta pieces, then one signature_delta
            for piece in split_text(block["thinking"]):
                emit("content_block_delta", index=index, delta={"type": "thinking_delta", "thinking": piece})
            emit("content_block_delta", index=index, delta={"type": "signature_delta", "signature": block["signature"]})
        else:
            emit("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": ""})
            for fragment in split_arguments(arguments_json(block["input"], spaced=True)):
                emit("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": fragment})
                cut_at = cut_at or len(events)
        emit("content_block_stop", index=index)
    # §3.4: message_delta usage is cumulative, and stop_reason arrives only here.
    emit("message_delta", delta={"stop_reason": message["stop_reason"], "stop_sequence": None}, usage=usage)
    emit("message_stop")
    return Reply(events=tuple(events), cut_at=cut_at or len(events) // 2)


def _thinking(text: str, content: list[dict[str, Any]], state: RouterState) -> dict[str, Any]:
    """A signed thinking block (§3.2); the calls it came with must bring it back (§3.3)."""
    signature = mi.thinking_signature(text)
    state.remember_thought([b["id"] for b in content if b["type"] == "tool_use"], signature)
    return {"type": "thinking", "thinking": text, "signature": signature}


def handle(inc: Incoming, state: RouterState, text_only: bool) -> Reply:
    body = inc.body
    if not isinstance(body, dict):
        raise mi.invalid("Input should be a valid dictionary or object to extract fields from")
    turn = mi.read_turn(body, len(inc.raw), state)
    turn = replace(turn, schema=structured.messages_schema(body), bad_output=inc.bad_output)
    plan = plan_turn(turn, text_only=text_only)
    content: list[dict[str, Any]] = [{"type": "text", "text": plan.text}] if plan.text else []
    for call in plan.calls:
        content.append({"type": "tool_use", "id": state.next_id("toolu"), "name": call.name, "input": call.arguments})
    if plan.reasoning:
        content.insert(0, _thinking(plan.reasoning, content, state))
    usage = {
        "input_tokens": plan.input_tokens,
        "output_tokens": plan.output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message = {
        "id": state.next_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": "tool_use" if plan.calls else "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    return _stream(message) if inc.stream else Reply(body=message)


SPEC = ProtocolSpec(
    name="messages",
    authenticate=authenticate,
    handle=handle,
    render=render,
    fault_error=fault_error,
    bad_json=bad_json,
    request_id_header="request-id",
)

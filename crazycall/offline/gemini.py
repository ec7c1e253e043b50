"""Gemini native (v1beta) on the offline router: auth, errors and replies per PROTOCOLS.md §4.2, §4.4, §4.5.

Owns the ``?key=`` / ``x-goog-api-key`` check, Google's error envelope, and the reply: a model content with
text and whole ``functionCall`` parts (no ``id``, as the Developer API often sends them; the first call of
each response carries a ``thoughtSignature`` the router remembers; a ``thought: true`` part first when the
prompt asks for reasoning), ``finishReason: STOP``, responseId r-N. Streams send the text in pieces and the
calls whole in the last chunk, which has the finishReason; without ``alt=sse`` the same chunks go out as one
streamed JSON array. Request checks live in gemini_input.py. Written by hand from PROTOCOLS.md; it never uses
``crazycall.protocols``.
"""

from __future__ import annotations

from typing import Any

from crazycall.offline import gemini_input as gi
from crazycall.offline import structured
from crazycall.offline.replies import Plan, TurnInput, plan_turn, split_text
from crazycall.offline.wire import (
    Event,
    Incoming,
    ProtocolSpec,
    Reply,
    RouterState,
    WireError,
    dumps,
    thought_signature,
)

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def render(err: WireError, _request_id: str) -> dict[str, Any]:
    """``{"error": {code, message, status, details?}}`` (§4.5)."""
    error: dict[str, Any] = {
        "code": err.status,
        "message": err.message,
        "status": err.kind or _STATUS.get(err.status, "UNKNOWN"),
    }
    if err.details:
        error["details"] = err.details
    return {"error": error}


def authenticate(inc: Incoming, api_key: str | None) -> None:
    """§0: the key in ``?key=`` or the ``x-goog-api-key`` header."""
    key = inc.query.get("key") or inc.headers.get("x-goog-api-key", "")
    if not key:
        message = (
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API."
        )
        raise WireError(403, message)
    if api_key is not None and key != api_key:
        # §4.5: Google answers a bad key with 400 INVALID_ARGUMENT, not 401.
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
        raise WireError(400, "API key not valid. Please pass a valid API key.", details=[info])


def fault_error(status: int) -> WireError:
    if status == 401:
        return WireError(401, "Request had invalid authentication credentials.")
    if status == 429:
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0s"}
        message = "Resource has been exhausted (e.g. check quota). (offline router fault)"
        return WireError(429, message, details=[retry], headers={"retry-after": "0"})
    message = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
    return WireError(status, message)


def bad_json() -> WireError:
    return WireError(400, "Invalid JSON payload received. Unexpected token.")


def _parts(plan: Plan, response_id: str, state: RouterState) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The text parts (a thought part first when the prompt asks for reasoning) and the functionCall parts; the
    first call is signed and remembered (§4.3)."""
    texts: list[dict[str, Any]] = [{"text": plan.reasoning, "thought": True}] if plan.reasoning else []
    texts += [{"text": plan.text}] if plan.text else []
    calls: list[dict[str, Any]] = [{"functionCall": {"name": c.name, "args": c.arguments}} for c in plan.calls]
    if calls:
        signature = thought_signature(response_id)
        calls[0]["thoughtSignature"] = signature
        state.remember_signature(gi.call_key([(c.name, c.arguments) for c in plan.calls]), signature)
    return texts, calls


def _chunk(parts: list[dict[str, Any]], model: str, response_id: str) -> dict[str, Any]:
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    return {"candidates": [candidate], "modelVersion": model, "responseId": response_id}


def _usage(plan: Plan) -> dict[str, int]:
    total = plan.input_tokens + plan.output_tokens
    return {"promptTokenCount": plan.input_tokens, "candidatesTokenCount": plan.output_tokens, "totalTokenCount": total}


def _stream(
    plan: Plan, texts: list[dict[str, Any]], calls: list[dict[str, Any]], model: str, rid: str
) -> list[dict[str, Any]]:
    """§4.4: text in pieces, functionCall parts whole, finishReason and full usage on the last chunk."""
    pieces = [{**part, "text": piece} for part in texts for piece in split_text(part["text"])]
    chunks = [_chunk([piece], model, rid) for piece in pieces]
    if calls:
        chunks.append(_chunk(calls, model, rid))
    chunks[0]["usageMetadata"] = {"promptTokenCount": plan.input_tokens, "totalTokenCount": plan.input_tokens}
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = _usage(plan)
    return chunks


def handle(inc: Incoming, state: RouterState, text_only: bool) -> Reply:
    body = inc.body
    if not isinstance(body, dict):
        raise WireError(400, "Invalid JSON payload received. Expected an object.")
    contents = gi.read_contents(gi.check_top(body))
    offered, choice, forced = gi.tool_config(body, gi.tools(body))
    prompt, results = gi.read_history(contents, state)
    schema = structured.gemini_schema(body)
    turn = TurnInput(prompt, tuple(offered), choice, forced, True, results, len(inc.raw), schema, inc.bad_output)
    plan = plan_turn(turn, text_only=text_only)
    rid = state.next_id("r", "-")
    texts, calls = _parts(plan, rid, state)
    if not inc.stream:
        reply = _chunk(texts + calls, inc.model, rid)
        reply["candidates"][0]["finishReason"] = "STOP"
        reply["usageMetadata"] = _usage(plan)
        return Reply(body=reply)
    events = tuple(Event(dumps(chunk)) for chunk in _stream(plan, texts, calls, inc.model, rid))
    # §4.1: without alt=sse the endpoint streams one JSON array instead of SSE events.
    return Reply(events=events, cut_at=len(events) - 1, json_array=inc.query.get("alt") != "sse", line_end="\r\n")


SPEC = ProtocolSpec(
    name="gemini",
    authenticate=authenticate,
    handle=handle,
    render=render,
    fault_error=fault_error,
    bad_json=bad_json,
)

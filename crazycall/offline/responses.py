"""OpenAI Responses on the offline router: answer per PROTOCOLS.md §2.2 and the events of §2.4.

Owns the output items (a reasoning item first for reasoning models, with ``encrypted_content`` only when
``include`` asks for it (§8); a message; flat function calls with ``id`` fc_N and ``call_id`` call_N), the
full Response object, the event sequence with its ``sequence_number``, and the memory the next request is
checked against (reasoning items, stored responses). Request checks live in responses_input.py. Written by
hand from PROTOCOLS.md; it never uses ``crazycall.protocols``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crazycall.offline import openai_common as oa
from crazycall.offline import responses_input as ri
from crazycall.offline import structured
from crazycall.offline.replies import Plan, TurnInput, arguments_json, plan_turn, split_arguments, split_text
from crazycall.offline.wire import (
    CREATED,
    Event,
    Incoming,
    ProtocolSpec,
    Reply,
    RouterState,
    dumps,
    encrypted_reasoning,
)

_REASONING_TOKENS = 20

Emit = Callable[..., None]


def _output(plan: Plan, model: str, state: RouterState, store: bool, encrypted: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    calls = [(state.next_id("fc"), state.next_id("call"), call) for call in plan.calls]
    if (calls or plan.reasoning) and oa.is_reasoning_model(model):
        rs_id = state.next_id("rs")
        summary = [{"type": "summary_text", "text": plan.reasoning}] if plan.reasoning else []
        item: dict[str, Any] = {"type": "reasoning", "id": rs_id, "summary": summary}
        if encrypted:  # §8: only when the request's include asks for it
            item["encrypted_content"] = encrypted_reasoning(rs_id)
        items.append(item)
        state.remember_reasoning(rs_id, [key for fc, call_id, _ in calls for key in (fc, call_id)], stored=store)
    if plan.text:
        part = {"type": "output_text", "text": plan.text, "annotations": [], "logprobs": []}
        message_id = state.next_id("msg")
        items.append(
            {"type": "message", "id": message_id, "status": "completed", "role": "assistant", "content": [part]}
        )
    for fc, call_id, call in calls:
        arguments = arguments_json(call.arguments)
        items.append(
            {
                "type": "function_call",
                "id": fc,
                "call_id": call_id,
                "name": call.name,
                "arguments": arguments,
                "status": "completed",
            }
        )
    return items


def _response(response_id: str, body: dict[str, Any], output: list[dict[str, Any]], plan: Plan) -> dict[str, Any]:
    """The full Response object of §2.2."""
    reasoning = _REASONING_TOKENS if any(item["type"] == "reasoning" for item in output) else 0
    out_tokens = plan.output_tokens + reasoning
    usage = {
        "input_tokens": plan.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": out_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": plan.input_tokens + out_tokens,
    }
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "metadata": body.get("metadata") or {},
    }


def _message_events(emit: Emit, index: int, item: dict[str, Any]) -> None:
    part = item["content"][0]
    text = part["text"]
    ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
    emit("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
    emit("response.content_part.added", **ids, part={**part, "text": ""})
    for piece in split_text(text):
        emit("response.output_text.delta", **ids, delta=piece, logprobs=[])
    emit("response.output_text.done", **ids, text=text, logprobs=[])
    emit("response.content_part.done", **ids, part=part)
    emit("response.output_item.done", output_index=index, item=item)


def _reasoning_events(emit: Emit, index: int, item: dict[str, Any]) -> None:
    """A reasoning item and its summary parts; the copy in .added may be incomplete (§2.3): the encrypted
    content and the summary come complete with .done."""
    added = {**{k: v for k, v in item.items() if k != "encrypted_content"}, "summary": []}
    emit("response.output_item.added", output_index=index, item=added)
    for n, part in enumerate(item["summary"]):
        ids = {"item_id": item["id"], "output_index": index, "summary_index": n}
        emit("response.reasoning_summary_part.added", **ids, part={**part, "text": ""})
        for piece in split_text(part["text"]):
            emit("response.reasoning_summary_text.delta", **ids, delta=piece)
        emit("response.reasoning_summary_text.done", **ids, text=part["text"])
        emit("response.reasoning_summary_part.done", **ids, part=part)
    emit("response.output_item.done", output_index=index, item=item)


def _call_events(emit: Emit, index: int, item: dict[str, Any], events: list[Event]) -> int:
    """The four kinds of events of one call; returns the event count up to and including its first delta."""
    ids = {"item_id": item["id"], "output_index": index}
    emit("response.output_item.added", output_index=index, item={**item, "arguments": "", "status": "in_progress"})
    cut_at = 0
    for fragment in split_arguments(item["arguments"]):
        emit("response.function_call_arguments.delta", **ids, delta=fragment)
        cut_at = cut_at or len(events)
    emit("response.function_call_arguments.done", **ids, name=item["name"], arguments=item["arguments"])
    emit("response.output_item.done", output_index=index, item=item)
    return cut_at


def _stream(response: dict[str, Any]) -> Reply:
    """The event sequence of §2.4, every event with ``type`` and an increasing ``sequence_number``."""
    events: list[Event] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(Event(dumps({"type": kind, "sequence_number": len(events), **fields}), kind))

    snapshot = {**response, "status": "in_progress", "output": [], "usage": None}
    emit("response.created", response=snapshot)
    emit("response.in_progress", response=snapshot)
    cut_at = 0
    for index, item in enumerate(response["output"]):
        if item["type"] == "reasoning":
            _reasoning_events(emit, index, item)
        elif item["type"] == "message":
            _message_events(emit, index, item)
        else:
            first_delta = _call_events(emit, index, item, events)
            cut_at = cut_at or first_delta
    emit("response.completed", response=response)
    return Reply(events=tuple(events), cut_at=cut_at or len(events) // 2)


def handle(inc: Incoming, state: RouterState, text_only: bool) -> Reply:
    body = inc.body
    if not isinstance(body, dict):
        raise oa.type_error("body", "an object", body)
    model = ri.check_top(body)
    store = body.get("store") is not False
    tools, choice, forced = ri.tool_choice(body, ri.tools(body))
    items = ri.effective_input(body, state)
    prompt, results = ri.check_items(items, state, store)
    parallel = body.get("parallel_tool_calls") is not False
    schema = structured.responses_schema(body)
    turn = TurnInput(prompt, tuple(tools), choice, forced, parallel, results, len(inc.raw), schema, inc.bad_output)
    plan = plan_turn(turn, text_only=text_only)
    encrypted = ri.wants_encrypted_reasoning(body)
    output = _output(plan, model, state, store, encrypted)
    response = _response(state.next_id("resp"), body, output, plan)
    if store:
        state.store_response(response["id"], items + output)
    return _stream(response) if inc.stream else Reply(body=response)


SPEC = ProtocolSpec(
    name="responses",
    authenticate=lambda inc, key: oa.authenticate(inc.headers, key),
    handle=handle,
    render=lambda err, _rid: oa.render_error(err),
    fault_error=oa.fault_error,
    bad_json=oa.bad_json,
)

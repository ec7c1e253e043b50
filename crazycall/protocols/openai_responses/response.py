"""OpenAI Responses, response side: one response assembled from a JSON body or from stream events.

Owns ``Turn``, shared by the body path (``parse_response`` here) and the stream path (``stream.py`` feeds it
events): the reading of output items by type (§2.2, §2.6), the stream's event handlers (§2.4) and terminal
events. Error bodies are ``errors.py``'s. Every received ``message``, ``reasoning`` and ``function_call`` item is kept
verbatim in ``provider_data["responses"]["item"]`` for ``request.py`` to echo. Other item types (built-in tool
calls; we offer no built-in tools) are ignored. It does not build requests and does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_OTHER,
    ModelResponse,
    Usage,
    encode_arguments,
)
from crazycall.errors import ProtocolViolation
from crazycall.events import ResponseCompleted, StreamEvent
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.jsonutil import as_int, require_mapping
from crazycall.protocols.openai_responses.errors import in_band_error
from crazycall.protocols.openai_responses.request import NAME

#: incomplete_details.reason -> stop reason (this wire has no finish reason, §2.2)
STOP_REASONS = {"max_output_tokens": STOP_MAX_TOKENS, "content_filter": STOP_CONTENT_FILTER}
_TERMINAL = {"response.completed": "completed", "response.incomplete": "incomplete"}


def _raw_arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return encode_arguments(value)  # a gateway that decoded the string for us
    return json.dumps(value, ensure_ascii=False)


def _joined(parts: Any, part_type: str, key: str) -> list[str]:
    if not isinstance(parts, list):
        return []
    found = (p.get(key) for p in parts if isinstance(p, Mapping) and p.get("type") == part_type)
    return [t for t in found if isinstance(t, str) and t]


def _message_text(item: Mapping[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    # Text and refusal parts in wire order (§2.2); a refusal is what the model said.
    parts = content if isinstance(content, list) else []
    texts = (
        p.get("text") if p.get("type") == "output_text" else p.get("refusal")
        for p in parts
        if isinstance(p, Mapping) and p.get("type") in ("output_text", "refusal")
    )
    return "".join(t for t in texts if isinstance(t, str))


def _reasoning_text(item: Mapping[str, Any]) -> str:
    # Sections are joined the same way the stream joins them (see Turn.reasoning_delta).
    sections = _joined(item.get("summary"), "summary_text", "text")
    sections += _joined(item.get("content"), "reasoning_text", "text")
    return "\n\n".join(sections)


def _stop_reason(resp: Mapping[str, Any], fallback: str) -> tuple[str, str]:
    # No finish reason on this wire: status plus incomplete_details.reason (§2.2).
    status = resp.get("status") or fallback
    if not isinstance(status, str):
        raise ProtocolViolation(f"{NAME}: response status is {type(status).__name__}, not a string")
    if status == "incomplete":
        details = resp.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        reason = reason if isinstance(reason, str) and reason else "incomplete"
        return STOP_REASONS.get(reason, STOP_OTHER), reason
    return (STOP_END_TURN if status == "completed" else STOP_OTHER), status


def _output_index(data: Mapping[str, Any], kind: str) -> int:
    index = data.get("output_index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ProtocolViolation(f"{NAME}: {kind} event has no integer output_index")
    return index


# ---------------------------------------------------------------- one response being assembled


class Turn:
    """One response as it is built, shared by the JSON and SSE paths so that both give the same result.

    Parts are keyed by ``output_index``, the item's position in ``response.output``.
    """

    def __init__(self) -> None:
        self.asm = StreamAssembler(NAME)
        self.shown: set[int] = set()  # items whose text already arrived as deltas
        self.sections: dict[int, tuple[str, int]] = {}  # last reasoning section seen per item
        self.done = False  # a terminal event arrived

    def meta(self, resp: Any) -> None:
        if not isinstance(resp, Mapping):
            return
        usage = resp.get("usage")
        if isinstance(usage, Mapping):
            # input_tokens_details.cached_tokens / output_tokens_details.reasoning_tokens are parts of the totals
            cached = _detail(usage, "input_tokens_details", "cached_tokens")
            reasoning = _detail(usage, "output_tokens_details", "reasoning_tokens")
            inputs, outputs = as_int(usage.get("input_tokens")), as_int(usage.get("output_tokens"))
            self.asm.usage = Usage(inputs, outputs, cached, reasoning)
        if isinstance(resp.get("model"), str):
            self.asm.model = resp["model"]
        if isinstance(resp.get("id"), str):
            self.asm.response_id = resp["id"]

    def absorb(self, index: int, item: Mapping[str, Any]) -> list[StreamEvent]:
        """Take a complete output item: make its part if no delta did, and keep the item for the echo."""
        kind = item.get("type")
        if kind == "function_call":
            events = self._call(index, item)
        elif kind == "message":
            events = self._whole(index, "text", _message_text(item))
        elif kind == "reasoning":
            events = self._whole(index, "reasoning", _reasoning_text(item))
        else:
            return []
        self.asm.set_provider_data(index, {NAME: {"item": dict(item)}})
        return events

    def _whole(self, index: int, kind: str, text: str) -> list[StreamEvent]:
        self.asm.ensure(index, kind)
        if index in self.shown:
            return []
        self.shown.add(index)
        event = self.asm.text(text, index) if kind == "text" else self.asm.reasoning(text, index)
        return [event] if event else []

    def _call(self, index: int, item: Mapping[str, Any]) -> list[StreamEvent]:
        # The call id is `call_id`, never the item id `fc_...` (§2.6).
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
            raise ProtocolViolation(f"{NAME}: function_call item at output[{index}] lacks call_id or name")
        raw = _raw_arguments(item.get("arguments"))
        events: list[StreamEvent] = []
        if not self.asm.tool_started(index):
            events.append(self.asm.start_tool_call(index, call_id, name))
            delta = self.asm.tool_arguments(index, raw)
            if delta:
                events.append(delta)
        self.asm.update_tool(index, call_id, name)
        self.asm.set_tool_arguments(index, raw)
        return events

    def finish(self, resp: Mapping[str, Any], fallback_status: str = "completed") -> ModelResponse:
        self.meta(resp)
        stop, raw_stop = _stop_reason(resp, fallback_status)
        response = self.asm.finish(stop, raw_stop)
        if any(not call.id or not call.name for call in response.message.tool_calls):
            raise ProtocolViolation(f"{NAME}: a function call ended without call_id or name")
        return response

    # -- stream events (§2.4)

    def handlers(self) -> dict[str, Callable[[str, Mapping[str, Any]], list[StreamEvent]]]:
        return {
            "response.created": self.started,
            "response.in_progress": self.started,
            "response.output_item.added": self.item_added,
            "response.output_item.done": self.item_done,
            "response.output_text.delta": self.text_delta,
            "response.refusal.delta": self.text_delta,
            "response.reasoning_summary_text.delta": self.reasoning_delta,
            "response.reasoning_text.delta": self.reasoning_delta,
            "response.function_call_arguments.delta": self.arguments_delta,
            "response.function_call_arguments.done": self.arguments_done,
            "response.completed": self.terminal,
            "response.incomplete": self.terminal,
            "response.failed": self.failed,
            "error": self.failed,
        }

    def started(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        self.meta(data.get("response"))
        return []

    def item_added(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        index = _output_index(data, kind)
        item = require_mapping(data.get("item"), f"{kind}.item", NAME)
        item_type = item.get("type")
        if item_type in ("message", "reasoning"):
            self.asm.ensure(index, "text" if item_type == "message" else "reasoning")
        elif item_type == "function_call" and not self.asm.tool_started(index):
            # call_id and name are here and on .done only; deltas carry just output_index (§2.4).
            call_id, name = item.get("call_id"), item.get("name")
            call_id = call_id if isinstance(call_id, str) else ""
            return [self.asm.start_tool_call(index, call_id, name if isinstance(name, str) else "")]
        return []

    def item_done(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        # The complete item, kept for the echo: the .added copy of a reasoning item may be incomplete (§2.3).
        index = _output_index(data, kind)
        return self.absorb(index, require_mapping(data.get("item"), f"{kind}.item", NAME))

    def _text_delta(self, kind: str, data: Mapping[str, Any]) -> tuple[int, str]:
        index, delta = _output_index(data, kind), data.get("delta")
        if self.asm.tool_started(index):
            raise ProtocolViolation(f"{NAME}: {kind} for output_index {index}, which is a function call")
        return index, delta if isinstance(delta, str) else ""

    def text_delta(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        index, delta = self._text_delta(kind, data)
        if not delta:
            return []
        self.shown.add(index)
        event = self.asm.text(delta, index)
        return [event] if event else []

    def reasoning_delta(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        index, delta = self._text_delta(kind, data)
        if not delta:
            return []
        # Summary parts and reasoning-text parts are separate paragraphs, as in _reasoning_text.
        section = (kind, as_int(data.get("summary_index", data.get("content_index"))))
        last = self.sections.get(index)
        if last is not None and last != section:
            delta = "\n\n" + delta
        self.sections[index] = section
        self.shown.add(index)
        event = self.asm.reasoning(delta, index)
        return [event] if event else []

    def arguments_delta(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        index, delta = _output_index(data, kind), data.get("delta")
        event = self.asm.tool_arguments(index, delta if isinstance(delta, str) else "")
        return [event] if event else []

    def arguments_done(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        index, arguments = _output_index(data, kind), data.get("arguments")
        if self.asm.tool_started(index) and isinstance(arguments, str):
            self.asm.set_tool_arguments(index, arguments)
        return []

    def terminal(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        resp = require_mapping(data.get("response"), f"{kind}.response", NAME)
        events: list[StreamEvent] = []
        output = resp.get("output")
        # The final output is the authoritative copy of every item; items the stream never announced
        # (a router that only relays the final response) are shown here.
        for index, item in enumerate(output if isinstance(output, list) else []):
            events += self.absorb(index, require_mapping(item, f"{kind}.response.output[{index}]", NAME))
        events.append(ResponseCompleted(self.finish(resp, _TERMINAL[kind])))
        self.done = True
        return events

    def failed(self, kind: str, data: Mapping[str, Any]) -> list[StreamEvent]:
        # response.failed carries response.error = {code, message}; the error event carries them at the top
        # level (or, from some routers, nested under "error") (§2.4).
        if kind == "error":
            raise in_band_error(data)
        response = data.get("response")
        raise in_band_error(response.get("error") if isinstance(response, Mapping) else None)


# ---------------------------------------------------------------- entry points used by the adapter


def parse_response(body: Any) -> ModelResponse:
    resp = require_mapping(body, "the response body", NAME)
    error = resp.get("error")
    # A request can fail after it started: HTTP 200 with status failed, or a bare error envelope (§2.5).
    if resp.get("status") == "failed" or (error is not None and "output" not in resp):
        raise in_band_error(error)
    output = resp.get("output")
    if not isinstance(output, list):
        raise ProtocolViolation(f"{NAME}: response body has no output list")
    turn = Turn()
    for index, item in enumerate(output):  # output[0] is often a reasoning item (§2.6)
        turn.absorb(index, require_mapping(item, f"output[{index}]", NAME))
    return turn.finish(resp)


def _detail(usage: Mapping[str, Any], group: str, key: str) -> int:
    details = usage.get(group)
    return as_int(details.get(key)) if isinstance(details, Mapping) else 0

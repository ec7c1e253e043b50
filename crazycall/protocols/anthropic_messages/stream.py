"""Anthropic Messages streams (PROTOCOLS.md §3.4): SSE events -> neutral stream events.

Owns the per-block state of one stream (keyed by the content block ``index``), the thinking blocks rebuilt
for the echo (full text and signature), cumulative usage, in-stream errors and the end-of-stream rules. The
argument and text joining itself is the shared ``StreamAssembler``'s job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from crazycall.errors import ProtocolViolation, TransportError
from crazycall.events import StreamEvent
from crazycall.protocols.anthropic_messages.errors import in_band_error
from crazycall.protocols.anthropic_messages.request import NAME
from crazycall.protocols.anthropic_messages.response import (
    count,
    raw_input,
    read_usage,
    req_str,
    stop_reason,
    usage,
)
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.base import SSE
from crazycall.protocols.jsonutil import fix_surrogates, opt_str, require_mapping, truncate

# the block type each delta type belongs to
_DELTA_BLOCK = {
    "text_delta": "text",
    "input_json_delta": "tool_use",
    "thinking_delta": "thinking",
    "signature_delta": "thinking",
}


def parse_stream(events: Iterable[SSE]) -> Iterator[StreamEvent]:
    state = _Stream()
    for sse in events:
        payload = _payload(sse)
        if payload is None:
            continue
        kind = opt_str(payload.get("type")) or sse.event
        if kind == "error" or sse.event == "error":
            raise in_band_error(payload)  # §3.4: treated like the matching HTTP error
        if kind == "message_stop":
            yield state.complete()
            return
        yield from state.handle(kind, payload)
    if state.raw_stop is None:
        raise TransportError(
            f"{NAME}: stream ended before message_stop (no stop_reason received); the response is incomplete"
        )
    # the stop reason and usage already arrived in message_delta: a missing message_stop is forgiven
    yield state.complete()


def _payload(sse: SSE) -> Mapping[str, Any] | None:
    """The event's JSON object, or None for events that carry nothing (pings, keep-alives)."""
    if sse.event == "ping":
        return None
    if not sse.data.strip():
        return {} if sse.event == "error" else None
    try:
        value = json.loads(sse.data)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser can go
        raise ProtocolViolation(
            f"{NAME}: stream event {sse.event!r} carries data that is not JSON: {truncate(sse.data, 80)!r}"
        ) from None
    return require_mapping(value, f"the data of stream event {sse.event!r}", NAME)


class _Thinking:
    __slots__ = ("block", "signature", "text")

    def __init__(self, block: Mapping[str, Any]) -> None:
        self.block = dict(block)
        self.text = [block["thinking"]] if isinstance(block.get("thinking"), str) else []
        self.signature = [block["signature"]] if isinstance(block.get("signature"), str) else []

    def echo(self) -> dict[str, Any]:
        """The block to send back: as it started, with the full thinking text and signature (§3.3)."""
        block = dict(self.block)
        block["thinking"] = fix_surrogates("".join(self.text))
        if self.signature:
            block["signature"] = "".join(self.signature)
        return block


class _Stream:
    """What one Messages stream has said so far, keyed by content block index."""

    def __init__(self) -> None:
        self.asm = StreamAssembler(NAME)
        self.kinds: dict[int, str] = {}
        self.thinking: dict[int, _Thinking] = {}
        self.start_input: dict[int, Any] = {}
        self.has_arguments: set[int] = set()
        self.counts: dict[str, int] = {}
        self.raw_stop: str | None = None

    def handle(self, kind: str, payload: Mapping[str, Any]) -> Iterator[StreamEvent]:
        if kind == "message_start":
            message = require_mapping(payload.get("message"), "message_start.message", NAME)
            self.asm.model = opt_str(message.get("model"))
            self.asm.response_id = opt_str(message.get("id"))
            read_usage(message.get("usage"), self.counts)
        elif kind == "content_block_start":
            yield from self._block_start(payload)
        elif kind == "content_block_delta":
            yield from self._block_delta(payload)
        elif kind == "message_delta":
            delta = payload.get("delta")
            if isinstance(delta, Mapping) and isinstance(delta.get("stop_reason"), str):
                self.raw_stop = delta["stop_reason"]  # §3.4: it arrives only here
            read_usage(payload.get("usage"), self.counts)  # cumulative: overwrite, never add
        # content_block_stop: arguments are decoded once at the end; unknown event types are ignored (§3.4)

    @staticmethod
    def _index(payload: Mapping[str, Any], where: str) -> int:
        index = count(payload.get("index"))
        if index is None:
            raise ProtocolViolation(f"{NAME}: expected an integer at {where}.index")
        return index

    def _block_start(self, payload: Mapping[str, Any]) -> Iterator[StreamEvent]:
        index = self._index(payload, "content_block_start")
        if index in self.kinds:
            raise ProtocolViolation(f"{NAME}: content_block_start for block {index} arrived twice")
        where = "content_block_start.content_block"
        block = require_mapping(payload.get("content_block"), where, NAME)
        kind = self.kinds[index] = opt_str(block.get("type")) or ""
        event: StreamEvent | None = None
        if kind == "text":
            self.asm.ensure(index, "text")
            event = self.asm.text(opt_str(block.get("text")) or "", key=index)
        elif kind == "tool_use":
            call_id, name = req_str(block, "id", where), req_str(block, "name", where)
            self.start_input[index] = block.get("input")
            event = self.asm.start_tool_call(index, call_id, name)
        elif kind == "thinking":
            self.asm.ensure(index, "reasoning")
            self.thinking[index] = _Thinking(block)
            event = self.asm.reasoning(opt_str(block.get("thinking")) or "", key=index)
        elif kind == "redacted_thinking":  # §3.4: arrives whole here, echoed back unchanged
            self.asm.ensure(index, "reasoning")
            self.asm.set_provider_data(index, {NAME: {"block": dict(block)}})
        if event is not None:
            yield event

    def _block_delta(self, payload: Mapping[str, Any]) -> Iterator[StreamEvent]:
        index = self._index(payload, "content_block_delta")
        delta = require_mapping(payload.get("delta"), "content_block_delta.delta", NAME)
        kind = opt_str(delta.get("type")) or ""
        if kind not in _DELTA_BLOCK:
            return  # citations_delta and future delta types
        block_kind = self.kinds.get(index)
        if block_kind is None:
            raise ProtocolViolation(f"{NAME}: {kind} for content block {index}, which never started")
        if block_kind not in _DELTA_BLOCK.values():
            return  # a block type we skip (server_tool_use, for one, also streams input_json_delta)
        if block_kind != _DELTA_BLOCK[kind]:
            raise ProtocolViolation(f"{NAME}: {kind} for content block {index} of type {block_kind}")
        event: StreamEvent | None = None
        where = "content_block_delta.delta"
        if kind == "text_delta":
            event = self.asm.text(req_str(delta, "text", where), key=index)
        elif kind == "input_json_delta":
            fragment = req_str(delta, "partial_json", where)
            if fragment:
                self.has_arguments.add(index)
            event = self.asm.tool_arguments(index, fragment)
        elif kind == "thinking_delta":
            text = req_str(delta, "thinking", where)
            self.thinking[index].text.append(text)
            event = self.asm.reasoning(text, key=index)
        else:  # signature_delta: kept for the echo, never shown
            self.thinking[index].signature.append(req_str(delta, "signature", where))
        if event is not None:
            yield event

    def complete(self) -> StreamEvent:
        for index, thinking in self.thinking.items():
            self.asm.set_provider_data(index, {NAME: {"block": thinking.echo()}})
        for index, start_input in self.start_input.items():
            if index not in self.has_arguments:
                # §3.4: an empty partial_json buffer means the input of content_block_start, i.e. {}
                self.asm.set_tool_arguments(index, raw_input(start_input))
        self.asm.usage = usage(self.counts)
        return self.asm.completed(stop_reason(self.raw_stop), self.raw_stop)

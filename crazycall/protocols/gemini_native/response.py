"""Gemini ``GenerateContentResponse`` bodies -> a ModelResponse (§4.2), through the ``Turn`` the stream shares.

Owns one ``Turn`` that takes response objects in order, whole or streamed, so both paths share every rule:
parts become text / reasoning / tool-call parts in wire order, neighbouring unsigned text (or thought) parts
merge, a part carrying a ``thoughtSignature`` always stays a part of its own with the signature stored in
``provider_data["gemini"]``, calls without a wire id get a local one. It deliberately does not build requests
(``request.py``) or read HTTP error bodies (``errors.py``); an error object inside a 200 is handed to the latter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from crazycall.conversation import (
    STOP_CONTENT_FILTER,
    STOP_END_TURN,
    STOP_MALFORMED_TOOL_CALL,
    STOP_MAX_TOKENS,
    STOP_OTHER,
    ModelResponse,
    Usage,
    encode_arguments,
)
from crazycall.errors import ProtocolViolation
from crazycall.events import StreamEvent
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.gemini_native.errors import in_band_error
from crazycall.protocols.gemini_native.request import NAME, PATH
from crazycall.protocols.jsonutil import as_int, require_mapping, truncate

# §4.2: a turn with tool calls still ends with STOP; the assembler turns it into tool_use from the calls.
STOP_REASONS = {
    "STOP": STOP_END_TURN,
    "MAX_TOKENS": STOP_MAX_TOKENS,
    "SAFETY": STOP_CONTENT_FILTER,
    "RECITATION": STOP_CONTENT_FILTER,
    "BLOCKLIST": STOP_CONTENT_FILTER,
    "PROHIBITED_CONTENT": STOP_CONTENT_FILTER,
    "SPII": STOP_CONTENT_FILTER,
    # §8: the model tried a call and failed; a failure of the turn (the loop retries once), not a text answer
    "MALFORMED_FUNCTION_CALL": STOP_MALFORMED_TOOL_CALL,
    "UNEXPECTED_TOOL_CALL": STOP_MALFORMED_TOOL_CALL,
    "TOO_MANY_TOOL_CALLS": STOP_MALFORMED_TOOL_CALL,
}


def parse_response(body: Any) -> ModelResponse:
    turn = Turn(PATH)
    # A JSON array is the non-SSE form: response objects in order, or a wrapped error (§4.5).
    chunks = body if isinstance(body, list) and body else [body]
    for chunk in chunks:
        for _ in turn.feed(chunk):
            pass
    return turn.response()


class Turn:
    """Accumulates one model turn from response objects (a whole body or successive stream chunks)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.asm = StreamAssembler(NAME)
        self.count = 0  # parts created so far; a part's number is its assembler key
        self.open: tuple[str, int] | None = None  # (kind, key) of an unsigned part the next text may extend
        self.finish_reason: str | None = None
        self.finish_message: str | None = None
        self.block_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None or self.block_reason is not None

    def response(self) -> ModelResponse:
        if self.finish_reason is not None:
            stop = STOP_REASONS.get(self.finish_reason, STOP_OTHER)
            if stop != STOP_MALFORMED_TOOL_CALL:
                return self.asm.finish(stop, self.finish_reason)
            # The raw reason carries finishMessage (§4.2) so the error can say what went wrong; a stray call
            # part must not turn the failed turn into tool_use (the assembler would).
            detail = self.finish_reason
            if self.finish_message:
                detail += f" ({truncate(self.finish_message)})"
            return replace(self.asm.finish(stop, detail), stop_reason=stop)
        if self.block_reason is not None:
            # A blocked prompt has no candidates at all, only promptFeedback.blockReason (§4.2).
            return self.asm.finish(STOP_CONTENT_FILTER, f"blockReason: {self.block_reason}")
        return self.asm.finish(STOP_OTHER)

    def feed(self, chunk: Any) -> Iterator[StreamEvent]:
        body = require_mapping(chunk, "the response", NAME)
        if body.get("error") is not None:
            raise in_band_error(body["error"], self.endpoint)
        self._metadata(body)
        candidate = _first_candidate(body)
        if candidate is None:
            return
        content = candidate.get("content")
        if content is not None:  # missing for SAFETY stops and empty chunks (§4.6)
            parts = require_mapping(content, "candidates[0].content", NAME).get("parts", [])
            if not isinstance(parts, list):
                raise ProtocolViolation("gemini: candidates[0].content.parts is not a list")
            for i, part in enumerate(parts):
                yield from self._part(require_mapping(part, f"candidates[0].content.parts[{i}]", NAME))
        reason = candidate.get("finishReason")
        if reason is not None:
            if not isinstance(reason, str):
                raise ProtocolViolation("gemini: candidates[0].finishReason is not a string")
            self.finish_reason = reason
            message = candidate.get("finishMessage")
            self.finish_message = message if isinstance(message, str) and message.strip() else None

    def _metadata(self, body: Mapping[str, Any]) -> None:
        usage = body.get("usageMetadata")
        if usage is not None:  # the last chunk that has it wins (§4.4); thinking counts as output (§4.2)
            usage = require_mapping(usage, "usageMetadata", NAME)
            output = as_int(usage.get("candidatesTokenCount")) + as_int(usage.get("thoughtsTokenCount"))
            # cachedContentTokenCount is part of promptTokenCount (ai.google.dev GenerateContentResponse.UsageMetadata)
            cached, thoughts = as_int(usage.get("cachedContentTokenCount")), as_int(usage.get("thoughtsTokenCount"))
            self.asm.usage = Usage(as_int(usage.get("promptTokenCount")), output, cached, thoughts)
        if isinstance(body.get("modelVersion"), str):
            self.asm.model = body["modelVersion"]
        if isinstance(body.get("responseId"), str):
            self.asm.response_id = body["responseId"]
        feedback = body.get("promptFeedback")
        if feedback is not None:
            reason = require_mapping(feedback, "promptFeedback", NAME).get("blockReason")
            if isinstance(reason, str) and reason:
                self.block_reason = reason

    def _part(self, part: Mapping[str, Any]) -> Iterator[StreamEvent]:
        signature = part.get("thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        call = part.get("functionCall")
        if call is not None:
            self.open = None
            yield from self._call(require_mapping(call, "functionCall", NAME), signature)
            return
        text = part.get("text")
        if text is None:
            if signature is None:
                return  # a part kind this client never asks for (inline data, code execution, ...)
            text = ""  # a signature alone (or with empty text) still needs its own part (§4.2)
        if not isinstance(text, str):
            raise ProtocolViolation("gemini: a part's text is not a string")
        kind = "reasoning" if part.get("thought") is True else "text"
        key = self._key(kind, signature)
        event = self.asm.text(text, key) if kind == "text" else self.asm.reasoning(text, key)
        data: dict[str, Any] = {"thought": True} if kind == "reasoning" else {}
        if signature:
            data["thoughtSignature"] = signature
        if data:
            self.asm.set_provider_data(key, {NAME: data})
        if event is not None:
            yield event

    def _key(self, kind: str, signature: str | None) -> int:
        """Extend the open part of the same kind, unless a signature asks for a part of its own (§4.4)."""
        if signature is None and self.open is not None and self.open[0] == kind:
            return self.open[1]
        key = self.count
        self.count += 1
        # A signed part is closed at once: later text must not merge into it and move its signature.
        self.open = None if signature else (kind, key)
        return key

    def _call(self, call: Mapping[str, Any], signature: str | None) -> Iterator[StreamEvent]:
        name = call.get("name")
        if not isinstance(name, str) or not name:
            raise ProtocolViolation("gemini: functionCall.name is missing")
        data: dict[str, Any] = {}
        wire_id = call.get("id")
        if isinstance(wire_id, str) and wire_id:
            call_id = data["id"] = wire_id
        else:
            # §4.2: id is optional; make one, and remember it is ours so it is never sent back.
            call_id = f"gemini-call-{uuid.uuid4().hex}"
            data["syntheticId"] = True
        if signature:
            data["thoughtSignature"] = signature
        args = call.get("args")  # an object, or missing for a call without arguments (§4.6)
        if args is None or isinstance(args, Mapping):
            raw = encode_arguments(args or {})
        else:
            raw = json.dumps(args, ensure_ascii=False)  # not an object: kept so the error can show it
        key = self.count
        self.count += 1
        yield self.asm.start_tool_call(key, call_id, name, {NAME: data})
        delta = self.asm.tool_arguments(key, raw)  # calls arrive whole: one delta (§4.4)
        if delta is not None:
            yield delta


def _first_candidate(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = body.get("candidates")
    if candidates is None:
        return None
    if not isinstance(candidates, list):
        raise ProtocolViolation("gemini: candidates is not a list")
    for i, candidate in enumerate(candidates):
        candidate = require_mapping(candidate, f"candidates[{i}]", NAME)
        if as_int(candidate.get("index")) == 0:  # proto3 JSON leaves index 0 out
            return candidate
    return None

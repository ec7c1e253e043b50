"""Chat Completions streams (PROTOCOLS.md §1.4): data-only SSE chunks ending in ``data: [DONE]``.

Owns the per-stream state: which wire ``tool_calls[].index`` maps to which call being assembled, the
finish_reason, and the rule for when a stream counts as complete. Deliberately lenient about router quirks
(missing ``index``, ``""`` for null, a missing ``[DONE]`` after the finish_reason) and strict about data that
is not JSON.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

from crazycall.errors import ProtocolViolation, TransportError
from crazycall.events import ResponseCompleted, StreamEvent
from crazycall.protocols.assembler import StreamAssembler
from crazycall.protocols.base import SSE
from crazycall.protocols.jsonutil import loads, nonempty, require_mapping, truncate
from crazycall.protocols.openai_chat.errors import in_band_error
from crazycall.protocols.openai_chat.request import NAME, PATH
from crazycall.protocols.openai_chat.response import (
    add_reasoning,
    arguments_text,
    finish,
    is_index0,
    keep_extra_content,
    new_call_id,
    read_meta,
)


def parse_stream(events: Iterable[SSE]) -> Iterator[StreamEvent]:
    state = _ChatStream()
    done = False
    for sse in events:
        data = sse.data.strip()
        if data == "[DONE]":  # §1.4: the literal terminator; nothing after it matters
            done = True
            break
        if data:
            yield from state.chunk(_decode_chunk(data))
    if not done and state.finish_reason is None:
        raise TransportError(f"{NAME} {PATH}: stream ended before data: [DONE] and before any finish_reason")
    # A finish_reason without [DONE] is accepted: all that matters already arrived (the usage may be 0).
    yield ResponseCompleted(finish(state.asm, state.finish_reason, bool(state.ids)))


def _decode_chunk(data: str) -> Mapping[str, Any]:
    try:
        value = loads(data)
    except (ValueError, RecursionError):
        raise ProtocolViolation(f"{NAME}: stream data is not JSON: {truncate(data, 120)!r}") from None
    chunk = require_mapping(value, "a stream chunk", NAME)
    # §1.4: an error mid-stream is a data payload with a top-level "error" object, after an HTTP 200
    if chunk.get("error") is not None:
        raise in_band_error(chunk["error"])
    return chunk


class _ChatStream:
    """The assembler plus how wire tool-call indexes map to assembler keys."""

    def __init__(self) -> None:
        self.asm = StreamAssembler(NAME)
        self.finish_reason: str | None = None
        self.by_index: dict[int, Hashable] = {}
        self.ids: dict[Hashable, str | None] = {}  # assembler key -> the wire id it started with
        self.extra: set[Hashable] = set()  # calls whose extra_content is already kept (first one wins)
        self.last_key: Hashable | None = None

    # chunk() and delta() fill a list rather than yield: one chunk per text delta makes generator layers count.

    def chunk(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        read_meta(self.asm, chunk)  # the usage chunk has choices: [] (§1.4)
        choices = chunk.get("choices")
        out: list[StreamEvent] = []
        if choices is None:
            return out
        if not isinstance(choices, list):
            raise ProtocolViolation(f"{NAME}: expected a list at chunk choices, got {type(choices).__name__}")
        for raw in choices:
            choice = require_mapping(raw, "chunk choices[]", NAME)
            if not is_index0(choice):
                continue  # other choices (n > 1) are not ours
            delta = choice.get("delta")
            if delta is not None:
                self.delta(require_mapping(delta, "chunk choices[0].delta", NAME), out)
            finish_reason = choice.get("finish_reason")
            if finish_reason:  # null on every delta but the last
                self.finish_reason = nonempty(finish_reason) or self.finish_reason
        return out

    def delta(self, delta: Mapping[str, Any], out: list[StreamEvent]) -> None:
        if "reasoning_content" in delta or "reasoning" in delta:
            thought = add_reasoning(self.asm, delta)
            if thought is not None:
                out.append(thought)
        for key in ("content", "refusal"):  # content may be null (§1.4); a refusal is shown as text
            value = delta.get(key)
            if value and isinstance(value, str) and (text := self.asm.text(value)) is not None:
                out.append(text)
        calls = delta.get("tool_calls")
        if calls is None:
            return
        if not isinstance(calls, list):
            raise ProtocolViolation(f"{NAME}: expected a list at chunk choices[0].delta.tool_calls")
        for raw in calls:
            out.extend(self.tool_fragment(require_mapping(raw, "chunk choices[0].delta.tool_calls[]", NAME)))

    def tool_fragment(self, fragment: Mapping[str, Any]) -> Iterator[StreamEvent]:
        where = "chunk choices[0].delta.tool_calls[].function"
        function = fragment.get("function")
        function = {} if function is None else require_mapping(function, where, NAME)
        call_id, name = nonempty(fragment.get("id")), nonempty(function.get("name"))
        key = self.key_for(fragment.get("index"), call_id)
        if not self.asm.tool_started(key):
            self.ids[key] = call_id
            yield self.asm.start_tool_call(key, call_id or new_call_id(), name or "")
        elif (call_id and not self.ids[key]) or name:
            # §1.4 sends id and name on the first fragment only; take them late rather than lose them
            self.ids[key] = self.ids[key] or call_id
            self.asm.update_tool(key, call_id=call_id, name=name)
        if key not in self.extra and keep_extra_content(self.asm, key, fragment):
            self.extra.add(key)
        args = self.asm.tool_arguments(key, arguments_text(function.get("arguments"), f"{where}.arguments"))
        if args is not None:
            yield args

    def key_for(self, index: Any, call_id: str | None) -> Hashable:
        """The assembler key for a fragment: by ``index``, never by id (§1.4).

        Two router quirks are tolerated: a fragment without ``index`` (Gemini behind chat) continues the last
        call unless it carries a new id, and a fragment whose id differs from the one already at its index
        starts a new call (servers that send every call at index 0).
        """
        has_index = isinstance(index, int) and not isinstance(index, bool)
        current = self.by_index.get(index) if has_index else self.last_key
        if current is None or (call_id is not None and self.ids.get(current) not in (None, call_id)):
            current = ("tool", len(self.ids))
            if has_index:
                self.by_index[index] = current
        self.last_key = current
        return current

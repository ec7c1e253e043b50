"""The shared stream assembler: deltas keyed by each vendor's own index -> neutral events and the final
``ModelResponse``; and ``replay``, which turns a whole (non-streamed) response into the same events, so
renderers and the loop have one path.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

from crazycall.conversation import (
    STOP_TOOL_USE,
    Message,
    ModelResponse,
    Part,
    ProviderData,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
    decode_arguments,
)
from crazycall.errors import ProtocolViolation
from crazycall.events import (
    ReasoningDelta,
    ResponseCompleted,
    StreamEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from crazycall.protocols.jsonutil import fix_surrogates
from crazycall.textbuffer import TextBuffer


def replay(response: ModelResponse) -> Iterator[StreamEvent]:
    """Turn a complete (non-streamed) response into the events a stream would have produced."""
    index = 0
    for part in response.message.parts:
        if isinstance(part, TextPart) and part.text:
            yield TextDelta(part.text)
        elif isinstance(part, ReasoningPart) and part.text:
            yield ReasoningDelta(part.text)
        elif isinstance(part, ToolCall):
            yield ToolCallStarted(index, part.id, part.name)
            if part.raw_arguments:
                yield ToolCallArgumentsDelta(index, part.raw_arguments)
            index += 1
    yield ResponseCompleted(response)


class _Builder:
    __slots__ = ("call_id", "chunks", "kind", "name", "pending", "provider_data", "raw_override", "tool_index")

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "text" | "reasoning" | "tool"
        self.chunks = TextBuffer()
        self.pending = ""  # a held-back high surrogate
        self.provider_data: dict[str, Any] = {}
        self.call_id = ""
        self.name = ""
        self.tool_index = -1
        self.raw_override: str | None = None


class StreamAssembler:
    """Builds neutral events and the final ModelResponse from deltas keyed by the vendor's own index.

    Keys are whatever identifies a part on the wire: chat ``tool_calls[].index``, Anthropic block index,
    Responses ``output_index``, Gemini part position. Parts keep the order of their first appearance.
    Text is kept in a TextBuffer and joined once (linear in the answer's length, in time and memory).
    """

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self._parts: dict[Hashable, _Builder] = {}
        self._tool_count = 0
        self.usage = Usage()
        self.model: str | None = None
        self.response_id: str | None = None

    # -- text and reasoning

    def _builder(self, key: Hashable, kind: str) -> _Builder:
        b = self._parts.get(key)
        if b is None:
            b = self._parts[key] = _Builder(kind)
        return b

    @staticmethod
    def _append(b: _Builder, delta: str) -> str:
        delta = b.pending + delta
        b.pending = ""
        if delta and "\ud800" <= delta[-1] <= "\udbff":  # hold back half a surrogate pair until its other half
            b.pending, delta = delta[-1], delta[:-1]
        delta = fix_surrogates(delta)  # after holding back, so a held half is never turned into U+FFFD
        if delta:
            b.chunks.append(delta)
        return delta

    def text(self, delta: str, key: Hashable = "text") -> TextDelta | None:
        """Add visible text; returns the event to emit (None when there is nothing to show yet)."""
        b = self._parts.get(key)
        if b is not None and delta.isascii() and delta and not b.pending:  # no surrogate to mend: the usual delta
            b.chunks.append(delta)
            return TextDelta(delta)
        shown = self._append(self._builder(key, "text"), delta)
        return TextDelta(shown) if shown else None

    def reasoning(self, delta: str, key: Hashable = "reasoning") -> ReasoningDelta | None:
        shown = self._append(self._builder(key, "reasoning"), delta)
        return ReasoningDelta(shown) if shown else None

    def ensure(self, key: Hashable, kind: str) -> None:
        """Create a (possibly empty) text or reasoning part so that it keeps its place and provider data."""
        self._builder(key, kind)

    def set_provider_data(self, key: Hashable, data: ProviderData) -> None:
        """Attach (merge) opaque echo-back data to the part at ``key``; the part must exist."""
        self._parts[key].provider_data.update(data)

    def has(self, key: Hashable) -> bool:
        return key in self._parts

    # -- tool calls

    def start_tool_call(
        self, key: Hashable, call_id: str, name: str, provider_data: ProviderData | None = None
    ) -> ToolCallStarted:
        b = self._builder(key, "tool")
        b.call_id, b.name = call_id, name
        b.tool_index = self._tool_count
        self._tool_count += 1
        if provider_data:
            b.provider_data.update(provider_data)
        return ToolCallStarted(b.tool_index, call_id, name)

    def tool_started(self, key: Hashable) -> bool:
        b = self._parts.get(key)
        return b is not None and b.kind == "tool"

    def tool_arguments(self, key: Hashable, fragment: str) -> ToolCallArgumentsDelta | None:
        """Add an argument fragment (any split, even inside a string or an escape)."""
        b = self._parts.get(key)
        if b is None or b.kind != "tool":
            raise ProtocolViolation(f"{self.protocol}: argument fragment for a tool call that never started")
        if not fragment:
            return None
        b.chunks.append(fragment)  # finish() joins the raw chunks; only the shown delta is repaired
        shown, b.pending = b.pending + fragment, ""
        if "\ud800" <= shown[-1] <= "\udbff":  # hold back half a surrogate pair until its other half
            b.pending, shown = shown[-1], shown[:-1]
        shown = fix_surrogates(shown)
        return ToolCallArgumentsDelta(b.tool_index, shown) if shown else None

    def set_tool_arguments(self, key: Hashable, raw: str) -> None:
        """Replace the assembled arguments with the final complete string the wire sent."""
        self._parts[key].raw_override = raw

    def update_tool(self, key: Hashable, call_id: str | None = None, name: str | None = None) -> None:
        b = self._parts[key]
        if call_id:
            b.call_id = call_id
        if name:
            b.name = name

    # -- the end

    def finish(self, stop_reason: str, raw_stop_reason: str | None = None) -> ModelResponse:
        parts: list[Part] = []
        for b in self._parts.values():
            if b.kind == "tool":
                raw = b.raw_override if b.raw_override is not None else b.chunks.text()
                raw = fix_surrogates(raw)
                arguments, error = decode_arguments(raw)
                parts.append(ToolCall(b.call_id, b.name, arguments, raw, dict(b.provider_data), error))
                continue
            text = fix_surrogates(b.chunks.text() + b.pending)
            if not text and not b.provider_data:
                continue
            if b.kind == "text":
                parts.append(TextPart(text, dict(b.provider_data)))
            else:
                parts.append(ReasoningPart(text, dict(b.provider_data)))
        if any(isinstance(p, ToolCall) for p in parts):
            stop_reason = STOP_TOOL_USE
        return ModelResponse(
            message=Message("assistant", tuple(parts)),
            stop_reason=stop_reason,
            usage=self.usage,
            model=self.model,
            response_id=self.response_id,
            raw_stop_reason=raw_stop_reason,
        )

    def completed(self, stop_reason: str, raw_stop_reason: str | None = None) -> ResponseCompleted:
        return ResponseCompleted(self.finish(stop_reason, raw_stop_reason))

"""The adapter interface, the request description and the shared stream assembler.

Adapters are sans-IO translators: they turn the neutral conversation into an ``HttpRequest`` and turn a JSON
body or a sequence of SSE events back into neutral events and a ``ModelResponse``. Nothing here (nor in any
adapter) imports httpx or rich; ``transport.py`` does the talking.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from crazycall.conversation import (
    STOP_TOOL_USE,
    Conversation,
    Message,
    ModelResponse,
    Part,
    ProviderData,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolSpec,
    Usage,
    decode_arguments,
)
from crazycall.errors import ProtocolViolation, ProviderError
from crazycall.events import (
    ReasoningDelta,
    ResponseCompleted,
    StreamEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from crazycall.textbuffer import TextBuffer

PROTOCOL_NAMES = ("chat", "responses", "messages", "gemini")


class SSE(Protocol):
    """What an adapter needs of one server-sent event (httpx-sse's ServerSentEvent fits)."""

    @property
    def event(self) -> str: ...

    @property
    def data(self) -> str: ...


@dataclass(frozen=True)
class SSEvent:
    """A plain SSE value, for tests and the offline router."""

    data: str
    event: str = "message"


@dataclass(frozen=True)
class RequestOptions:
    model: str
    stream: bool = True
    tool_choice: str = "auto"
    """``auto``, ``none``, ``required`` or the name of one tool."""
    parallel_tool_calls: bool = True
    max_tokens: int | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class HttpRequest:
    path: str
    """Relative to the router base URL, e.g. ``/v1/chat/completions``."""
    body: dict[str, Any]
    stream: bool
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"


@dataclass(frozen=True)
class Auth:
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


class ProtocolAdapter(Protocol):
    name: ClassVar[str]

    def build_request(self, conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest: ...

    def endpoint(self, model: str, stream: bool) -> str:
        """The path every request for ``model`` goes to (``build_request(...).path``), known without one."""
        ...

    def auth(self, api_key: str) -> Auth: ...

    def parse_response(self, body: Any) -> ModelResponse:
        """Parse a decoded JSON body; raise ProtocolViolation or ProviderError (an error inside a 200)."""
        ...

    def parse_stream(self, events: Iterable[SSE]) -> Iterator[StreamEvent]:
        """Yield neutral events; the last one is exactly one ResponseCompleted.

        Raises ProviderError for an error event, ProtocolViolation for data that is not the protocol, and
        TransportError when the stream ends before the protocol's terminal event.
        """
        ...

    def parse_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError: ...


# ---------------------------------------------------------------- helpers shared by the adapters

_SURROGATE = re.compile("[\ud800-\udfff]")


def fix_surrogates(text: str) -> str:
    """Join UTF-16 surrogate halves that arrived in separate JSON strings into real characters."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def require_mapping(value: Any, where: str, protocol: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or a ProtocolViolation naming ``where``."""
    if type(value) is dict:  # what json gives: skip the ABC check (this runs several times per stream delta)
        return value
    if not isinstance(value, Mapping):
        raise ProtocolViolation(f"{protocol}: expected a JSON object at {where}, got {type(value).__name__}")
    return value


_DECODER = json.JSONDecoder()


def loads(text: str) -> Any:
    """``json.loads(text)``, faster for one small document per stream event: the decoder is called directly,
    and anything it does not take whole (whitespace around it, errors) goes through ``json.loads`` itself, so
    values and exceptions are exactly json.loads's."""
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


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


def tool_choice_kind(choice: str, tools: Sequence[ToolSpec]) -> tuple[str, str | None]:
    """Classify ``--tool-choice``: ``("auto"|"none"|"required", None)`` or ``("tool", NAME)``.

    With no tools offered every choice degrades to ``none`` (there is nothing to choose).
    """
    if not tools:
        return "none", None
    if choice in ("auto", "none", "required"):
        return choice, None
    return "tool", choice


def provider_data_for(part: Part, protocol: str) -> Any:
    """This protocol's own echo-back data on a part, or None (other protocols' data is ignored)."""
    data = getattr(part, "provider_data", None)
    if not data:
        return None
    return data.get(protocol)


def json_error_body(body: bytes) -> Any:
    """Decode an error body leniently: JSON when it is JSON, else the text. JSON nested deeper than the parser
    can go is no error envelope any router sends: a ProtocolViolation (the transport names where)."""
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
    except RecursionError:
        raise ProtocolViolation("error body is JSON nested too deeply to read") from None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    lname = name.lower()
    for k, v in headers.items():
        if k.lower() == lname:
            return v
    return None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` (first) or ``retry-after`` (seconds or HTTP date); None if absent."""
    ms = header(headers, "retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = header(headers, "retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(ra)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


def should_retry_header(headers: Mapping[str, str]) -> bool | None:
    value = header(headers, "x-should-retry")
    if value is None:
        return None
    return value.strip().lower() == "true"


def truncate(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_error(
    cls_status: int | None,
    message: str,
    *,
    protocol: str,
    endpoint: str,
    error_type: str | None,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
    retryable: bool | None = None,
    cls: type[ProviderError] | None = None,
) -> ProviderError:
    """Construct the right ProviderError subclass (``cls``, or chosen by status) with the common fields."""
    from crazycall.errors import provider_error_class

    headers = headers or {}
    if retry_after is None:
        retry_after = parse_retry_after(headers)
    if retryable is None:
        retryable = should_retry_header(headers)
    request_id = header(headers, "request-id") or header(headers, "x-request-id")
    cls = cls or provider_error_class(cls_status)
    return cls(
        truncate(message),
        protocol=protocol,
        endpoint=endpoint,
        status=cls_status,
        error_type=error_type,
        request_id=request_id,
        retry_after=retry_after,
        retryable=retryable,
    )

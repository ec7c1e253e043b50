"""The adapter interface: what an adapter is given (RequestOptions), what it returns (HttpRequest, Auth),
what it reads (SSE), and how every adapter reads ``--tool-choice`` and its own echo-back data.

Adapters are sans-IO translators: they turn the neutral conversation into an ``HttpRequest`` and turn a JSON
body or a sequence of SSE events back into neutral events and a ``ModelResponse``. Nothing here (nor in any
adapter) imports httpx or rich; ``transport.py`` does the talking. The shared machinery lives beside this:
``assembler.py`` (deltas -> events and a response), ``jsonutil.py`` (reading wire JSON), ``http_errors.py``
(error bodies and retry hints).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from crazycall.conversation import Conversation, ModelResponse, Part, ToolSpec
from crazycall.errors import ProviderError
from crazycall.events import StreamEvent

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
    response_schema: Mapping[str, Any] | None = None
    """``--schema``: the JSON Schema the final answer must follow, asked for with the protocol's own mechanism."""
    response_strict: bool = False
    """``--strict``: ``response_schema`` follows OpenAI's strict-mode rules; ask the router to enforce it."""


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


# ---------------------------------------------------------------- reading the interface's inputs


def tool_choice_kind(choice: str, tools: Sequence[ToolSpec]) -> tuple[str, str | None]:
    """Classify ``--tool-choice``: ``("auto"|"none"|"required", None)`` or ``("tool", NAME)``.

    With no tools offered every choice degrades to ``none`` (there is nothing to choose).
    """
    if not tools:
        return "none", None
    if choice in ("auto", "none", "required"):
        return choice, None
    return "tool", choice


RESPONSE_SCHEMA_NAME = "final_answer"
"""The name OpenAI's json_schema formats require (``^[a-zA-Z0-9_-]{1,64}$``) for ``--schema``."""


def response_schema(opts: RequestOptions) -> dict[str, Any] | None:
    """``--schema`` as a JSON-ready deep copy (it may arrive as read-only mappings), or None."""
    return _plain(opts.response_schema) if opts.response_schema is not None else None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def provider_data_for(part: Part, protocol: str) -> Any:
    """This protocol's own echo-back data on a part, or None (other protocols' data is ignored)."""
    data = getattr(part, "provider_data", None)
    if not data:
        return None
    return data.get(protocol)

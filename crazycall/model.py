"""The Model seam: what answers one turn of a conversation.

Owns the ``Model`` Protocol that the loop (and smoke, and everything that runs a turn) depends on, the options
of one turn (``TurnOptions``, with the rule that a forced tool choice applies to the first turn only), and
``HttpModel``: an adapter, a transport, a model name and the stream mode bound together, whose ``endpoint`` is
known without building a request. ``events`` is the same iterator of neutral events for a streamed and a
non-streamed turn (a JSON body is replayed as the events a stream would have produced), so nothing above this
seam knows which one ran; ``ask_turn`` runs one turn to its complete response (for the loop and smoke alike).
Test doubles that need no network live in ``crazycall.testing``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import ProtocolViolation
from crazycall.events import ResponseCompleted, StreamEvent
from crazycall.protocols.assembler import replay
from crazycall.protocols.base import HttpRequest, ProtocolAdapter, RequestOptions


@dataclass(frozen=True)
class TurnOptions:
    """What one turn asks of the model besides the conversation and the tools."""

    tool_choice: str = "auto"
    """``auto``, ``none``, ``required`` or the name of one tool."""
    parallel_tool_calls: bool = True
    max_tokens: int | None = None
    temperature: float | None = None
    response_schema: Mapping[str, Any] | None = None
    """``--schema``: the final answer's JSON Schema (sent on every turn: tools and the schema combine)."""
    response_strict: bool = False
    """``--strict``: the schema follows OpenAI's strict-mode rules; Chat Completions and Responses send strict."""

    def after_tool_results(self) -> TurnOptions:
        """The options of the turns after the first: a forced choice (required / a named tool) applies to the
        first turn only; forcing it again would make the model call tools forever. ``none`` stays ``none``."""
        if self.tool_choice in ("auto", "none"):
            return self
        return replace(self, tool_choice="auto")


class Model(Protocol):
    """One model, reachable one way: answers a turn as neutral events, the last a ``ResponseCompleted``."""

    @property
    def name(self) -> str:
        """The model's name as the router knows it (``gpt-5.4``)."""
        ...

    @property
    def protocol(self) -> str:
        """The wire protocol's name, for reports only: nothing may branch on it (DESIGN principle 4)."""
        ...

    @property
    def endpoint(self) -> str:
        """The path every turn is sent to (``/v1/chat/completions``)."""
        ...

    def events(
        self, conversation: Conversation, tools: Sequence[ToolSpec], options: TurnOptions
    ) -> Iterator[StreamEvent]:
        """One turn's events; raises a ``CrazycallError`` (provider, transport, protocol) when it fails."""
        ...


class TurnTransport(Protocol):
    """What an HttpModel sends a turn through: ``crazycall.transport.Transport``, or a replay's stand-in."""

    def send(self, adapter: ProtocolAdapter, request: HttpRequest) -> Any:
        """The decoded JSON body of a non-streamed request's answer."""
        ...

    def stream(self, adapter: ProtocolAdapter, request: HttpRequest) -> Iterator[StreamEvent]:
        """The adapter's events of a streamed request's answer."""
        ...


class HttpModel:
    """A model behind a router: the adapter translates, the transport talks HTTP (stream or not)."""

    def __init__(self, adapter: ProtocolAdapter, transport: TurnTransport, name: str, *, stream: bool = True) -> None:
        self.adapter = adapter
        self.transport = transport
        self.stream = stream
        self._name = name
        self._endpoint = adapter.endpoint(name, stream)

    @property
    def name(self) -> str:
        return self._name

    @property
    def protocol(self) -> str:
        return self.adapter.name

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def request_options(self, options: TurnOptions) -> RequestOptions:
        return RequestOptions(
            model=self._name,
            stream=self.stream,
            tool_choice=options.tool_choice,
            parallel_tool_calls=options.parallel_tool_calls,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            response_schema=options.response_schema,
            response_strict=options.response_strict,
        )

    def events(
        self, conversation: Conversation, tools: Sequence[ToolSpec], options: TurnOptions
    ) -> Iterator[StreamEvent]:
        adapter, transport = self.adapter, self.transport
        request = adapter.build_request(conversation, tools, self.request_options(options))
        if self.stream:
            return transport.stream(adapter, request)
        return replay(adapter.parse_response(transport.send(adapter, request)))


def ask_turn(
    model: Model,
    conversation: Conversation,
    tools: Sequence[ToolSpec],
    options: TurnOptions,
    on_event: Callable[[StreamEvent], None],
) -> ModelResponse:
    """One turn to its end: every event goes to ``on_event`` as it arrives; the complete response is returned.
    A turn whose events stop without a ``ResponseCompleted`` is a ProtocolViolation."""
    response: ModelResponse | None = None
    for event in model.events(conversation, tools, options):
        on_event(event)
        if type(event) is ResponseCompleted:  # events are final classes: cheaper than isinstance, once per delta
            response = event.response
    if response is None:
        raise ProtocolViolation(f"{model.protocol}: the response ended without a complete message")
    return response


def endpoint_for(protocol: str, model: str, stream: bool) -> str:
    """The path a turn of ``model`` over ``protocol`` goes to, before any transport exists."""
    from crazycall.protocols import get_adapter

    return get_adapter(protocol).endpoint(model, stream)

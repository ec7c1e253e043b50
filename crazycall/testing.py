"""Test doubles for the Model seam: models that answer turns without a network, for tests and experiments.

``ScriptedModel`` plays given turns in order; ``FunctionModel`` computes each turn from what it is asked. Both
record every turn they were asked (``seen``), satisfy ``crazycall.model.Model`` and go through the same
``replay`` a non-streamed HTTP turn does, so the loop cannot tell them from a real model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import CrazycallError
from crazycall.events import StreamEvent
from crazycall.model import TurnOptions
from crazycall.protocols.assembler import replay

#: one turn: a whole response (played as the events a stream would have produced), the events themselves,
#: or an error raised when the turn is asked for
Turn = ModelResponse | Sequence[StreamEvent] | CrazycallError


@dataclass(frozen=True)
class Asked:
    """One turn a double was asked for."""

    conversation: Conversation
    tools: tuple[ToolSpec, ...]
    options: TurnOptions


class _Double:
    def __init__(self, name: str, protocol: str, endpoint: str) -> None:
        self._name, self._protocol, self._endpoint = name, protocol, endpoint
        self.seen: list[Asked] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def protocol(self) -> str:
        return self._protocol

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def _ask(self, conversation: Conversation, tools: Sequence[ToolSpec], options: TurnOptions) -> Asked:
        asked = Asked(conversation, tuple(tools), options)
        self.seen.append(asked)
        return asked


def _play(turn: Turn | Iterable[StreamEvent]) -> Iterator[StreamEvent]:
    if isinstance(turn, CrazycallError):
        raise turn
    if isinstance(turn, ModelResponse):
        return replay(turn)
    return iter(tuple(turn))


class ScriptedModel(_Double):
    """Plays ``turns`` one per request, in order; asking for more turns than scripted is an AssertionError."""

    def __init__(
        self, turns: Iterable[Turn], *, name: str = "m", protocol: str = "scripted", endpoint: str = "/scripted"
    ) -> None:
        super().__init__(name, protocol, endpoint)
        self.turns = list(turns)

    def events(
        self, conversation: Conversation, tools: Sequence[ToolSpec], options: TurnOptions
    ) -> Iterator[StreamEvent]:
        self._ask(conversation, tools, options)
        if not self.turns:
            raise AssertionError(f"ScriptedModel: turn {len(self.seen)} asked for, only {len(self.seen) - 1} scripted")
        return _play(self.turns.pop(0))


class FunctionModel(_Double):
    """Computes each turn with ``function(asked)``: a response, its events, or a raised error."""

    def __init__(
        self,
        function: Callable[[Asked], ModelResponse | Iterable[StreamEvent]],
        *,
        name: str = "m",
        protocol: str = "function",
        endpoint: str = "/function",
    ) -> None:
        super().__init__(name, protocol, endpoint)
        self.function = function

    def events(
        self, conversation: Conversation, tools: Sequence[ToolSpec], options: TurnOptions
    ) -> Iterator[StreamEvent]:
        return _play(self.function(self._ask(conversation, tools, options)))

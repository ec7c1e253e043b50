"""The events the loop emits and the renderers consume.

Two families: *stream events* come out of a protocol adapter while a model response arrives (a non-streamed
answer is replayed as the same events, so renderers have one path); *run events* come from the loop around
them. Plain frozen dataclasses, cheap to build per delta. No rendering and no vendor words here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crazycall.conversation import ModelResponse, ToolCall, ToolResult, Usage

if TYPE_CHECKING:
    from crazycall.errors import CrazycallError


# ---- stream events (adapters -> loop -> renderers) ----


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolCallStarted:
    index: int
    """Position of the call within this response (0, 1, ...), the key for its argument deltas."""
    id: str
    name: str


@dataclass(frozen=True)
class ToolCallArgumentsDelta:
    index: int
    delta: str


@dataclass(frozen=True)
class ResponseCompleted:
    response: ModelResponse


StreamEvent = TextDelta | ReasoningDelta | ToolCallStarted | ToolCallArgumentsDelta | ResponseCompleted


# ---- run events (loop -> renderers) ----


@dataclass(frozen=True)
class RunStarted:
    model: str
    protocol: str
    endpoint: str
    tools: tuple[str, ...]


@dataclass(frozen=True)
class TurnStarted:
    turn: int


@dataclass(frozen=True)
class ToolStarted:
    call: ToolCall


@dataclass(frozen=True)
class ToolFinished:
    call: ToolCall
    result: ToolResult
    duration_ms: float
    output: str = ""
    """What the tool printed to stdout/stderr while it ran (shown by renderers, never mixed into stdout)."""
    declined: str | None = None
    """Not run for want of approval (as ``ToolCallRecord.declined``): renderers show the user a sentence for
    the user, not the result written for the model."""


@dataclass(frozen=True)
class TurnFinished:
    turn: int
    usage: Usage
    stop_reason: str


@dataclass(frozen=True)
class ToolCallRecord:
    """One executed (or refused) tool call, as reported in ``--json``."""

    id: str
    name: str
    arguments: Any
    result: Any
    is_error: bool
    duration_ms: float
    declined: str | None = None
    """Not run for want of approval: "not_permitted" (nobody could be asked) or "user_declined"."""


@dataclass(frozen=True)
class RunResult:
    model: str
    protocol: str
    text: str
    stop_reason: str
    turns: int
    tool_calls: tuple[ToolCallRecord, ...] = ()
    usage: Usage = field(default_factory=Usage)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFinished:
    result: RunResult


@dataclass(frozen=True)
class RunFailed:
    error: CrazycallError
    partial: RunResult | None = None


RunEvent = RunStarted | TurnStarted | ToolStarted | ToolFinished | TurnFinished | RunFinished | RunFailed
Event = StreamEvent | RunEvent
Emit = Callable[[Event], None]

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
    run_id: str = ""
    """The id ``--resume`` and ``logs show`` take."""
    transcript: str | None = None
    """Where the transcript is written (None with ``--no-transcript``)."""
    schema: bool = False
    """``--schema``: the answer is a JSON document (``RunResult.extra["output"]`` holds its value)."""


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
class ToolCancelled:
    """A call that had not finished when the run was interrupted (Ctrl-C): it has no result."""

    call: ToolCall


@dataclass(frozen=True)
class ToolProgress:
    """A running tool's report of how far it got (an MCP server's progress notification)."""

    call: ToolCall
    progress: float
    total: float | None = None
    message: str | None = None


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
    run_id: str = ""
    transcript: str | None = None


@dataclass(frozen=True)
class RunFinished:
    result: RunResult
    transcript_error: str | None = None
    """Why the transcript stopped before the end (a full disk); the run itself went on."""


@dataclass(frozen=True)
class RunFailed:
    error: CrazycallError
    partial: RunResult | None = None
    transcript_error: str | None = None


RunEvent = (
    RunStarted
    | TurnStarted
    | ToolStarted
    | ToolProgress
    | ToolFinished
    | ToolCancelled
    | TurnFinished
    | RunFinished
    | RunFailed
)
Event = StreamEvent | RunEvent
Emit = Callable[[Event], None]

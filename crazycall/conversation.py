"""The neutral conversation model: frozen dataclasses, no I/O, no vendor words.

Owns the shapes every other layer agrees on. It deliberately knows nothing about any wire format: adapters
translate to and from it, the loop appends to it, renderers read it.

``provider_data`` on a part is an opaque mapping keyed by the protocol name that produced it
(``{"responses": {...}}``, ``{"gemini": {...}}``, ...). An adapter echoes back only its own key, so a
conversation resumed on another protocol silently drops what that protocol cannot take. The loop never
looks inside.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

ProviderData = Mapping[str, Any]

#: neutral stop reasons (``ModelResponse.stop_reason``)
STOP_END_TURN = "end_turn"
STOP_TOOL_USE = "tool_use"
STOP_MAX_TOKENS = "max_tokens"
STOP_CONTENT_FILTER = "content_filter"
STOP_OTHER = "other"
#: the model tried to call a tool and failed (bad call syntax, a call it was not allowed, too many); the loop
#: retries the turn once
STOP_MALFORMED_TOOL_CALL = "malformed_tool_call"
#: the model paused a long turn; the loop sends its content back, unchanged, to let it continue
STOP_PAUSE = "pause"


@dataclass(frozen=True)
class TextPart:
    text: str
    """Visible text, user or assistant."""
    provider_data: ProviderData = field(default_factory=dict)
    """Opaque data the producing protocol needs echoed with this text (e.g. a Responses message item)."""


@dataclass(frozen=True)
class ReasoningPart:
    text: str
    """Human-readable reasoning/thinking text; may be empty when the provider only returns an opaque blob."""
    provider_data: ProviderData = field(default_factory=dict)
    """The provider's reasoning item/block/signature, echoed back unchanged."""


@dataclass(frozen=True)
class ToolCall:
    id: str
    """Always set; adapters make one up when the wire has none (Gemini)."""
    name: str
    arguments: dict[str, Any]
    """Parsed arguments; ``{}`` when ``raw_arguments`` is empty or does not parse (see ``arguments_error``)."""
    raw_arguments: str
    """Exactly what the model sent (a JSON string), so that bad JSON is reported, not lost."""
    provider_data: ProviderData = field(default_factory=dict)
    arguments_error: str | None = None
    """Why ``raw_arguments`` could not be used as an argument object, or None when it could."""


@dataclass(frozen=True)
class ToolResult:
    call_id: str
    name: str
    content: str
    is_error: bool = False


Part = TextPart | ReasoningPart | ToolCall | ToolResult
Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolCall))

    @property
    def tool_results(self) -> tuple[ToolResult, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolResult))


@dataclass(frozen=True)
class Conversation:
    system: str | None = None
    """The system prompt lives outside messages because three of the four protocols carry it separately."""
    messages: tuple[Message, ...] = ()

    def append(self, *messages: Message) -> Conversation:
        return replace(self, messages=self.messages + messages)

    @classmethod
    def start(cls, prompt: str, system: str | None = None) -> Conversation:
        return cls(system=system, messages=(user_text(prompt),))


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: Mapping[str, Any]
    """A JSON Schema of type object."""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    """Of ``input_tokens``, those read from the provider's prompt cache (billed at the cached price)."""
    reasoning_tokens: int = 0
    """Of ``output_tokens``, those spent on reasoning (where the provider says)."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        """The JSON form (``--json``, ``run_finished``, ``turn_finished``, transcripts): the cached and reasoning
        counts only where the provider reported some (older readers see the shape they always saw)."""
        out = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        if self.cached_input_tokens:
            out["cached_input_tokens"] = self.cached_input_tokens
        if self.reasoning_tokens:
            out["reasoning_tokens"] = self.reasoning_tokens
        return out


@dataclass(frozen=True)
class ModelResponse:
    message: Message
    """The assistant message, parts in wire order."""
    stop_reason: str
    """One of the neutral ``STOP_*`` values."""
    usage: Usage = Usage()
    model: str | None = None
    response_id: str | None = None
    raw_stop_reason: str | None = None
    """The provider's own word for why it stopped (``finish_reason``, ``stop_reason``, ``finishReason``)."""


def user_text(text: str) -> Message:
    return Message("user", (TextPart(text),))


def decode_arguments(raw: str | None) -> tuple[dict[str, Any], str | None]:
    """Parse a tool call's raw argument string: ``(arguments, error)``.

    ``""`` and ``None`` mean no arguments (PROTOCOLS.md §1.6). Anything that is not a JSON object yields ``{}``
    and an error text that tells the model what was wrong.
    """
    if raw is None or raw.strip() == "":
        return {}, None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # deeply nested input raises RecursionError
        return {}, f"arguments are not valid JSON ({exc}): {raw[:200]!r}"
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}: {raw[:200]!r}"
    return value, None


def encode_arguments(arguments: Mapping[str, Any]) -> str:
    """The canonical JSON string for an argument object (compact, unicode kept)."""
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))

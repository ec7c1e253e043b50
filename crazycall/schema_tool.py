"""``--schema-mode``: the portable fallback of ``--schema``, a synthetic final tool.

Where a protocol has no structured-output field, or the router rejects it, the final answer is asked for as
a call to one more tool, ``final_answer``, whose input schema is the output schema (an object schema as is;
any other schema wrapped as the ``answer`` property of one). The loop treats a call to it as the final
answer: never run as a tool, judged against the schema like a text answer, and answered with a tool result
(the correction when it is invalid, so every protocol accepts the next turn). ``auto`` starts native and
switches to the tool for the rest of the run on a 400 that names the structured-output field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from crazycall.conversation import Message, ModelResponse, ToolCall, ToolResult, ToolSpec
from crazycall.errors import ProviderError, UsageError
from crazycall.model import TurnOptions

FINAL_TOOL = "final_answer"
MODES = ("native", "tool", "auto")
WRAPPED = "answer"
"""The property that carries a non-object schema's value (tool inputs must be objects on every protocol)."""
ACCEPTED = "Final answer recorded."
NOT_RUN = "Not run: the final answer was given in the same turn."
# How routers name the structured-output field when they refuse it (the four protocols' field names).
_NATIVE_FIELDS = (
    "response_format",
    "text.format",
    "output_config",
    "json_schema",
    "responsejsonschema",
    "responseschema",
    "response_schema",
    "responsemimetype",
    "response_mime_type",
    "structured output",
)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"--schema-mode {mode!r}: use one of {', '.join(MODES)}")
    return mode


def rejects_native(error: ProviderError) -> bool:
    """A 400 that names the structured-output field: the router does not take the native mechanism."""
    said = f"{error.provider_message} {error.error_type or ''}".lower()
    return error.status == 400 and any(name in said for name in _NATIVE_FIELDS)


@dataclass
class SchemaFallback:
    """One run's choice between the native mechanism and the final tool (``auto`` may switch once)."""

    schema: Mapping[str, Any] | None
    mode: str = "native"
    active: bool = False

    def __post_init__(self) -> None:
        self.active = self.schema is not None and self.mode == "tool"

    def inputs(self, specs: Sequence[ToolSpec], opts: TurnOptions) -> tuple[Sequence[ToolSpec], TurnOptions]:
        """What one turn offers: the tools plus ``final_answer`` (and no native field) in tool mode."""
        if not self.active or self.schema is None:
            return specs, opts
        if any(spec.name == FINAL_TOOL for spec in specs):
            raise UsageError(f"--schema-mode tool: a tool is already named {FINAL_TOOL!r}; rename it")
        opts = replace(opts, response_schema=None, response_strict=False)
        if opts.tool_choice == "none":  # no tool of the user's, but the answer still comes as the final tool
            return [final_spec(self.schema)], replace(opts, tool_choice=FINAL_TOOL)
        return [*specs, final_spec(self.schema)], opts

    def turn(
        self,
        ask: Callable[[Sequence[ToolSpec], TurnOptions], ModelResponse],
        specs: Sequence[ToolSpec],
        opts: TurnOptions,
    ) -> ModelResponse:
        """One turn; in ``auto`` a router that refuses the native field is asked again with the tool."""
        try:
            return ask(*self.inputs(specs, opts))
        except ProviderError as error:
            if self.mode != "auto" or self.active or self.schema is None or not rejects_native(error):
                raise
        self.active = True  # for the rest of the run: the router said no once
        return ask(*self.inputs(specs, opts))

    def final_call(self, calls: Sequence[ToolCall]) -> ToolCall | None:
        if not self.active:
            return None
        return next((call for call in calls if call.name == FINAL_TOOL), None)

    def answer_text(self, call: ToolCall) -> str:
        """The call's arguments as the answer's JSON text (unwrapped for a non-object schema)."""
        if call.arguments_error is not None:
            return call.raw_arguments
        value: Any = call.arguments
        if self.schema is not None and _wrapped(self.schema):
            value = call.arguments.get(WRAPPED)
        return json.dumps(value, ensure_ascii=False)


def final_spec(schema: Mapping[str, Any]) -> ToolSpec:
    parameters: Mapping[str, Any] = schema
    if _wrapped(schema):
        parameters = {"type": "object", "properties": {WRAPPED: dict(schema)}, "required": [WRAPPED]}
    description = (
        "Give your final answer by calling this tool once you are done with the other tools; its arguments "
        "are the answer, which must follow this schema. Do not answer in plain text."
    )
    return ToolSpec(FINAL_TOOL, description, parameters)


def _wrapped(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") != "object"


def results_message(calls: Sequence[ToolCall], final: ToolCall, reply: str, is_error: bool) -> Message:
    """Every call of the turn answered: ``final_answer`` with ``reply``, any other call as not run."""
    results = tuple(
        ToolResult(c.id, c.name, reply, is_error) if c is final else ToolResult(c.id, c.name, NOT_RUN, True)
        for c in calls
    )
    return Message("tool", results)

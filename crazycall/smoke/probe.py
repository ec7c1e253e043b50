"""The probe tools a smoke case offers, and the checks that decide whether an answer passes.

Owns the built-in ``get_time(timezone)`` probe (its ToolSpec and a real implementation for ``--round-trip``),
tools defined inline in ``smoke.yaml``, the table of each protocol's success-marker name, and the failure
wording ("answered in text, no tool call", "called X instead of get_time", "arguments invalid: $.timezone:
..."). The checks read only the neutral ``ModelResponse``: the marker names are presentation. It sends
nothing (runner.py does) and never reads the user's tools.yaml: a smoke check must not depend on the
project it runs in. Argument validation is ``registry.Tool.validate`` (jsonschema, compiled once per tool).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from crazycall.conversation import ModelResponse, ToolCall, ToolSpec
from crazycall.errors import EXIT_PROVIDER
from crazycall.tools.registry import Tool

#: the wire element that says "tool call" in each protocol (PROTOCOLS.md §1.2, §2.2, §3.2, §4.2)
MARKERS = {"chat": "tool_calls", "responses": "function_call", "messages": "tool_use", "gemini": "functionCall"}

PROBE_NAME = "get_time"
BUILTIN_SOURCE = "crazycall smoke (built-in)"

GET_TIME = ToolSpec(
    name=PROBE_NAME,
    description="The current date and time in a time zone.",
    parameters={
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "minLength": 1,
                "description": "IANA time zone name, e.g. Europe/Paris, Asia/Tokyo or UTC",
            }
        },
        "required": ["timezone"],
        "additionalProperties": False,
    },
)


def get_time(timezone: str) -> dict[str, str]:
    """The real current time in ``timezone`` (``--round-trip`` sends this back to the model)."""
    zone: dt.tzinfo
    if timezone.upper() in ("UTC", "ETC/UTC", "Z", "GMT"):
        zone = dt.timezone.utc  # works without a time-zone database
    else:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}; use an IANA name such as Europe/Paris") from None
    now = dt.datetime.now(zone)
    return {"timezone": timezone, "time": now.isoformat(timespec="seconds"), "weekday": now.strftime("%A")}


def builtin_probes() -> dict[str, Tool]:
    """Fresh built-in probe tools by name (a new Tool each time: no state shared between runs)."""
    return {PROBE_NAME: Tool(GET_TIME, get_time, BUILTIN_SOURCE)}


def inline_probe(spec: ToolSpec, result: Any, source: str) -> Tool:
    """A probe defined in smoke.yaml: it answers every call with the fixed ``result``."""

    def answer(**_arguments: Any) -> Any:
        return result

    return Tool(spec, answer, source)


def default_prompt(tool: Tool) -> str:
    if tool.name == PROBE_NAME and tool.source == BUILTIN_SOURCE:
        return "What time is it now in Europe/Paris? Use the get_time tool."
    return f"Call the {tool.name} tool now, with arguments that fit its schema."


class CaseFailure(Exception):
    """Why a case failed: a one-line ``reason`` for tables, its exit-code class, and optional detail."""

    def __init__(self, reason: str, exit_code: int, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code
        self.detail = detail


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expect_tool_call(response: ModelResponse, tool: Tool) -> ToolCall:
    """The call of ``tool`` in a forced-tool answer, or a CaseFailure saying what came instead.

    A well-formed answer that lacks the call is the provider's (router's or model's) failure to honour a
    forced tool_choice, so these failures carry exit code 4, not 6: the response parsed fine.
    """
    message = response.message
    calls = message.tool_calls
    if not calls:
        stop = response.raw_stop_reason or response.stop_reason
        if message.text.strip():
            raise CaseFailure("answered in text, no tool call", EXIT_PROVIDER, f"text: {_clip(message.text)}")
        raise CaseFailure(f"no tool call and no text (stop reason {stop})", EXIT_PROVIDER)
    call = next((c for c in calls if c.name == tool.name), None)
    if call is None:
        names = ", ".join(sorted({c.name or "(no name)" for c in calls}))
        raise CaseFailure(f"called {names} instead of {tool.name}", EXIT_PROVIDER)
    if call.arguments_error:
        raise CaseFailure(f"arguments invalid: {_clip(call.arguments_error)}", EXIT_PROVIDER)
    violations = tool.validate(call.arguments)
    if violations:
        raise CaseFailure(
            f"arguments invalid: {_clip('; '.join(violations))}", EXIT_PROVIDER, f"arguments: {call.raw_arguments}"
        )
    return call


def expect_text_answer(response: ModelResponse) -> str:
    """The final text after the tool result went back (``--round-trip``), or a CaseFailure."""
    message = response.message
    if message.tool_calls:
        names = ", ".join(sorted({c.name for c in message.tool_calls}))
        raise CaseFailure(f"round trip: called {names} again instead of answering in text", EXIT_PROVIDER)
    if not message.text.strip():
        stop = response.raw_stop_reason or response.stop_reason
        raise CaseFailure(f"round trip: no text answer (stop reason {stop})", EXIT_PROVIDER)
    return message.text


def run_probe(tool: Tool, arguments: Mapping[str, Any]) -> tuple[str, bool]:
    """Run a probe for ``--round-trip``: (result text, is_error). A failing tool is reported to the model."""
    from crazycall.tools.runner import result_text

    try:
        return result_text(tool(arguments)), False
    except Exception as exc:  # e.g. an unknown time zone: the model gets the message, as in `ask`
        return f"{type(exc).__name__}: {exc}", True

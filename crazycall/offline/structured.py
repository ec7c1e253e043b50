"""The offline router's structured outputs: reading each protocol's request for a final-answer JSON Schema, and
the deterministic model's JSON answer (or, when a test asks with the ``bad_output`` fault, a wrong one).

Written from the providers' documentation, never from crazycall.protocols:
- Chat Completions: ``response_format: {type: json_schema, json_schema: {name, schema, strict}}`` (also
  ``{type: text}`` and ``{type: json_object}``), https://platform.openai.com/docs/guides/structured-outputs
- Responses: ``text: {format: {type: json_schema, name, schema, strict}}``, flat (same guide).
- Anthropic Messages: ``output_config: {format: {type: json_schema, schema}}``,
  https://platform.claude.com/docs/en/build-with-claude/structured-outputs
- Gemini: ``generationConfig: {responseMimeType: application/json, responseJsonSchema | responseSchema}``,
  https://ai.google.dev/gemini-api/docs/structured-output
Each reader returns the schema (or None) and raises the protocol's own 400 for a malformed one.
The portable fallback (a client that offers a ``final_answer`` tool whose input schema is the answer's schema
instead of a native field) is answered the same way: by calling that tool once the other tools are done.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crazycall.offline import openai_common as oa
from crazycall.offline.replies import PlannedCall, TurnInput, build_value
from crazycall.offline.wire import WireError

_FORMATS = ["text", "json_object", "json_schema"]


def _openai_format(fmt: Any, param: str, nested: bool) -> Mapping[str, Any] | None:
    if not isinstance(fmt, dict):
        raise oa.type_error(param, "an object", fmt)
    kind = fmt.get("type")
    if kind not in _FORMATS:
        raise oa.invalid_value(f"{param}.type", kind, _FORMATS)
    if kind != "json_schema":
        return None
    where = f"{param}.json_schema" if nested else param
    spec = fmt.get("json_schema") if nested else fmt
    if not isinstance(spec, dict):
        raise oa.type_error(where, "an object", spec) if spec is not None else oa.missing(where)
    oa.check_tool_name(spec.get("name"), f"{where}.name")
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        raise oa.type_error(f"{where}.schema", "an object", schema)
    if spec.get("strict") is True:
        problem = oa.strict_problem(schema, ())
        if problem:
            raise WireError(400, f"Invalid schema for response_format '{spec['name']}': {problem}", param=where)
    return schema


def chat_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if "response_format" not in body:
        return None
    return _openai_format(body["response_format"], "response_format", nested=True)


def responses_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    text = body.get("text")
    if text is None:
        return None
    if not isinstance(text, dict):
        raise oa.type_error("text", "an object", text)
    if "format" not in text:
        return None
    return _openai_format(text["format"], "text.format", nested=False)


def messages_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = body.get("output_config")
    if config is None:
        return None
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise WireError(400, "output_config.format.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise WireError(400, "output_config.format.schema: Input should be a valid dictionary")
    return schema


def gemini_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = body.get("generationConfig", body.get("generation_config"))
    if not isinstance(config, dict):
        return None
    schema = config.get("responseJsonSchema", config.get("responseSchema"))
    if schema is None:
        return None
    if config.get("responseMimeType") != "application/json":
        raise WireError(
            400,
            "* GenerateContentRequest.generation_config.response_mime_type: "
            "response_mime_type must be application/json when a response schema is set.",
        )
    if not isinstance(schema, dict):
        raise WireError(400, "Invalid JSON payload received. generationConfig.responseJsonSchema must be an object.")
    return schema


def structured_text(schema: Mapping[str, Any], prompt: str, bad: bool) -> str:
    """The JSON document the offline model answers with; with ``bad``, one that breaks the schema."""
    value = build_value(schema, prompt)
    if bad:
        value = _broken(value, schema)
    return json.dumps(value, ensure_ascii=False)


def _broken(value: Any, schema: Mapping[str, Any]) -> Any:
    """A value of the wrong type in the first property (a violation with a path), or at the top."""
    props = schema.get("properties")
    if isinstance(value, dict) and isinstance(props, Mapping) and props:
        key = str(next(iter(props)))
        current = value.get(key)
        return {**value, key: 12345 if isinstance(current, str) else "not what the schema asks"}
    return 12345 if isinstance(value, str) else "not what the schema asks"


FINAL_TOOL = "final_answer"


def final_tool_calls(turn: TurnInput, calls: tuple[PlannedCall, ...]) -> tuple[PlannedCall, ...]:
    """``calls``, or, when the other tools are done (or the choice forces it), the final answer as a call to an
    offered ``final_answer`` tool (broken on purpose with ``bad_output``)."""
    if any(call.name != FINAL_TOOL for call in calls) or turn.choice == "none":
        return calls
    if turn.choice == "tool" and turn.forced != FINAL_TOOL:
        return calls
    tool = next((t for t in turn.tools if t.name == FINAL_TOOL), None)
    if tool is None:
        return calls
    value = build_value(tool.schema, turn.prompt)
    if turn.bad_output:
        value = _broken(value, tool.schema)
    return (PlannedCall(FINAL_TOOL, value if isinstance(value, dict) else {}),)

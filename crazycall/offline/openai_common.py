"""What the offline router's Chat Completions and Responses modules share: OpenAI's envelope and checks.

Owns the OpenAI error body (PROTOCOLS.md §1.5), Bearer auth, the faults' HTTP errors, and the request checks
both endpoints make the same way: tool names, strict-mode schemas (§1.1), JSON types, reasoning-model names.
It does not parse either protocol's messages; chat.py and responses.py do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crazycall.offline.replies import OfferedTool
from crazycall.offline.wire import WireError

_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_KIND_BY_STATUS = {429: "requests", 500: "server_error", 503: "server_error"}


def render_error(err: WireError) -> dict[str, Any]:
    """``{"error": {message, type, param, code}}`` (§1.5)."""
    kind = err.kind or _KIND_BY_STATUS.get(err.status, "invalid_request_error")
    return {"error": {"message": err.message, "type": kind, "param": err.param, "code": err.code}}


def authenticate(headers: Mapping[str, str], api_key: str | None) -> None:
    """``Authorization: Bearer KEY`` (§0); the 401 never repeats the key."""
    header = headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise WireError(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if api_key is not None and key != api_key:
        raise WireError(401, "Incorrect API key provided.", code="invalid_api_key")


def fault_error(status: int) -> WireError:
    """The error a ``http401`` / ``http429`` / ``http500`` fault answers with."""
    if status == 401:
        return WireError(401, "Incorrect API key provided.", code="invalid_api_key")
    if status == 429:
        message = "Rate limit reached for requests (offline router fault). Please try again in 0s."
        return WireError(429, message, code="rate_limit_exceeded", headers={"retry-after": "0"})
    return WireError(status, "The server had an error while processing your request. Sorry about that!")


def bad_json() -> WireError:
    return WireError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    )


def is_reasoning_model(model: str) -> bool:
    """gpt-5* and o1/o3/o4-style names: the models that emit reasoning items."""
    return model.startswith("gpt-5") or re.match(r"o\d", model) is not None


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else "an object"


def type_error(param: str, expected: str, value: Any) -> WireError:
    message = f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead."
    return WireError(400, message, code="invalid_type", param=param)


def missing(param: str) -> WireError:
    return WireError(400, f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param)


def invalid_value(param: str, value: Any, supported: list[str]) -> WireError:
    quoted = [f"'{s}'" for s in supported]
    listed = " and ".join(quoted) if len(quoted) < 3 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
    message = f"Invalid value: '{value}'. Supported values are: {listed}."
    return WireError(400, message, code="invalid_value", param=param)


def check_tool_name(name: Any, param: str) -> str:
    """Names must match ``^[a-zA-Z0-9_-]{1,64}$`` (§0)."""
    if not isinstance(name, str):
        raise type_error(param, "a string", name) if name is not None else missing(param)
    if len(name) > 64:
        message = (
            f"Invalid '{param}': string too long. Expected a string with maximum length 64, "
            f"but got a string with length {len(name)} instead."
        )
        raise WireError(400, message, code="string_above_max_length", param=param)
    if not _NAME.match(name):
        message = (
            f"Invalid '{param}': string does not match pattern. "
            "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
        )
        raise WireError(400, message, code="invalid_value", param=param)
    return name


def strict_problem(schema: Any, context: tuple[str, ...]) -> str | None:
    """The first break of the strict-mode rules of §1.1, worded as OpenAI words it."""
    if not isinstance(schema, Mapping):
        return None
    if "$ref" in schema and len(schema) > 1 and set(schema) - {"$ref", "description"}:
        return f"In context={context}, $ref cannot have keywords {sorted(set(schema) - {'$ref'})}."
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    props = schema.get("properties")
    if "object" in kinds or isinstance(props, Mapping):
        if schema.get("additionalProperties") is not False:
            return f"In context={context}, 'additionalProperties' is required to be supplied and to be false."
        required = schema.get("required")
        required = required if isinstance(required, list) else []
        for key in props or {}:
            if key not in required:
                return (
                    f"In context={context}, 'required' is required to be supplied and to be an array "
                    f"including every key in properties. Missing '{key}'."
                )
    children: list[tuple[tuple[str, ...], Any]] = []
    for key, sub in (props or {}).items():
        children.append(((*context, "properties", str(key)), sub))
    if "items" in schema:
        children.append(((*context, "items"), schema["items"]))
    for group in ("anyOf", "$defs", "definitions"):
        entries = schema.get(group)
        pairs = entries.items() if isinstance(entries, Mapping) else enumerate(entries or [])
        children.extend(((*context, group, str(k)), sub) for k, sub in pairs)
    for sub_context, sub in children:
        problem = strict_problem(sub, sub_context)
        if problem:
            return problem
    return None


def check_schema(name: str, schema: Any, strict: bool, param: str) -> dict[str, Any]:
    """A function's parameters: an object schema, and strict-valid when ``strict`` (§1.1)."""
    if schema is None:
        return {"type": "object", "properties": {}}
    if not isinstance(schema, dict):
        raise type_error(param, "an object", schema)
    kind = schema.get("type", "object")
    problem = None
    if kind != "object":
        problem = f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{kind}\"'."
    elif strict:
        problem = strict_problem(schema, ())
    if problem:
        message = f"Invalid schema for function '{name}': {problem}"
        raise WireError(400, message, code="invalid_function_parameters", param=param)
    return schema


def pick_tool_choice(
    tools: list[OfferedTool], choice: str, names: list[str] | None, param: str
) -> tuple[list[OfferedTool], str, str | None]:
    """Apply a (validated) choice: the tools left on offer, the choice kind and the forced name."""
    known = [t.name for t in tools]
    for name in names or []:
        if name not in known:
            message = f"Invalid value for '{param}': tool '{name}' is not among the tools provided."
            raise WireError(400, message, code="invalid_value", param=param)
    if choice == "tool":
        return tools, "tool", names[0] if names else None
    if names is not None:
        tools = [t for t in tools if t.name in names]
    return tools, choice, None

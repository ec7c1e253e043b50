"""Reading and checking a Gemini generateContent request on the offline router (PROTOCOLS.md §4.1, §4.3).

Owns the Gemini request checks with Google's own 400 messages: no ``model`` in the body and no unknown field,
function declarations (name rule, the OpenAPI-subset ``parameters`` dialect versus plain JSON Schema in
``parametersJsonSchema``), ``toolConfig``, roles, and the function-call turns: responses right after their
call turn, one ``functionResponse`` per ``functionCall`` with matching names, ``response`` an object, and
every signed call of the current turn echoed with its ``thoughtSignature``. Requests may use camelCase or
snake_case names, as Google accepts both. It does not write replies (gemini.py does).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from crazycall.offline.replies import OfferedTool, SeenResult, result_text
from crazycall.offline.wire import RouterState, WireError

_TOP = ("contents", "tools", "toolConfig", "systemInstruction", "generationConfig", "safetySettings", "cachedContent")
_PART_KEYS = [
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "partMetadata",
]
# §4.1: the keys the ``Schema`` proto knows; anything else is "Unknown name".
_SCHEMA_KEYS = [
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
]
_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL", "TYPE_UNSPECIFIED"}
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$")
_V1 = "google.ai.generativelanguage.v1beta"
_MODES = ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED")
#: §4.3: values Google accepts in place of a real signature for calls written by hand.
DUMMY_SIGNATURES = frozenset({"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"})

Content = tuple[str, list[dict[str, Any]]]


def snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` under its camelCase or snake_case spelling."""
    if not isinstance(obj, dict):
        return None
    return obj[name] if name in obj else obj.get(snake(name))


def invalid(message: str) -> WireError:
    return WireError(400, message)


def bad_value(where: str, proto: str, *value: Any) -> WireError:
    """Google's proto-parser message for a value of the wrong shape."""
    shown = f", {json.dumps(value[0])}" if value else ""
    return invalid(f"Invalid value at '{where}' (type.googleapis.com/{proto}){shown}")


def unknown_name(name: str, where: str = "") -> WireError:
    at = f" at '{where}'" if where else ""
    return invalid(f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.')


def _known(obj: dict[str, Any], names: list[str] | tuple[str, ...], where: str) -> None:
    allowed = set(names) | {snake(n) for n in names}
    for key in obj:
        if key not in allowed:
            raise unknown_name(key, where)


def check_top(body: dict[str, Any]) -> list[Any]:
    """§4.1: the model goes in the URL, never in the body; contents must not be empty."""
    _known(body, _TOP, "")
    contents = field(body, "contents")
    if not isinstance(contents, list) or not contents:
        raise invalid("* GenerateContentRequest.contents: contents is not specified")
    return contents


def _check_schema(schema: Any, where: str) -> None:
    """The OpenAPI-subset ``parameters`` dialect (§4.1)."""
    if not isinstance(schema, dict):
        raise bad_value(where, f"{_V1}.Schema")
    _known(schema, _SCHEMA_KEYS, where)
    kind = schema.get("type")
    if isinstance(kind, list):
        message = "Proto field is not repeating, cannot start list."
        raise invalid(f"Invalid JSON payload received. Unknown name \"type\" at '{where}': {message}")
    if kind is not None and (not isinstance(kind, str) or kind.upper() not in _TYPES):
        raise bad_value(f"{where}.type", f"{_V1}.Type", kind)
    for k, value in enumerate(schema.get("enum") or []):
        if not isinstance(value, str):  # §4.6: enum values must be strings
            raise invalid(f"Invalid value at '{where}.enum[{k}]' (TYPE_STRING), {json.dumps(value)}")
    props = schema.get("properties")
    for k, sub in enumerate((props or {}).values() if isinstance(props, dict) else []):
        _check_schema(sub, f"{where}.properties[{k}].value")
    if "items" in schema:
        _check_schema(schema["items"], f"{where}.items")
    for k, sub in enumerate(field(schema, "anyOf") or []):
        _check_schema(sub, f"{where}.any_of[{k}]")


def _declaration(decl: Any, where: str) -> OfferedTool:
    if not isinstance(decl, dict):
        raise bad_value(where, f"{_V1}.FunctionDeclaration")
    name = decl.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise invalid(
            f"* GenerateContentRequest.{where}.name: Invalid function name. Must start with a letter or an "
            "underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum "
            "length of 64."
        )
    params, json_schema = field(decl, "parameters"), field(decl, "parametersJsonSchema")
    if params is not None and json_schema is not None:
        raise invalid(
            f"* GenerateContentRequest.{where}: parameters and parameters_json_schema are mutually exclusive."
        )
    if params is not None:
        _check_schema(params, f"{where}.parameters")
        return OfferedTool(name, params)
    if json_schema is not None:
        if not isinstance(json_schema, dict) or json_schema.get("type", "object") != "object":
            raise invalid(f"* GenerateContentRequest.{where}.parameters_json_schema: must describe an object.")
        return OfferedTool(name, json_schema)
    return OfferedTool(name, {"type": "object", "properties": {}})


def tools(body: dict[str, Any]) -> list[OfferedTool]:
    out: list[OfferedTool] = []
    for i, tool in enumerate(field(body, "tools") or []):
        decls = field(tool, "functionDeclarations")
        for j, decl in enumerate(decls if isinstance(decls, list) else []):
            out.append(_declaration(decl, f"tools[{i}].function_declarations[{j}]"))
    return out


def tool_config(body: dict[str, Any], offered: list[OfferedTool]) -> tuple[list[OfferedTool], str, str | None]:
    """``toolConfig.functionCallingConfig``: AUTO / ANY (+ allowedFunctionNames) / NONE (§4.1)."""
    config = field(field(body, "toolConfig"), "functionCallingConfig") or {}
    mode = config.get("mode", "AUTO")
    if mode not in _MODES:
        raise bad_value("tool_config.function_calling_config.mode", f"{_V1}.FunctionCallingConfig.Mode", mode)
    allowed = field(config, "allowedFunctionNames")
    if allowed and mode not in ("ANY", "VALIDATED"):
        raise invalid(
            "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
            "allowed_function_names may only be set when mode is ANY or VALIDATED."
        )
    if mode == "NONE":
        return offered, "none", None
    if allowed:
        offered = [t for t in offered if t.name in allowed]
        if mode == "ANY" and len(allowed) == 1:
            return offered, "tool", str(allowed[0])
    return offered, "required" if mode == "ANY" else "auto", None


def read_contents(contents: list[Any]) -> list[Content]:
    out: list[Content] = []
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise bad_value(f"contents[{i}]", f"{_V1}.Content")
        role = content.get("role") or "user"
        if role not in ("user", "model"):
            raise invalid("Please use a valid role: user, model.")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise invalid(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        for j, part in enumerate(parts):
            if not isinstance(part, dict):
                raise bad_value(f"contents[{i}].parts[{j}]", f"{_V1}.Part")
            _known(part, _PART_KEYS, f"contents[{i}].parts[{j}]")
            _check_call(field(part, "functionCall"), f"contents[{i}].parts[{j}].function_call")
        out.append((role, parts))
    return out


def _check_call(call: Any, where: str) -> None:
    if call is None:
        return
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise invalid(f"* GenerateContentRequest.{where}.name: Name cannot be empty.")
    args = call.get("args")
    if args is not None and not isinstance(args, dict):  # §4.6: args is an object (or missing)
        raise bad_value(f"{where}.args", "google.protobuf.Struct", args)


def call_key(calls: list[tuple[Any, Any]]) -> str:
    """Identifies a model turn by its calls, to find the signature the router gave it."""
    return json.dumps([[name, args or {}] for name, args in calls], sort_keys=True)


def _calls(parts: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (part, functionCall) pairs of a content."""
    return [(p, field(p, "functionCall")) for p in parts if isinstance(field(p, "functionCall"), dict)]


def _check_responses(i: int, parts: list[dict[str, Any]], previous: Content | None) -> None:
    """§4.3: right after the call turn, one response per call, same names, each ``response`` an object."""
    answers = [
        (j, field(p, "functionResponse")) for j, p in enumerate(parts) if field(p, "functionResponse") is not None
    ]
    if not answers:
        return
    calls = _calls(previous[1]) if previous and previous[0] == "model" else []
    if not calls:
        raise invalid("Please ensure that function response turn comes immediately after a function call turn.")
    if len(answers) != len(calls):
        raise invalid(
            "Please ensure that the number of function response parts is equal to the number of function call "
            "parts of the function call turn."
        )
    names = Counter(str(call.get("name")) for _, call in calls)
    for j, answer in answers:
        name = answer.get("name") if isinstance(answer, dict) else None
        if names[str(name)] <= 0:
            where = f"contents[{i}].parts[{j}].function_response.name"
            raise invalid(f"Function response name '{name}' at '{where}' matches no call of the function call turn.")
        names[str(name)] -= 1
        response = answer.get("response")
        if not isinstance(response, dict):
            raise bad_value(f"contents[{i}].parts[{j}].function_response.response", "google.protobuf.Struct", response)


def _check_signatures(i: int, parts: list[dict[str, Any]], state: RouterState) -> None:
    """§4.3: in the current turn, a call the router signed must come back with that signature."""
    for j, part in enumerate(parts):
        signature = field(part, "thoughtSignature")
        if signature is not None and signature not in DUMMY_SIGNATURES and not state.issued(str(signature)):
            raise invalid(f"Corrupted thought signature at 'contents[{i}].parts[{j}]'.")
    calls = _calls(parts)
    if not calls:
        return
    expected = state.signatures_for(call_key([(call.get("name"), call.get("args")) for _, call in calls]))
    signature = field(calls[0][0], "thoughtSignature")
    if expected and signature not in expected and signature not in DUMMY_SIGNATURES:
        name = calls[0][1].get("name")
        raise invalid(
            "Function call is missing a thought_signature in functionCall parts. This is required for tools to "
            "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
            f"data, function call `default_api:{name}` , position {i + 1}. Please refer to "
            "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
        )


def _result(answer: dict[str, Any]) -> SeenResult:
    response = answer["response"]
    if "error" in response and "output" not in response:
        return SeenResult(str(answer.get("name")), result_text(response["error"]), True)
    value = response.get("output", response)
    return SeenResult(str(answer.get("name")), result_text(value))


def read_history(contents: list[Content], state: RouterState) -> tuple[str, tuple[SeenResult, ...]]:
    """Check the call turns; return the last user text and the function responses sent after it."""
    last_text = -1
    for i, (role, parts) in enumerate(contents):
        _check_responses(i, parts, contents[i - 1] if i else None)
        if role == "model" and _calls(parts) and (i == 0 or contents[i - 1][0] != "user"):
            raise invalid(
                "Please ensure that function call turn comes immediately after a user turn or after a function "
                "response turn."
            )
        has_answers = any(field(p, "functionResponse") is not None for p in parts)
        if role == "user" and not has_answers and any(isinstance(p.get("text"), str) for p in parts):
            last_text = i
    for i in range(last_text + 1, len(contents)):  # §4.3: only the current turn is checked
        if contents[i][0] == "model":
            _check_signatures(i, contents[i][1], state)
    prompt = (
        "\n".join(p["text"] for p in contents[last_text][1] if isinstance(p.get("text"), str)) if last_text >= 0 else ""
    )
    results = [
        _result(field(p, "functionResponse"))
        for _, parts in contents[last_text + 1 :]
        for p in parts
        if isinstance(field(p, "functionResponse"), dict)
    ]
    return prompt, tuple(results)

"""Reading and checking an OpenAI Responses request on the offline router (PROTOCOLS.md §2.1, §2.3).

Owns the Responses request checks with OpenAI's own messages: top-level fields, flat function tools and
tool_choice, the input items (message parts by role, every function_call answered, every reasoning item
echoed with its encrypted content and followed by its item, every reasoning model's call travelling with its
reasoning item) and ``previous_response_id``. It does not write replies (responses.py does).
"""

from __future__ import annotations

from typing import Any

from crazycall.offline import openai_common as oa
from crazycall.offline.replies import OfferedTool, SeenResult, result_text
from crazycall.offline.wire import RouterState, WireError, encrypted_reasoning

_TOP = frozenset(
    [
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "max_tool_calls",
        "stream",
        "stream_options",
        "store",
        "include",
        "previous_response_id",
        "reasoning",
        "temperature",
        "top_p",
        "text",
        "truncation",
        "user",
        "metadata",
        "background",
        "service_tier",
        "top_logprobs",
        "prompt",
        "prompt_cache_key",
        "safety_identifier",
        "conversation",
    ]
)
_CHOICES = ["none", "auto", "required"]
_ITEM_TYPES = ["message", "function_call", "function_call_output", "reasoning", "item_reference"]
_USER_PARTS = ["input_text", "input_image", "input_file"]
_ASSISTANT_PARTS = ["output_text", "refusal"]


def check_top(body: dict[str, Any]) -> str:
    """Unknown parameters, the model; returns the model name."""
    for key in body:
        if key not in _TOP:
            raise WireError(400, f"Unknown parameter: '{key}'.", code="unknown_parameter", param=key)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise oa.missing("model")
    if model.startswith("claude-"):
        # The router serves Claude models on /v1/messages (and /v1/chat/completions) only.
        message = f"The model `{model}` does not exist or you do not have access to it."
        raise WireError(404, message, code="model_not_found")
    return model


def tools(body: dict[str, Any]) -> list[OfferedTool]:
    """Flat function tools (§2.1); other tool types (web_search, ...) are accepted and never called."""
    raw = body.get("tools")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise oa.type_error("tools", "an array", raw)
    out: list[OfferedTool] = []
    for i, tool in enumerate(raw):
        param = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise oa.type_error(param, "an object", tool)
        if tool.get("type") is None:
            raise oa.missing(f"{param}.type")
        if tool.get("type") != "function":
            continue
        name = oa.check_tool_name(tool.get("name"), f"{param}.name")
        strict = tool.get("strict") is True
        out.append(OfferedTool(name, oa.check_schema(name, tool.get("parameters"), strict, f"{param}.parameters")))
    return out


def tool_choice(body: dict[str, Any], offered: list[OfferedTool]) -> tuple[list[OfferedTool], str, str | None]:
    """§2.1 tool_choice forms, flat: ``{"type":"function","name":X}`` and ``allowed_tools``."""
    choice = body.get("tool_choice")
    if choice is None:
        return offered, "auto", None
    if isinstance(choice, str):
        if choice not in _CHOICES:
            raise oa.invalid_value("tool_choice", choice, _CHOICES)
        return oa.pick_tool_choice(offered, choice, None, "tool_choice")
    if not isinstance(choice, dict):
        raise oa.type_error("tool_choice", "an object", choice)
    if choice.get("type") == "function":
        name = choice.get("name")
        if not isinstance(name, str):
            raise oa.missing("tool_choice.name")
        return oa.pick_tool_choice(offered, "tool", [name], "tool_choice")
    if choice.get("type") == "allowed_tools":
        mode = choice.get("mode")
        if mode not in ("auto", "required"):
            raise oa.invalid_value("tool_choice.mode", mode, ["auto", "required"])
        entries = choice.get("tools")
        entries = entries if isinstance(entries, list) else []
        names = [str(e.get("name")) for e in entries if isinstance(e, dict)]
        return oa.pick_tool_choice(offered, str(mode), names, "tool_choice")
    raise oa.invalid_value("tool_choice.type", choice.get("type"), ["function", "allowed_tools"])


def wants_encrypted_reasoning(body: dict[str, Any]) -> bool:
    """§8: ``include: ["reasoning.encrypted_content"]``; without it a reasoning item has no encrypted content."""
    include = body.get("include")
    if include is None:
        return False
    if not isinstance(include, list):
        raise oa.type_error("include", "an array", include)
    return "reasoning.encrypted_content" in include


def effective_input(body: dict[str, Any], state: RouterState) -> list[Any]:
    """The input items, after the stored items of ``previous_response_id`` (the stateful mode of §2.3)."""
    raw = body.get("input")
    previous = body.get("previous_response_id")
    if raw is None and previous is None:
        raise oa.missing("input")
    if isinstance(raw, str):
        items: list[Any] = [{"role": "user", "content": raw}]
    elif isinstance(raw, list) or raw is None:
        items = list(raw or [])
    else:
        raise oa.type_error("input", "one of a string or array of objects", raw)
    if previous is None:
        return items
    stored = state.stored_response(str(previous))
    if stored is None:
        message = f"Previous response with id '{previous}' not found."
        raise WireError(400, message, code="previous_response_not_found", param="previous_response_id")
    return stored + items


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _message(item: dict[str, Any], param: str) -> str:
    """Message items; a part type must suit the role (output_text only in assistant messages)."""
    role = item.get("role")
    roles = ["user", "assistant", "system", "developer"]
    if role not in roles:
        raise oa.missing(f"{param}.role") if role is None else oa.invalid_value(f"{param}.role", role, roles)
    content = item.get("content")
    if content is None:
        raise oa.missing(f"{param}.content")
    if isinstance(content, list):
        allowed = _ASSISTANT_PARTS if role == "assistant" else _USER_PARTS
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in allowed:
                raise oa.invalid_value(f"{param}.content[{j}]", kind, allowed)
    elif not isinstance(content, str):
        raise oa.type_error(f"{param}.content", "one of a string or array of objects", content)
    return str(role)


def _function_call(item: dict[str, Any], param: str, seen_reasoning: set[str], state: RouterState) -> str:
    for key in ("call_id", "name"):
        if not isinstance(item.get(key), str):
            raise oa.missing(f"{param}.{key}")
    if not isinstance(item.get("arguments"), str):
        if item.get("arguments") is None:
            raise oa.missing(f"{param}.arguments")
        raise oa.type_error(f"{param}.arguments", "a string", item["arguments"])
    item_id = item.get("id") if isinstance(item.get("id"), str) else None
    rs_id = state.reasoning_for(item_id) if item_id else state.reasoning_for(item["call_id"])
    if rs_id is not None and rs_id not in seen_reasoning:
        message = (
            f"Item '{item_id or item['call_id']}' of type 'function_call' was provided without its "
            f"required 'reasoning' item: '{rs_id}'."
        )
        raise WireError(400, message, param="input")
    return str(item["call_id"])


def _follows(item: Any) -> bool:
    """What may follow a reasoning item: the assistant message or function call it was emitted before."""
    if not isinstance(item, dict):
        return False
    kind = item.get("type", "message" if "role" in item else None)
    return kind == "function_call" or (kind == "message" and item.get("role") == "assistant")


def _reasoning(items: list[Any], i: int, state: RouterState, store: bool) -> str:
    item = items[i]
    rs_id = item.get("id")
    if not isinstance(rs_id, str):
        raise oa.missing(f"input[{i}].id")
    if not isinstance(item.get("summary"), list):
        raise oa.missing(f"input[{i}].summary")
    if i + 1 >= len(items) or not _follows(items[i + 1]):
        message = f"Item '{rs_id}' of type 'reasoning' was provided without its required following item."
        raise WireError(400, message, param="input")
    content = item.get("encrypted_content")
    if content is None and not store:
        message = (
            f"Item with id '{rs_id}' not found. Items are not persisted when `store` is set to false. "
            "Try again with `store` set to true, or remove this item from your input."
        )
        raise WireError(404, message, param="input")
    if content is None and not state.reasoning_stored(rs_id):
        raise WireError(404, f"Item with id '{rs_id}' not found.", param="input")
    if content is not None and content != encrypted_reasoning(rs_id):
        message = f"The encrypted content for item {rs_id} could not be verified."
        raise WireError(400, message, code="invalid_encrypted_content", param="input")
    return rs_id


def check_items(items: list[Any], state: RouterState, store: bool) -> tuple[str, tuple[SeenResult, ...]]:
    """Validate the input items (§2.3); return the last user text and the results sent after it."""
    calls: dict[str, str] = {}
    answered: set[str] = set()
    seen_reasoning: set[str] = set()
    prompt = ""
    results: list[SeenResult] = []
    for i, item in enumerate(items):
        param = f"input[{i}]"
        if not isinstance(item, dict):
            raise oa.type_error(param, "an object", item)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            if _message(item, param) == "user":
                prompt, results = _text(item.get("content")), []
        elif kind == "function_call":
            calls[_function_call(item, param, seen_reasoning, state)] = str(item["name"])
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in calls:
                message = f"No tool call found for function call output with call_id {call_id}."
                raise WireError(400, message, param="input")
            output = item.get("output")
            if not isinstance(output, (str, list)):
                raise oa.type_error(f"{param}.output", "one of a string or array of objects", output)
            answered.add(str(call_id))
            results.append(
                SeenResult(calls[str(call_id)], _text(output) if isinstance(output, list) else result_text(output))
            )
        elif kind == "reasoning":
            seen_reasoning.add(_reasoning(items, i, state, store))
        elif kind != "item_reference":
            raise oa.invalid_value(f"{param}.type", kind, _ITEM_TYPES)
    for call_id in calls:
        if call_id not in answered:
            raise WireError(400, f"No tool output found for function call {call_id}.", param="input")
    return prompt, tuple(results)

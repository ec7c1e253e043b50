"""OpenAI Chat Completions on the offline router: validate like OpenAI, answer per PROTOCOLS.md §1.

Owns the request checks of §1.1 and §1.3 (tools, tool_choice, the tool_call_id pairing) with OpenAI's own
400 messages, the reduction of a request to a ``TurnInput``, and the reply: the body of §1.2 or the data-only
chunks of §1.4, with DeepSeek-style ``reasoning_content`` when the prompt asks for reasoning (checked on the
echo). Written by hand from PROTOCOLS.md; it never uses ``crazycall.protocols``.
"""

from __future__ import annotations

from typing import Any

from crazycall.offline import openai_common as oa
from crazycall.offline import structured
from crazycall.offline.replies import (
    OfferedTool,
    Plan,
    PlannedCall,
    SeenResult,
    TurnInput,
    arguments_json,
    plan_turn,
    split_arguments,
    split_text,
)
from crazycall.offline.wire import CREATED, Event, Incoming, ProtocolSpec, Reply, RouterState, WireError, dumps

_TOP = frozenset(
    [
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_completion_tokens",
        "max_tokens",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "n",
        "stop",
        "seed",
        "user",
        "response_format",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "metadata",
        "store",
        "reasoning_effort",
        "service_tier",
        "modalities",
        "audio",
        "prediction",
        "web_search_options",
        "verbosity",
        "safety_identifier",
        "prompt_cache_key",
        "functions",
        "function_call",
    ]
)
_ROLES = ["system", "assistant", "user", "function", "tool", "developer"]
_CHOICES = ["none", "auto", "required"]


def _check_top(body: dict[str, Any]) -> list[Any]:
    for key in body:
        if key not in _TOP:
            raise WireError(400, f"Unrecognized request argument supplied: {key}")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise WireError(400, "you must provide a model parameter")
    messages = body.get("messages")
    if messages is None:
        raise oa.missing("messages")
    if not isinstance(messages, list):
        raise oa.type_error("messages", "an array", messages)
    if not messages:
        message = (
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."
        )
        raise WireError(400, message, code="empty_array", param="messages")
    if "stream_options" in body and body.get("stream") is not True:
        message = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        raise WireError(400, message, param="stream_options")
    if "max_tokens" in body and oa.is_reasoning_model(body["model"]):
        message = (
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
        )
        raise WireError(400, message, code="unsupported_parameter", param="max_tokens")
    return messages


def _tools(body: dict[str, Any]) -> list[OfferedTool]:
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
        if tool.get("type") == "custom":
            continue  # free-form custom tools are accepted but never called offline
        if tool.get("type") != "function":
            raise oa.invalid_value(f"{param}.type", tool.get("type"), ["function", "custom"])
        fn = tool.get("function")
        if not isinstance(fn, dict):
            raise oa.missing(f"{param}.function") if fn is None else oa.type_error(f"{param}.function", "an object", fn)
        name = oa.check_tool_name(fn.get("name"), f"{param}.function.name")
        schema = oa.check_schema(name, fn.get("parameters"), fn.get("strict") is True, f"{param}.function.parameters")
        out.append(OfferedTool(name, schema))
    return out


def _tool_choice(body: dict[str, Any], tools: list[OfferedTool]) -> tuple[list[OfferedTool], str, str | None]:
    """§1.1 tool_choice forms: none/auto/required, one function, or an allowed_tools subset."""
    for key in ("tool_choice", "parallel_tool_calls"):
        if key in body and "tools" not in body:
            message = f"Invalid value for '{key}': '{key}' is only allowed when 'tools' are specified."
            raise WireError(400, message, param=key)
    choice = body.get("tool_choice")
    if choice is None:
        return tools, "auto", None
    if isinstance(choice, str):
        if choice not in _CHOICES:
            raise oa.invalid_value("tool_choice", choice, _CHOICES)
        return oa.pick_tool_choice(tools, choice, None, "tool_choice")
    if not isinstance(choice, dict):
        raise oa.type_error("tool_choice", "an object", choice)
    if choice.get("type") == "function":
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str):
            raise oa.missing("tool_choice.function" if fn is None else "tool_choice.function.name")
        return oa.pick_tool_choice(tools, "tool", [name], "tool_choice")
    if choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools")
        if not isinstance(allowed, dict):
            raise oa.missing("tool_choice.allowed_tools")
        mode = allowed.get("mode")
        if mode not in ("auto", "required"):
            raise oa.invalid_value("tool_choice.allowed_tools.mode", mode, ["auto", "required"])
        entries = allowed.get("tools")
        entries = entries if isinstance(entries, list) else []
        names = [str((e.get("function") or {}).get("name")) for e in entries if isinstance(e, dict)]
        return oa.pick_tool_choice(tools, str(mode), names, "tool_choice")
    raise oa.invalid_value("tool_choice.type", choice.get("type"), ["function", "allowed_tools"])


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _check_content(msg: dict[str, Any], param: str) -> None:
    content = msg.get("content")
    if content is None and msg["role"] in ("user", "system", "developer", "tool"):
        raise oa.missing(f"{param}.content")
    if content is not None and not isinstance(content, (str, list)):
        raise oa.type_error(f"{param}.content", "one of a string or array of objects", content)


def _assistant_calls(msg: dict[str, Any], param: str) -> dict[str, str]:
    """The call ids -> names of an echoed assistant message (§1.3: echoed exactly as received)."""
    calls = msg.get("tool_calls")
    if calls is None:
        return {}
    if not isinstance(calls, list):
        raise oa.type_error(f"{param}.tool_calls", "an array", calls)
    if not calls:
        message = (
            f"Invalid '{param}.tool_calls': empty array. "
            "Expected an array with minimum length 1, but got an empty array instead."
        )
        raise WireError(400, message, code="empty_array", param=f"{param}.tool_calls")
    out: dict[str, str] = {}
    for j, call in enumerate(calls):
        where = f"{param}.tool_calls[{j}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            raise oa.missing(f"{where}.id")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise oa.missing(f"{where}.function.name")
        if not isinstance(fn.get("arguments"), str):
            if fn.get("arguments") is None:
                raise oa.missing(f"{where}.function.arguments")
            raise oa.type_error(f"{where}.function.arguments", "a string", fn["arguments"])
        out[call["id"]] = fn["name"]
    return out


def _unanswered(index: int, pending: list[str]) -> WireError:
    message = (
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}"
    )
    return WireError(400, message, param=f"messages.[{index}].role")


def _answer(msg: dict[str, Any], i: int, group: dict[str, str], pending: list[str]) -> None:
    """A tool message must answer a call of the assistant message right before its group (§1.3)."""
    call_id = msg.get("tool_call_id")
    if not group:
        message = (
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
        )
        raise WireError(400, message, param=f"messages.[{i}].role")
    if not isinstance(call_id, str):
        message = "Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'."
        raise WireError(400, message, param=f"messages.[{i}].tool_call_id")
    if call_id not in group:
        message = f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of previous message."
        raise WireError(400, message, param=f"messages.[{i}].tool_call_id")
    if call_id in pending:
        pending.remove(call_id)


def _check_reasoning(msg: dict[str, Any], i: int, group: dict[str, str], state: RouterState) -> None:
    """Thinking mode (DeepSeek, Kimi; not in PROTOCOLS.md §1): the ``reasoning_content`` of a tool-call turn
    must come back on that assistant message."""
    wanted = {state.thought_for(call_id) for call_id in group} - {None}
    if wanted and msg.get("reasoning_content") not in wanted:
        message = "The reasoning_content in the thinking mode must be passed back to the API."
        raise WireError(400, message, param=f"messages[{i}].reasoning_content")


def _history(messages: list[Any], state: RouterState) -> tuple[str, tuple[SeenResult, ...]]:
    """Check the tool_call_id pairing of §1.3; return the last user text and the results after it."""
    group: dict[str, str] = {}
    pending: list[str] = []
    opened = -1
    names: dict[str, str] = {}
    prompt, results = "", []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise oa.type_error(f"messages[{i}]", "an object", msg)
        role = msg.get("role")
        if role not in _ROLES:
            raise (
                oa.missing(f"messages[{i}].role")
                if role is None
                else oa.invalid_value(f"messages[{i}].role", role, _ROLES)
            )
        _check_content(msg, f"messages[{i}]")
        if role == "tool":
            _answer(msg, i, group, pending)
            results.append(SeenResult(names[msg["tool_call_id"]], _text(msg.get("content"))))
            continue
        if pending:
            raise _unanswered(opened, pending)
        group = _assistant_calls(msg, f"messages[{i}]") if role == "assistant" else {}
        _check_reasoning(msg, i, group, state)
        pending, opened = list(group), i
        names.update(group)
        if role == "user":
            prompt, results = _text(msg.get("content")), []
    if pending:
        raise _unanswered(opened, pending)
    return prompt, tuple(results)


def _usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _finish(plan: Plan) -> str:
    # PROTOCOLS.md §1.6: a forced tool_choice often ends with "stop" even though tool_calls are present.
    return "tool_calls" if plan.calls and not plan.forced else "stop"


def _completion(cid: str, model: str, plan: Plan, calls: list[tuple[str, PlannedCall]]) -> dict[str, Any]:
    """The non-streaming body of §1.2."""
    message: dict[str, Any] = {"role": "assistant", "content": plan.text or None, "refusal": None, "annotations": []}
    if plan.reasoning:
        message["reasoning_content"] = plan.reasoning
    if calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": c.name, "arguments": arguments_json(c.arguments)}}
            for call_id, c in calls
        ]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(plan)}
    return {
        "id": cid,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [choice],
        "usage": _usage(plan),
    }


def _stream(cid: str, body: dict[str, Any], plan: Plan, calls: list[tuple[str, PlannedCall]]) -> Reply:
    """The data-only chunks of §1.4, ending with the usage chunk (only with include_usage) and [DONE]."""
    options = body.get("stream_options")
    options = options if isinstance(options, dict) else {}
    with_usage = options.get("include_usage") is True
    obfuscate = options.get("include_obfuscation") is not False
    base = {"id": cid, "object": "chat.completion.chunk", "created": CREATED, "model": body["model"]}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> Event:
        data: dict[str, Any] = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if with_usage:
            data["usage"] = None
        if obfuscate:
            data["obfuscation"] = "offline"  # §1.4: clients must ignore it
        return Event(dumps(data))

    # §1.4: the first chunk of a tool-call-only reply may carry content null.
    events = [chunk({"role": "assistant", "content": "" if plan.text else None, "refusal": None})]
    events += [chunk({"reasoning_content": piece}) for piece in split_text(plan.reasoning)]
    events += [chunk({"content": piece}) for piece in split_text(plan.text)]
    cut_at = 0
    for index, (call_id, call) in enumerate(calls):
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        events.append(chunk({"tool_calls": [head]}))
        for fragment in split_arguments(arguments_json(call.arguments)):
            events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
            cut_at = cut_at or len(events)
    events.append(chunk({}, _finish(plan)))
    if with_usage:
        events.append(Event(dumps({**base, "choices": [], "usage": _usage(plan)})))
    events.append(Event("[DONE]"))
    return Reply(events=tuple(events), cut_at=cut_at or len(events) // 2)


def handle(inc: Incoming, state: RouterState, text_only: bool) -> Reply:
    body = inc.body
    if not isinstance(body, dict):
        raise oa.type_error("body", "an object", body)
    messages = _check_top(body)
    tools, choice, forced = _tool_choice(body, _tools(body))
    prompt, results = _history(messages, state)
    parallel = body.get("parallel_tool_calls") is not False
    schema = structured.chat_schema(body)
    turn = TurnInput(prompt, tuple(tools), choice, forced, parallel, results, len(inc.raw), schema, inc.bad_output)
    plan = plan_turn(turn, text_only=text_only)
    calls = [(state.next_id("call"), call) for call in plan.calls]
    if plan.reasoning:
        state.remember_thought([call_id for call_id, _ in calls], plan.reasoning)
    cid = state.next_id("chatcmpl", "-")
    if inc.stream:
        return _stream(cid, body, plan, calls)
    return Reply(body=_completion(cid, body["model"], plan, calls))


SPEC = ProtocolSpec(
    name="chat",
    authenticate=lambda inc, key: oa.authenticate(inc.headers, key),
    handle=handle,
    render=lambda err, _rid: oa.render_error(err),
    fault_error=oa.fault_error,
    bad_json=oa.bad_json,
)

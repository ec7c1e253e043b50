"""Reading and checking an Anthropic Messages request on the offline router (PROTOCOLS.md §3.1, §3.3, §3.6).

Owns the request checks with Anthropic's own 400 messages: required fields, extra fields, tools and their
``input_schema``, ``tool_choice`` (with ``disable_parallel_tool_use`` and the thinking rule), the merge of
consecutive same-role turns, and the tool_use / tool_result pairing (results in the very next message, first
in it, no unexpected ids, ``input`` an object), and thinking blocks echoed unchanged with their signature. It
does not write replies (messages.py does).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from crazycall.offline.replies import OfferedTool, SeenResult, TurnInput
from crazycall.offline.wire import RouterState, WireError

_TOP = frozenset(
    [
        "model",
        "messages",
        "max_tokens",
        "system",
        "tools",
        "tool_choice",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "metadata",
        "thinking",
        "service_tier",
        "container",
        "mcp_servers",
        "context_management",
        "output_config",
    ]
)
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_BLOCKS = [
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    "server_tool_use",
    "web_search_tool_result",
    "container_upload",
]
_SERVER_TOOLS = ("bash_", "text_editor_", "web_search_", "web_fetch_", "code_execution_", "computer_", "memory_")
_CHOICES = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}

Turn = tuple[int, str, list[dict[str, Any]]]
"""A merged turn: index of its first message, role, content blocks."""


def invalid(message: str) -> WireError:
    return WireError(400, message)


def _thinking(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return False
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024:
        raise invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    if budget >= body["max_tokens"]:
        raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    return True


def check_top(body: dict[str, Any]) -> bool:
    """Required and extra fields; returns whether extended thinking is on."""
    for key in body:
        if key not in _TOP:
            raise invalid(f"{key}: Extra inputs are not permitted")
    for key in ("model", "messages", "max_tokens"):  # §3.6: max_tokens is mandatory
        if key not in body:
            raise invalid(f"{key}: Field required")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")
    if not isinstance(body["messages"], list):
        raise invalid("messages: Input should be a valid list")
    return _thinking(body)


def tools(body: dict[str, Any]) -> list[OfferedTool]:
    raw = body.get("tools")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("tools: Input should be a valid list")
    out: list[OfferedTool] = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise invalid(f"tools.{i}: Input should be a valid dictionary or object to extract fields from")
        kind = tool.get("type")
        if isinstance(kind, str) and kind.startswith(_SERVER_TOOLS):
            continue  # Anthropic-run tools are accepted and never called offline
        if kind not in (None, "custom"):
            raise invalid(
                f"tools.{i}: Input tag '{kind}' found using 'type' does not match any of the expected tags: "
                "'bash_20250124', 'custom', 'text_editor_20250124', 'web_search_20250305'"
            )
        name = tool.get("name")
        if not isinstance(name, str):
            raise invalid(f"tools.{i}.custom.name: Field required")
        if not _NAME.match(name):
            raise invalid(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            detail = "Field required" if schema is None else "Input should be a valid dictionary"
            raise invalid(f"tools.{i}.custom.input_schema: {detail}")
        if schema.get("type") != "object":
            raise invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
        if any(t.name == name for t in out):
            raise invalid("tools: Tool names must be unique.")
        out.append(OfferedTool(name, schema))
    return out


def tool_choice(body: dict[str, Any], offered: list[OfferedTool], thinking: bool) -> tuple[str, str | None, bool]:
    """§3.1: the choice kind, the forced name, and whether parallel calls are allowed."""
    choice = body.get("tool_choice")
    if choice is None:
        return "auto", None, True
    if not isinstance(choice, dict):
        raise invalid("tool_choice: Input should be a valid dictionary or object to extract fields from")
    kind = choice.get("type")
    if kind not in _CHOICES:
        raise invalid(
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the expected tags: "
            "'auto', 'any', 'tool', 'none'"
        )
    forced = None
    if kind == "tool":
        forced = choice.get("name")
        if not isinstance(forced, str):
            raise invalid("tool_choice.tool.name: Field required")
        if forced not in [t.name for t in offered]:
            raise invalid(f"tool_choice.tool.name: Tool '{forced}' not found in tools")
    if thinking and kind in ("any", "tool"):
        raise invalid("Thinking may not be enabled when tool_choice forces tool use.")
    return _CHOICES[kind], forced, choice.get("disable_parallel_tool_use") is not True


def _block(block: Any, where: str, role: str) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise invalid(f"{where}: Input should be a valid dictionary or object to extract fields from")
    kind = block.get("type")
    if kind not in _BLOCKS:
        raise invalid(f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected tags")
    if kind == "tool_use":
        if role != "assistant":
            raise invalid(f"{where}: `tool_use` blocks can only be in `assistant` messages")
        if not isinstance(block.get("id"), str) or not _ID.match(block["id"]):
            raise invalid(f"{where}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
        if not isinstance(block.get("name"), str):
            raise invalid(f"{where}.tool_use.name: Field required")
        if not isinstance(block.get("input"), dict):  # §3.6: input is always an object
            raise invalid(f"{where}.tool_use.input: Input should be a valid dictionary")
    if kind == "tool_result":
        if role != "user":  # §3.6: a tool_result in an assistant message is rejected
            raise invalid(f"{where}: `tool_result` blocks can only be in `user` messages")
        if not isinstance(block.get("tool_use_id"), str):
            raise invalid(f"{where}.tool_result.tool_use_id: Field required")
        if not isinstance(block.get("content", ""), (str, list)):
            raise invalid(f"{where}.tool_result.content: Input should be a valid list")
    return block


def merged_turns(messages: list[Any]) -> list[Turn]:
    """Messages with consecutive same-role turns merged, as Anthropic merges them (§3.1)."""
    turns: list[Turn] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise invalid(f"messages.{i}: Input should be a valid dictionary or object to extract fields from")
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = msg.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise invalid(f"messages.{i}.content: Input should be a valid list")
        if not content and not (role == "assistant" and i == len(messages) - 1):
            raise invalid(
                "messages: all messages must have non-empty content except for the optional final assistant message"
            )
        blocks = [_block(b, f"messages.{i}.content.{j}", role) for j, b in enumerate(content)]
        if turns and turns[-1][1] == role:
            turns[-1][2].extend(blocks)
        else:
            turns.append((i, role, blocks))
    return turns


def _check_answers(turn: Turn, following: Turn | None) -> None:
    """§3.3: every tool_use answered in the very next message, the tool_result blocks first in it."""
    uses = [b["id"] for b in turn[2] if b["type"] == "tool_use"]
    if not uses:
        return
    blocks = following[2] if following else []
    answered = {b["tool_use_id"] for b in blocks if b["type"] == "tool_result"}
    unanswered = [u for u in uses if u not in answered]
    if unanswered:
        raise invalid(
            f"messages.{turn[0]}: `tool_use` ids were found without `tool_result` blocks immediately after: "
            f"{', '.join(unanswered)}. Each `tool_use` block must have a corresponding `tool_result` block "
            "in the next message."
        )
    lead = 0
    while lead < len(blocks) and blocks[lead]["type"] == "tool_result":
        lead += 1
    if following and lead < len(answered):
        raise invalid(
            f"messages.{following[0]}: Did not find {len(uses)} `tool_result` block(s) at the beginning of "
            "this message. Messages following `tool_use` blocks must begin with `tool_result` blocks."
        )


def _check_unexpected(turn: Turn, previous: Turn | None) -> None:
    uses = {b["id"] for b in previous[2] if b["type"] == "tool_use"} if previous else set()
    for j, block in enumerate(turn[2]):
        if block["type"] == "tool_result" and block["tool_use_id"] not in uses:
            raise invalid(
                f"messages.{turn[0]}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{block['tool_use_id']}. Each `tool_result` block must have a corresponding `tool_use` block "
                "in the previous message."
            )


def _result_text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return content if isinstance(content, str) else ""


def thinking_signature(text: str) -> str:
    """The ``signature`` of a thinking block the router wrote: derived from its text, so an echo can be checked
    by any router, a later one included (a resumed conversation)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return base64.b64encode(f"offline-thinking-signature:{digest}".encode()).decode()


def _check_thinking(turn: Turn, state: RouterState) -> None:
    """§3.3: a thinking block comes back unchanged (text and signature), and an assistant turn whose tool calls
    the router made with a thinking block starts with that block."""
    start, _, blocks = turn
    signed = set()
    for j, block in enumerate(blocks):
        if block["type"] == "thinking":
            text, signature = block.get("thinking"), block.get("signature")
            if not isinstance(text, str) or signature != thinking_signature(text):
                raise invalid(f"messages.{start}.content.{j}: Invalid `signature` in `thinking` block")
            signed.add(signature)
    wanted = {state.thought_for(b["id"]) for b in blocks if b["type"] == "tool_use"} - {None}
    if wanted and (not wanted <= signed or blocks[0]["type"] != "thinking"):
        raise invalid(
            f"messages.{start}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
            f"`{blocks[0]['type']}`. When `thinking` is enabled, a final `assistant` message must start with a "
            "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks)."
        )


def read_history(turns: list[Turn], state: RouterState) -> tuple[str, tuple[SeenResult, ...]]:
    """Check the pairing; return the last user text (a user turn without tool results) and the results after it."""
    for k, turn in enumerate(turns):
        if turn[1] == "user":
            _check_unexpected(turn, turns[k - 1] if k else None)
        else:
            _check_answers(turn, turns[k + 1] if k + 1 < len(turns) else None)
            _check_thinking(turn, state)
    names = {b["id"]: b["name"] for _, _, blocks in turns for b in blocks if b["type"] == "tool_use"}
    prompt, results = "", []
    for _, role, blocks in turns:
        if role != "user":
            continue
        answers = [b for b in blocks if b["type"] == "tool_result"]
        if answers:
            results += [
                SeenResult(names[b["tool_use_id"]], _result_text(b.get("content")), b.get("is_error") is True)
                for b in answers
            ]
        else:
            prompt, results = "\n".join(b["text"] for b in blocks if b["type"] == "text"), []
    return prompt, tuple(results)


def read_turn(body: dict[str, Any], size: int, state: RouterState) -> TurnInput:
    """Validate the whole request and reduce it to what the deterministic model looks at."""
    thinking = check_top(body)
    offered = tools(body)
    choice, forced, parallel = tool_choice(body, offered, thinking)
    if not body["messages"]:
        raise invalid("messages: at least one message is required")
    prompt, results = read_history(merged_turns(body["messages"]), state)
    return TurnInput(prompt, tuple(offered), choice, forced, parallel, results, size)

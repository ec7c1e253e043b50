"""What the offline router answers: tool selection, arguments, text, stream fragments and usage.

Owns the deterministic "model": which offered tools a prompt names, the arguments built from each schema,
one call per turn or all at once, the final text that quotes the tool results, how text and argument strings
are cut into stream deltas, and the usage numbers. Each protocol module parses its own request into a
``TurnInput`` and writes its own wire reply from the ``Plan``; nothing here knows a wire shape, and nothing
here imports ``crazycall.protocols`` (the integration tests would then check the adapters against themselves).

Rules (also the README's promise for ``crazycall ask --offline``):

- A tool is *named* when its full name appears in the prompt, or when a word of its name (split on ``_``,
  ``-`` and camelCase; generic verbs and small words ignored) appears as a word, a simple plural ``s`` allowed.
- ``none`` never calls; ``required`` with nothing named calls the first tool; a forced tool is called alone.
- Several named tools are called in one turn, unless parallel calls are disabled or the prompt says "then":
  then one per turn, in prompt order, until each has a result after the last user message.
- With every selected tool answered (or nothing to call) the reply is text quoting each result, or
  ``Offline router: you said "..."`` when there are none. A parallel turn opens with ``Calling a and b.``
- A prompt with the word "think", "thinking" or "reasoning" gets reasoning on every turn (``Plan.reasoning``):
  each protocol module sends it its own way (Chat ``reasoning_content``, a Responses summary, an Anthropic
  signed thinking block, a Gemini thought part) and checks that it comes back as the provider would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_GENERIC = frozenset(["get", "set", "search", "find", "fetch", "list", "lookup", "run", "call", "do"])
_SMALL = frozenset(
    ["a", "an", "the", "to", "of", "in", "on", "for", "and", "or", "by", "with", "at", "from", "is", "it", "my", "me"]
)
_PLACE = frozenset({"city", "location", "place", "town"})
_TZ = frozenset({"timezone", "tz", "zone"})
_QUERY = frozenset({"query", "q", "text", "keywords", "term"})
_PRICE = re.compile(r"price|cost|amount|budget", re.IGNORECASE)
_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com",
}


@dataclass(frozen=True)
class OfferedTool:
    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class SeenResult:
    """A tool result the client sent after the last user message."""

    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class TurnInput:
    """A request reduced to what the deterministic model looks at."""

    prompt: str
    tools: tuple[OfferedTool, ...] = ()
    choice: str = "auto"
    """``auto``, ``none``, ``required`` or ``tool`` (then ``forced`` names it)."""
    forced: str | None = None
    parallel: bool = True
    results: tuple[SeenResult, ...] = ()
    body_size: int = 0
    schema: Mapping[str, Any] | None = None
    """The final answer's JSON Schema (structured outputs), read by ``offline/structured.py``."""
    bad_output: bool = False
    """The ``bad_output`` fault: a structured answer that breaks its schema."""


@dataclass(frozen=True)
class PlannedCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    text: str
    calls: tuple[PlannedCall, ...]
    forced: bool
    """tool_choice forced the calls (Chat then says ``finish_reason: "stop"``, PROTOCOLS.md §1.6)."""
    input_tokens: int
    output_tokens: int
    reasoning: str = ""
    """The model's reasoning for this turn; empty unless the prompt asks for it."""


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w.lower() for w in re.split(r"[\s_\-.:]+", spaced) if w]
    return [w for w in words if w not in _GENERIC and w not in _SMALL]


def _same_word(a: str, b: str) -> bool:
    return a == b or a + "s" == b or b + "s" == a


def naming_position(name: str, prompt: str) -> int | None:
    """Where the prompt first names the tool, or None."""
    found = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", prompt, re.IGNORECASE)
    positions = [found.start()] if found else []
    words = _name_words(name)
    for match in re.finditer(r"[^\W_]+", prompt):
        if any(_same_word(match.group().lower(), w) for w in words):
            positions.append(match.start())
            break
    return min(positions) if positions else None


def named_tools(prompt: str, tools: Sequence[OfferedTool]) -> list[str]:
    """The tools the prompt names, in the order it names them."""
    hits = [(pos, i, t.name) for i, t in enumerate(tools) if (pos := naming_position(t.name, prompt)) is not None]
    return [name for _, _, name in sorted(hits)]


def _place(prompt: str) -> str:
    """The capitalised word(s) after " in " ("weather in New York?" -> "New York"), else Paris."""
    for match in re.finditer(r"\bin\s+", prompt, re.IGNORECASE):
        words: list[str] = []
        for token in prompt[match.end() :].split():
            word = token.strip(".,;:!?\"'()")
            if not word or not word[0].isalpha() or word[0].islower():
                break
            words.append(word)
            if word != token:  # punctuation ends the name
                break
        if words:
            return " ".join(words)
    return "Paris"


def _timezone(prompt: str) -> str:
    match = re.search(r"\b[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_-]+)+", prompt)
    return match.group() if match else "UTC"


def _phrase(prompt: str) -> str:
    match = re.search(r"\b(?:for|about)\s+([^?.!,;]+)", prompt, re.IGNORECASE)
    text = match.group(1) if match else prompt
    words = re.sub(r"[?.!,;:]+", " ", text).split()
    return " ".join(words[:6]) or "example"


def _string(name: str, schema: Mapping[str, Any], prompt: str) -> str:
    words = set(_name_words(name)) | {name.lower()}
    if words & _PLACE:
        return _place(prompt)
    if words & _TZ or "timezone" in name.lower():
        return _timezone(prompt)
    if words & _QUERY or "query" in name.lower():
        return _phrase(prompt)
    fmt = schema.get("format")
    return _FORMATS.get(fmt, "example") if isinstance(fmt, str) else "example"


def _number(name: str, schema: Mapping[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum")
    exclusive = schema.get("exclusiveMinimum")
    value: int | float
    if isinstance(low, (int, float)) and not isinstance(low, bool):
        value = low
    elif isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):
        value = exclusive + 1
    else:
        value = 1 if integer else (100 if _PRICE.search(name) else 1.5)
    high = schema.get("maximum")
    if isinstance(high, (int, float)) and not isinstance(high, bool) and value > high:
        value = high
    return int(value) if integer else value


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` ("#/$defs/X"); anything else is left as it is."""
    for _ in range(8):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        node: Any = root
        for key in [k for k in ref[1:].split("/") if k]:
            node = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            return {}
        schema = node
    return schema


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if isinstance(k, str) and k.lower() != "null"), "null")
    if isinstance(kind, str):
        return kind.lower()
    if "properties" in schema:
        return "object"
    return "array" if "items" in schema else "string"


def _preset(schema: Mapping[str, Any]) -> tuple[bool, Any]:
    """The schema's own example, default, const or first enum value, in that order of preference."""
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return True, examples[0]
    for key in ("example", "default", "const"):
        if key in schema:
            return True, schema[key]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return True, enum[0]
    return False, None


def _value(schema: Any, name: str, prompt: str, root: Mapping[str, Any], depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > 12:
        return "example"
    schema = _resolve(schema, root)
    found, preset = _preset(schema)
    if found:
        return preset
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            usable = [b for b in branches if not (isinstance(b, Mapping) and b.get("type") == "null")]
            return _value((usable or branches)[0], name, prompt, root, depth + 1)
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, prompt, root, depth)
    if kind == "array":
        count = schema.get("minItems")
        count = count if isinstance(count, int) and count > 1 else 1
        item = _value(schema.get("items", {}), name.rstrip("s"), prompt, root, depth + 1)
        return [item] * count
    if kind in ("integer", "number"):
        return _number(name, schema, kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(name, schema, prompt)


def _object(schema: Mapping[str, Any], prompt: str, root: Mapping[str, Any], depth: int) -> dict[str, Any]:
    props = schema.get("properties")
    required = schema.get("required")
    wanted = set(required) if isinstance(required, list) else set()
    out: dict[str, Any] = {}
    if not isinstance(props, Mapping):
        return out
    for key, sub in props.items():
        has_preset = isinstance(sub, Mapping) and _preset(_resolve(sub, root))[0]
        if key in wanted or has_preset:
            out[str(key)] = _value(sub, str(key), prompt, root, depth + 1)
    return out


def build_value(schema: Mapping[str, Any], prompt: str) -> Any:
    """A plausible value of any type for ``schema`` (a structured answer)."""
    return _value(schema, "", prompt, schema, 0)


def build_arguments(schema: Mapping[str, Any], prompt: str) -> dict[str, Any]:
    """Arguments for one call: required properties and those with examples/default/enum, filled plausibly."""
    value = _value(schema, "", prompt, schema, 0)
    return value if isinstance(value, dict) else {}


def _selected(turn: TurnInput) -> list[str]:
    names = [t.name for t in turn.tools]
    if not names or turn.choice == "none":
        return []
    if turn.choice == "tool":
        return [turn.forced] if turn.forced in names else []
    named = named_tools(turn.prompt, turn.tools)
    if not named and turn.choice == "required":
        return names[:1]
    return named


def chained(prompt: str) -> bool:
    return re.search(r"\bthen\b", prompt, re.IGNORECASE) is not None


def _calls(turn: TurnInput) -> tuple[PlannedCall, ...]:
    done = {r.name for r in turn.results}
    pending = [name for name in _selected(turn) if name not in done]
    if not turn.parallel or chained(turn.prompt):
        pending = pending[:1]
    schemas = {t.name: t.schema for t in turn.tools}
    return tuple(PlannedCall(n, build_arguments(schemas[n], turn.prompt)) for n in pending)


def answer_text(turn: TurnInput) -> str:
    if not turn.results:
        return f'Offline router: you said "{turn.prompt}"'
    said = [f"{r.name} {'failed with' if r.is_error else 'returned'} {r.content}." for r in turn.results]
    return " ".join(said)


def wants_reasoning(prompt: str) -> bool:
    return re.search(r"\b(think|thinking|reasoning)\b", prompt, re.IGNORECASE) is not None


def reasoning_text(turn: TurnInput, calls: Sequence[PlannedCall]) -> str:
    """What the "model" thinks before it acts: which tools it will call, or that it can answer."""
    if calls:
        return f"The user asks me to think it over. I will call {' and '.join(c.name for c in calls)} first."
    if turn.results:
        return "The user asks me to think it over. The tool results are in: I can answer now."
    return "The user asks me to think it over. No tool is needed: I can answer directly."


def plan_turn(turn: TurnInput, *, text_only: bool = False) -> Plan:
    """The reply to one request: text, calls, or (in a parallel turn) a short preface and the calls."""
    calls = () if text_only else _calls(turn)
    if not text_only and turn.schema is None:
        from crazycall.offline.structured import final_tool_calls

        calls = final_tool_calls(turn, calls)
    text = answer_text(turn) if not calls else ""
    if not calls and turn.schema is not None:
        from crazycall.offline.structured import structured_text

        text = structured_text(turn.schema, turn.prompt, turn.bad_output)
    if len(calls) > 1:
        text = f"Calling {' and '.join(c.name for c in calls)}."
    forced = bool(calls) and turn.choice in ("required", "tool")
    reasoning = reasoning_text(turn, calls) if wants_reasoning(turn.prompt) else ""
    output = (len(text) + len(reasoning)) // 4 + 10 * len(calls)
    return Plan(text, calls, forced, max(1, turn.body_size // 4), max(1, output), reasoning)


def split_text(text: str) -> list[str]:
    """Text deltas: a few words each, at least two pieces when the text has two characters."""
    words = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    if len(words) < 2:
        half = len(text) // 2
        return [text[:half], text[half:]] if half else words
    size = max(1, min(4, len(words) // 2))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def split_arguments(raw: str) -> list[str]:
    """Argument fragments, cut in the middle of a JSON string (key and value) and of a ``\\u`` escape."""
    cuts: set[int] = set()
    strings = [m.span() for m in re.finditer(r'"(?:[^"\\]|\\.)*"', raw)]
    if strings:
        start, end = strings[0]
        cuts.add(start + max(1, (end - start) // 2))
    values = [span for span in strings if raw[: span[0]].rstrip().endswith(":")]
    if values:
        start, end = values[0]
        cuts.add(start + max(1, (end - start) // 2))
    escape = re.search(r"\\u[0-9a-fA-F]{4}", raw)
    if escape:
        cuts.add(escape.start() + 3)
    if not cuts:
        cuts.add(len(raw) // 2)
    points = sorted(c for c in cuts if 0 < c < len(raw))
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]


def arguments_json(arguments: Mapping[str, Any], *, spaced: bool = False) -> str:
    """Arguments as a JSON string, non-ASCII escaped (so streams carry ``\\u`` escapes to cut)."""
    if spaced:
        return json.dumps(arguments)
    return json.dumps(arguments, separators=(",", ":"))


def result_text(value: Any) -> str:
    """A tool result's content as the text quoted back: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

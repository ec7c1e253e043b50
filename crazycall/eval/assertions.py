"""Checking one conversation against its case's ``expect``: every assertion a verdict with a one-line reason.

Owns what the assertion vocabulary means: ``calls`` (in order, or ``in_any_order``; each an expected name and
an argument subset whose values are literals or ``{regex}``, ``{schema}``, ``{any: true}`` matchers),
``no_calls``, ``text`` (``contains``, ``regex``, ``schema``: the answer parses as JSON valid against it) and
``max_turns``. It sees only the calls made (name, arguments) and the answer; it runs nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crazycall.eval.cases import MATCHER_KEYS, CallExpect, Expect


@dataclass(frozen=True)
class Verdict:
    name: str
    """``calls``, ``no_calls``, ``text.contains``, ``text.regex``, ``text.schema``, ``max_turns``."""
    passed: bool
    reason: str = ""
    """Why it failed (one line); empty when it passed."""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "reason": self.reason or None}


@dataclass(frozen=True)
class Made:
    """A call the model made."""

    name: str
    arguments: Any


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _schema_error(value: Any, schema: Mapping[str, Any]) -> str | None:
    from jsonschema.validators import validator_for

    errors = sorted(validator_for(schema)(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    return f"{errors[0].json_path}: {errors[0].message}" if errors else None


def match_value(expected: Any, actual: Any, where: str) -> str | None:
    """Why ``actual`` does not match ``expected`` (a literal, a subset mapping or a matcher), or None."""
    if isinstance(expected, Mapping) and len(expected) == 1 and next(iter(expected)) in MATCHER_KEYS:
        key, inner = next(iter(expected.items()))
        if key == "any":
            return None
        if key == "regex":
            if isinstance(actual, str) and re.search(inner, actual):
                return None
            return f"{where}: {_show(actual)} does not match /{inner}/"
        problem = _schema_error(actual, inner)
        return f"{where}: {_show(actual)} fails the schema ({problem})" if problem else None
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{where}: expected an object, got {_show(actual)}"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}.{key}: missing"
            problem = match_value(value, actual[key], f"{where}.{key}")
            if problem:
                return problem
        return None
    if expected != actual or (type(expected) is not type(actual) and not _both_numbers(expected, actual)):
        return f"{where}: {_show(actual)} does not match {_show(expected)}"
    return None


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))


def call_problem(expected: CallExpect, made: Made) -> str | None:
    if made.name != expected.name:
        return f"expected {expected.name}, got {made.name}"
    if expected.arguments is None:
        return None
    return match_value(expected.arguments, made.arguments, "arguments")


def _in_order(expected: Sequence[CallExpect], made: Sequence[Made]) -> str | None:
    for i, want in enumerate(expected, 1):
        if i > len(made):
            return f"call {i}: expected {want.name}, got no call"
        problem = call_problem(want, made[i - 1])
        if problem:
            return f"call {i}: {problem}"
    if len(made) > len(expected):
        extra = ", ".join(m.name for m in made[len(expected) :])
        return f"{len(made)} calls made, {len(expected)} expected; extra: {extra}"
    return None


def _any_order(expected: Sequence[CallExpect], made: Sequence[Made]) -> str | None:
    left = list(made)
    for want in expected:
        problems = [call_problem(want, m) for m in left]
        if None in problems:
            left.pop(problems.index(None))
            continue
        near = [p for m, p in zip(left, problems, strict=True) if m.name == want.name and p]
        return f"{want.name}: {near[0] if near else 'not called'}"
    if left:
        return f"unexpected call(s): {', '.join(m.name for m in left)}"
    return None


def check(expect: Expect, made: Sequence[Made], text: str, turns: int) -> list[Verdict]:
    """Every assertion of ``expect`` on one conversation, in a fixed order."""
    verdicts: list[Verdict] = []
    if expect.calls is not None:
        problem = (_any_order if expect.in_any_order else _in_order)(expect.calls, made)
        verdicts.append(Verdict("calls", problem is None, problem or ""))
    if expect.no_calls:
        banned = [m.name for m in made if m.name in expect.no_calls]
        verdicts.append(Verdict("no_calls", not banned, f"called {', '.join(banned)}" if banned else ""))
    for needle in expect.contains:
        found = needle in text
        verdicts.append(Verdict("text.contains", found, "" if found else f"answer lacks {_show(needle)}"))
    if expect.regex is not None:
        found = re.search(expect.regex, text) is not None
        verdicts.append(Verdict("text.regex", found, "" if found else f"answer does not match /{expect.regex}/"))
    if expect.schema is not None:
        verdicts.append(_text_schema(expect.schema, text))
    if expect.output_schema is not None:
        verdicts.append(_output_schema(expect.output_schema, text))
    if expect.max_turns is not None:
        ok = turns <= expect.max_turns
        verdicts.append(Verdict("max_turns", ok, "" if ok else f"{turns} turns, at most {expect.max_turns} expected"))
    return verdicts


def _text_schema(schema: Mapping[str, Any], text: str) -> Verdict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return Verdict("text.schema", False, f"answer is not JSON: {_show(text)}")
    problem = _schema_error(value, schema)
    return Verdict("text.schema", problem is None, f"answer fails the schema: {problem}" if problem else "")


def _output_schema(schema: Mapping[str, Any], text: str) -> Verdict:
    """``output.schema``: judged by the ``--schema`` machinery, every violation with its JSON path."""
    from crazycall.schema import validate

    checked = validate(schema, text)
    return Verdict("output.schema", checked.ok, "; ".join(checked.violations[:3]))

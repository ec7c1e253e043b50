"""Comparing a request crazycall builds now with the one it recorded: the first difference, as a path.

Ignored, and only these, because they legitimately change between runs: the ids crazycall generates itself
(a chat tool call the router sent without an id, a Gemini call without one: ``call_<24 hex>``,
``gemini-call-<32 hex>``), what the transcript masked (the new body is redacted the same way before the
comparison, so a secret-looking string matches its mask) or cut (a recorded string cut by the transcript's
record limit matches any string it is the beginning of). The key, timestamps and headers are not part of a
recorded request at all. Everything else (a tool's result, schema or description, the prompt, the model, the
options) is compared exactly, keys and list items in order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ABSENT: Any = object()
"""The value on one side of a key only the other side has."""

_GENERATED_ID = re.compile(r"call_[0-9a-f]{24}|gemini-call-[0-9a-f]{32}")
_CUT = re.compile(r"(.*)\.\.\.\[cut: (\d+) more characters\]", re.DOTALL)
_SHOWN = 160
"""Characters of each value in the one-line message (the JSON error object carries them whole)."""


@dataclass(frozen=True)
class Difference:
    path: str
    """``messages[3].content``; ``""`` for the body as a whole."""
    recorded: Any
    now: Any

    def describe(self) -> str:
        """``messages[3].content: recorded "21", now "22"``."""
        where = self.path or "the body"
        return f"{where}: recorded {shown(self.recorded)}, now {shown(self.now)}"


def shown(value: Any) -> str:
    """A value as JSON on one line, cut to a readable length; ``(absent)`` for a missing key."""
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def json_value(value: Any) -> Any:
    """A value for the JSON error object: ``None`` for an absent key."""
    return None if value is ABSENT else value


def normalized(body: Any) -> Any:
    """``body`` as the transcript would have recorded it: redacted, and through JSON (tuples become lists)."""
    from crazycall.redact import redact_data

    return json.loads(json.dumps(redact_data(body), ensure_ascii=False, default=str))


def first_difference(recorded: Any, now: Any, path: str = "") -> Difference | None:
    """The first place (depth first, in order) where ``now`` differs from ``recorded``; None when they match."""
    if isinstance(recorded, Mapping) and isinstance(now, Mapping):
        for key in list(recorded) + [k for k in now if k not in recorded]:
            sub = f"{path}.{key}" if path else str(key)
            found = first_difference(recorded.get(key, ABSENT), now.get(key, ABSENT), sub)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(now, list):
        for i in range(max(len(recorded), len(now))):
            left = recorded[i] if i < len(recorded) else ABSENT
            right = now[i] if i < len(now) else ABSENT
            found = first_difference(left, right, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if _same(recorded, now) else Difference(path, recorded, now)


def _same(recorded: Any, now: Any) -> bool:
    if type(recorded) is not type(now):  # True is not 1, 1 is not 1.0 on the wire's terms
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (recorded, now))
        return numbers and bool(recorded == now)
    if recorded == now:
        return True
    if isinstance(recorded, str) and isinstance(now, str):
        if _GENERATED_ID.fullmatch(recorded) and _GENERATED_ID.fullmatch(now):
            return recorded[:5] == now[:5]  # both generated, and of the same kind
        cut = _CUT.fullmatch(recorded)
        if cut is not None:
            return bool(now.startswith(cut.group(1)) and len(now) == len(cut.group(1)) + int(cut.group(2)))
        return _same_json_text(recorded, now)
    return False


def _same_json_text(recorded: str, now: str) -> bool:
    """Two strings that are JSON texts (tool arguments, a tool result) holding generated ids that differ."""
    if not (_GENERATED_ID.search(recorded) and _GENERATED_ID.search(now)):
        return False
    return _GENERATED_ID.sub("<id>", recorded) == _GENERATED_ID.sub("<id>", now)

"""The one place that knows what a secret looks like.

Two nets: the exact API key(s) this process was given (``remember``), and patterns that catch a key in a URL
query (Gemini's ``?key=``), an ``Authorization: Bearer`` value or an ``x-api-key`` header even when the exact
value is unknown (for instance inside an exception message from httpx). Everything printed, logged or written
to a transcript passes through ``redact``. This module does not decide what to print.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

_known: set[str] = set()

_PATTERNS = (
    # ?key=SECRET or &key=SECRET in a URL (Gemini); also api_key= / apikey=
    re.compile(r"(?i)([?&](?:api_?)?key=)[^&\s\"'#]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{4,}"),
    # a key name on its own (not the tail of a word like invalid_api_key, an error code) followed by its value
    re.compile(r"(?i)((?<![A-Za-z0-9_])(?:x-api-key|x-goog-api-key|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"),
)


def remember(secret: str | None) -> None:
    """Register a secret value so that it is masked wherever it appears later."""
    if secret and len(secret) >= 4:
        _known.add(secret)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and every key-shaped value masked."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_data(value: Any) -> Any:
    """Redact every string inside a JSON-like structure (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value

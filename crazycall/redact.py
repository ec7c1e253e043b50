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


def _may_match(text: str) -> bool:
    """False when no pattern can match: each needs "key" or "bearer", in any case. redact runs on every stream
    event a transcript records, and three case-insensitive substitutions cost far more than lower-casing once
    and looking for the two words. Sound for any text: every character that re's IGNORECASE takes for a letter
    of the two words lower-cases to that letter (the Kelvin sign to k; a test checks every code point)."""
    low = text.lower()
    return "key" in low or "bearer" in low


def needs_redaction(text: str) -> bool:
    """Whether ``redact`` could change ``text``. False also answers for every piece of ``text`` (what makes a
    piece need redaction, a known secret or a trigger word, is in the whole too), so a batch of stream events
    joined into one string is checked at once and redacted one by one only when it holds something."""
    return any(secret in text for secret in _known) or _may_match(text)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and every key-shaped value masked."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    if not _may_match(text):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    return match.group(1) + MASK


#: containers nested deeper than this are replaced by a marker: json.dumps and repr would overflow the stack
MAX_DEPTH = 200
DEEP_MARKER = "[nested too deeply]"
CYCLE_MARKER = "[circular reference]"


def redact_data(value: Any, _depth: int = 0, _path: frozenset[int] = frozenset()) -> Any:
    """Redact every string inside a JSON-like structure (dicts, lists, strings).

    Hostile structures come out bounded: a container that contains itself becomes ``CYCLE_MARKER`` and one
    nested deeper than ``MAX_DEPTH`` becomes ``DEEP_MARKER`` (the raw text, where there is one, is kept
    elsewhere), so what is returned can always be serialised."""
    if isinstance(value, str):
        return redact(value)
    if not isinstance(value, (dict, list, tuple)):
        return value
    if id(value) in _path:
        return CYCLE_MARKER
    if _depth >= MAX_DEPTH:
        return DEEP_MARKER
    path = _path | {id(value)}
    if isinstance(value, dict):
        return {k: redact_data(v, _depth + 1, path) for k, v in value.items()}
    return [redact_data(v, _depth + 1, path) for v in value]


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")


def mask_url_credentials(url: str) -> str:
    """``http://user:pass@host/x`` -> ``http://***@host/x``: the user and password of a URL are masked."""
    return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", url)


def url_password(url: str | None) -> str | None:
    """The password (or lone user name, often a token) in a URL's credentials, to ``remember``; else None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url or "")
        return parts.password or parts.username
    except ValueError:
        return None

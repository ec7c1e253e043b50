"""The one place that knows what a secret looks like.

Two nets: the exact API key(s) this process was given (``remember``), and patterns that catch a key in a URL
query (Gemini's ``?key=``), an ``Authorization: Bearer`` value or an ``x-api-key`` header even when the exact
value is unknown (for instance inside an exception message from httpx). Everything printed, logged or written
to a transcript passes through ``redact``; credentials in a URL (``scheme://user:pass@``) are one more pattern.
Model text, which streams, gets ``mask_known`` (the exact keys only, cheap per delta) through a ``SecretStream``
that holds back a key's length so a key split between deltas is masked too. A key shorter than ``SHORT_SECRET``
is masked only where it stands alone as a word. This module does not decide what to print.

The entry points: ``redact`` (a string) and ``redact_data`` (a JSON-like structure) for everything printed,
logged, recorded or reported; ``mask_known`` / ``SecretStream`` / ``mask_open_end`` for model text as it streams;
``key_hint`` for the one place that shows a key on purpose (``config show``). Nothing else in the package
knows what a secret or its mask looks like (a test checks that no other module spells the mask).
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

_known: set[str] = set()
SHORT_SECRET = 8
"""Secrets shorter than this are masked only where they stand alone as a token: masking a 3-character key
inside every word would garble everything printed, yet the key itself must never show."""
_short: dict[str, re.Pattern[str]] = {}
_longest = 0
"""The length of the longest secret remembered: what a ``SecretStream`` holds back."""

# credentials in a URL: scheme://user:password@host or scheme://token@host (the whole userinfo goes)
_URL_CREDENTIALS = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@\"'<>]+(?=@)")
_PATTERNS = (
    # ?key=SECRET or &key=SECRET in a URL (Gemini); also api_key= / apikey=
    re.compile(r"(?i)([?&](?:api_?)?key=)[^&\s\"'#]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{4,}"),
    # a key name on its own (not the tail of a word like invalid_api_key, an error code) followed by its value
    re.compile(r"(?i)((?<![A-Za-z0-9_])(?:x-api-key|x-goog-api-key|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"),
    _URL_CREDENTIALS,
)


def remember(secret: str | None) -> None:
    """Register a secret value so that it is masked wherever it appears later."""
    if not secret:
        return
    global _longest
    _longest = max(_longest, len(secret))
    if len(secret) >= SHORT_SECRET:
        _known.add(secret)
    else:
        _short[secret] = re.compile(rf"(?<![\w-]){re.escape(secret)}(?![\w-])")


def _may_match(text: str) -> bool:
    """False when no pattern can match: each needs "key" or "bearer", in any case. redact runs on every stream
    event a transcript records, and three case-insensitive substitutions cost far more than lower-casing once
    and looking for the two words. Sound for any text: every character that re's IGNORECASE takes for a letter
    of the two words lower-cases to that letter (the Kelvin sign to k; a test checks every code point)."""
    low = text.lower()
    return "key" in low or "bearer" in low or ("://" in text and "@" in text)


def needs_redaction(text: str) -> bool:
    """Whether ``redact`` could change ``text``. False also answers for every piece of ``text`` (what makes a
    piece need redaction, a known secret or a trigger word, is in the whole too), so a batch of stream events
    joined into one string is checked at once and redacted one by one only when it holds something."""
    return any(secret in text for secret in _known) or _may_match(text) or any(s in text for s in _short)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and every key-shaped value masked."""
    text = mask_known(text)
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


def mask_known(text: str) -> str:
    """Only the exact secrets this process was given, masked (no patterns): for model text, where a pattern
    would also hit an innocent ``api_key: ...`` in an example, and which must stay cheap per stream delta."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    for secret, pattern in _short.items():
        if secret in text:
            text = pattern.sub(MASK, text)
    return text


def mask_open_end(text: str) -> str:
    """``mask_known``, and also the start of a known secret at the very end of ``text``: for text still
    growing on screen (a live redraw), where the rest of the key has not arrived yet. Prefixes shorter than 4
    characters are left alone ("sk-" is no secret, and masking them would make every redraw flicker)."""
    text = mask_known(text)
    for secret in _known:
        for k in range(len(secret) - 1, 3, -1):
            if text.endswith(secret[:k]):
                return text[:-k] + MASK
    return text


def mask_url_credentials(url: str) -> str:
    """``http://user:pass@host/v1`` -> ``http://***@host/v1``; a URL without credentials is returned as is.

    ``redact`` applies this pattern too (with the others): call ``redact``."""
    return _URL_CREDENTIALS.sub(_masked, url)


def key_hint(key: str | None) -> str | None:
    """An API key as ``config show`` shows it: a long key's first three characters (its vendor prefix, such as
    ``sk-``) and the mask, so the user can tell which key is in effect; a short key wholly masked."""
    if not key:
        return None
    return key[:3] + MASK if len(key) > 12 else MASK


class SecretStream:
    """Masks the known secrets in text that arrives in pieces, even a secret split between two pieces.

    ``feed`` returns what is safe to show now and holds back the last ``len(longest secret)`` characters (the
    start of a secret whose end has not arrived yet, plus one for the token check of short secrets);
    ``close`` returns the rest. With no secret known nothing is held back."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        hold = _longest
        if not hold:
            return self.close() + piece
        text = self._held + piece
        if len(text) <= hold:  # nothing can be shown yet; masked when it is
            self._held = text
            return ""
        text = mask_known(text)
        cut = max(len(text) - hold, 0)
        self._held = text[cut:]
        return text[:cut]

    def close(self) -> str:
        held, self._held = self._held, ""
        return mask_known(held)


def url_password(url: str | None) -> str | None:
    """The password (or lone user name, often a token) in a URL's credentials, to ``remember``; else None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url or "")
        return parts.password or parts.username
    except ValueError:
        return None

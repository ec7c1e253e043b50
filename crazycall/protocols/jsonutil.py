"""Reading wire JSON as the adapters need it: fast small documents, objects checked with the place named,
counts that tolerate junk, text with split UTF-16 surrogates mended, and values quoted short in messages.

Deliberately not here: error bodies (``http_errors.py``) and turning values into events (``assembler.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from crazycall.errors import ProtocolViolation

_SURROGATE = re.compile("[\ud800-\udfff]")


def fix_surrogates(text: str) -> str:
    """Join UTF-16 surrogate halves that arrived in separate JSON strings into real characters."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def require_mapping(value: Any, where: str, protocol: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or a ProtocolViolation naming ``where``."""
    if type(value) is dict:  # what json gives: skip the ABC check (this runs several times per stream delta)
        return value
    if not isinstance(value, Mapping):
        raise ProtocolViolation(f"{protocol}: expected a JSON object at {where}, got {type(value).__name__}")
    return value


_DECODER = json.JSONDecoder()


def loads(text: str) -> Any:
    """``json.loads(text)``, faster for one small document per stream event: the decoder is called directly,
    and anything it does not take whole (whitespace around it, errors) goes through ``json.loads`` itself, so
    values and exceptions are exactly json.loads's."""
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def truncate(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def opt_str(value: Any) -> str | None:
    """A JSON string, or None for anything else."""
    return value if isinstance(value, str) else None


def nonempty(value: Any) -> str | None:
    """A non-empty JSON string, or None (routers send ``""`` for null)."""
    return value if isinstance(value, str) and value else None

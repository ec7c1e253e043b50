"""HTTP error responses as the adapters read them: a lenient (and depth-safe) error-body decoder,
case-insensitive headers, ``retry-after``/``retry-after-ms``/``x-should-retry`` hints, and ``build_error``,
which picks the ProviderError subclass and fills the fields every adapter reports.

Each adapter's ``errors.py`` knows its own envelope; what they share is here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crazycall.errors import ProtocolViolation, ProviderError
from crazycall.protocols.jsonutil import truncate


def json_error_body(body: bytes) -> Any:
    """Decode an error body leniently: JSON when it is JSON, else the text. JSON nested deeper than the parser
    can go is no error envelope any router sends: a ProtocolViolation (the transport names where)."""
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
    except RecursionError:
        raise ProtocolViolation("error body is JSON nested too deeply to read") from None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    lname = name.lower()
    for k, v in headers.items():
        if k.lower() == lname:
            return v
    return None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` (first) or ``retry-after`` (seconds or HTTP date); None if absent."""
    ms = header(headers, "retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = header(headers, "retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(ra)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


def should_retry_header(headers: Mapping[str, str]) -> bool | None:
    value = header(headers, "x-should-retry")
    if value is None:
        return None
    return value.strip().lower() == "true"


def build_error(
    cls_status: int | None,
    message: str,
    *,
    protocol: str,
    endpoint: str,
    error_type: str | None,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
    retryable: bool | None = None,
    cls: type[ProviderError] | None = None,
) -> ProviderError:
    """Construct the right ProviderError subclass (``cls``, or chosen by status) with the common fields."""
    from crazycall.errors import provider_error_class

    headers = headers or {}
    if retry_after is None:
        retry_after = parse_retry_after(headers)
    if retryable is None:
        retryable = should_retry_header(headers)
    request_id = header(headers, "request-id") or header(headers, "x-request-id")
    cls = cls or provider_error_class(cls_status)
    return cls(
        truncate(message),
        protocol=protocol,
        endpoint=endpoint,
        status=cls_status,
        error_type=error_type,
        request_id=request_id,
        retry_after=retry_after,
        retryable=retryable,
    )

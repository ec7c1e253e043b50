"""Gemini error bodies -> ProviderError (PROTOCOLS.md §4.5).

Owns the ``{"error": {code, message, status, details}}`` shape (also wrapped in a JSON array), the google.rpc
status names, the retry delay that Google puts in ``details[].RetryInfo.retryDelay`` rather than in a header,
and the 400 that really means a bad API key. It deliberately does not decide whether to retry (transport does)
and never puts the key anywhere: the messages come from the body, which Google does not echo the key into.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from crazycall.errors import AuthenticationError, ProviderError
from crazycall.protocols.gemini_native.request import NAME, PATH
from crazycall.protocols.http_errors import build_error, json_error_body
from crazycall.protocols.jsonutil import as_int, truncate

# The standard google.rpc code -> HTTP mapping, for errors that arrive inside a 200 stream (§4.5).
ERROR_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)s\s*")


def parse_error(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    """The ProviderError for a non-2xx answer; message, type and delay come from the body when it is JSON."""
    error = _error_object(json_error_body(body))
    if error is None:  # an HTML page from a proxy, an empty body, JSON of another shape
        text = body.decode("utf-8", "replace").strip()
        message = truncate(text) if text else "(empty response body)"
        return build_error(status, message, protocol=NAME, endpoint="", error_type=None, headers=headers)
    return _from_error(error, status, "", headers)  # the transport fills in the real path


def in_band_error(value: Any, endpoint: str = PATH) -> ProviderError:
    """An ``{"error": ...}`` inside a 200 body or stream chunk; its status comes from ``code`` / ``status``."""
    error = value if isinstance(value, Mapping) else {"message": str(value)}
    code = as_int(error.get("code"))
    status = code if 400 <= code <= 599 else ERROR_STATUS.get(str(error.get("status")))
    return _from_error(error, status, endpoint, {})


def _error_object(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, list) and value:  # a non-SSE stream wraps the error in an array (§4.5)
        value = value[0]
    if isinstance(value, Mapping) and isinstance(value.get("error"), Mapping):
        error: Mapping[str, Any] = value["error"]
        return error
    return None


def _from_error(
    error: Mapping[str, Any], status: int | None, endpoint: str, headers: Mapping[str, str]
) -> ProviderError:
    message = error.get("message")
    error_type = error.get("status")
    # Google answers a bad key with 400 INVALID_ARGUMENT (§4.5); it is an auth failure, never retried.
    bad_key = _bad_key(error)
    return build_error(
        status,
        message if isinstance(message, str) and message.strip() else "(no message)",
        protocol=NAME,
        endpoint=endpoint,
        error_type=error_type if isinstance(error_type, str) else None,
        headers=headers,
        retry_after=retry_delay(error.get("details")),
        retryable=False if bad_key else None,
        cls=AuthenticationError if bad_key else None,
    )


def retry_delay(details: Any) -> float | None:
    """Seconds from ``details[]`` ``google.rpc.RetryInfo.retryDelay`` ("17s", "1.5s"), or None."""
    if not isinstance(details, list):
        return None
    for detail in details:
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return _seconds(detail.get("retryDelay"))
    return None


def _seconds(duration: Any) -> float | None:
    seconds: float | None = None
    if isinstance(duration, str):
        match = _DURATION.fullmatch(duration)
        seconds = float(match.group(1)) if match else None
    elif isinstance(duration, Mapping):  # the proto form {"seconds": "17", "nanos": 500000000}
        try:
            seconds = float(duration.get("seconds", 0)) + float(duration.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def _bad_key(error: Mapping[str, Any]) -> bool:
    message = error.get("message")
    if isinstance(message, str) and "API key not valid" in message:
        return True
    details = error.get("details")
    return isinstance(details, list) and any(
        isinstance(d, Mapping) and d.get("reason") == "API_KEY_INVALID" for d in details
    )

"""Chat Completions errors (PROTOCOLS.md §1.5): the ``{"error": {...}}`` envelope -> ProviderError, whether it
comes with an HTTP status (``parse_error``) or inside a 200 body or stream chunk (``in_band_error``).

Owns the type/code -> status map for in-band errors and the ``x-should-retry`` / ``insufficient_quota`` rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crazycall.errors import ProviderError
from crazycall.protocols.http_errors import build_error, json_error_body, should_retry_header
from crazycall.protocols.jsonutil import nonempty, truncate
from crazycall.protocols.openai_chat.request import NAME, PATH

# Errors inside a 200 (body or stream) carry no HTTP status: map the type/code to the status it stands for,
# so retry logic treats them like the HTTP error (PROTOCOLS.md §1.5).
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "api_error": 500,
    "service_unavailable": 503,
    "overloaded_error": 529,
}


def parse_error(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    payload = json_error_body(body)  # the §1.5 envelope; proxies may send HTML or bare text instead
    error = payload.get("error", payload) if isinstance(payload, Mapping) else None
    message, error_type, code = _error_fields(error)
    if not message:
        text = body.decode("utf-8", "replace").strip()
        if text.startswith("<"):  # an HTML page from a proxy: keep the words, not the markup
            text = re.sub(r"<[^>]*>", " ", text)
        message = truncate(text) if text.strip() else "(empty error body)"
    return _make_error(status, message, error_type, code, headers)


def in_band_error(error: Any) -> ProviderError:
    """An error delivered inside a 200 (a body or a stream payload): no HTTP status, so infer one."""
    message, error_type, code = _error_fields(error)
    # some routers put the HTTP status in code
    status = code if isinstance(code, int) and 400 <= code <= 599 else ERROR_STATUS.get(str(code))
    status = status or ERROR_STATUS.get(error_type or "")
    return _make_error(status, message or "error without a message", error_type, code, {})


def _error_fields(error: Any) -> tuple[str, str | None, str | int | None]:
    """(message, type, code) from the §1.5 error object (or a bare string)."""
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, Mapping):
        return "", None, None
    message = next((error[k] for k in ("message", "detail") if isinstance(error.get(k), str)), "")
    code = error.get("code")
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        code = None
    return message, nonempty(error.get("type")), code


def _make_error(
    status: int | None, message: str, error_type: str | None, code: str | int | None, headers: Mapping[str, str]
) -> ProviderError:
    retryable = should_retry_header(headers)  # x-should-retry overrides the decision when present (§1.5)
    if retryable is None and "insufficient_quota" in (error_type, code):
        retryable = False  # §1.5: a 429 for an empty account; waiting does not help
    label = error_type or (code if isinstance(code, str) else None)
    if error_type and isinstance(code, str) and code and code != error_type:
        label = f"{error_type}/{code}"  # e.g. "requests/rate_limit_exceeded": the code is the telling part
    return build_error(
        status, message, protocol=NAME, endpoint=PATH, error_type=label, headers=headers, retryable=retryable
    )

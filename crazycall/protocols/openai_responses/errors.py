"""OpenAI Responses errors (PROTOCOLS.md §2.5): error bodies (``parse_error``) and errors reported after HTTP
200 (``in_band_error``: ``status: failed``, ``response.failed``, an ``error`` event) -> ProviderError.

Owns the in-band code -> status map and the ``insufficient_quota`` rule (waiting does not help).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crazycall.errors import ProviderError
from crazycall.protocols.http_errors import build_error, json_error_body, should_retry_header
from crazycall.protocols.jsonutil import truncate
from crazycall.protocols.openai_responses.request import NAME, PATH

#: error codes seen inside a 200 (§2.5) -> the HTTP status they stand for, so retries treat them alike
ERROR_STATUS = {"rate_limit_exceeded": 429, "insufficient_quota": 429, "server_error": 500, "invalid_prompt": 400}


def _error_fields(value: Any) -> tuple[str, str | None, str | None]:
    """``(message, type, code)`` from an error envelope, an error object or an error event."""
    if isinstance(value, Mapping) and isinstance(value.get("error"), (Mapping, str)):
        value = value["error"]  # the {"error": {...}} envelope (§1.5) or a nested in-stream error
    if value is None:
        return "the response failed without an error object", None, None
    if isinstance(value, str):
        return truncate(value) or "(empty body)", None, None
    if not isinstance(value, Mapping):
        return truncate(json.dumps(value)), None, None
    etype, code, message = value.get("type"), value.get("code"), value.get("message")
    etype = etype if isinstance(etype, str) and etype and etype != "error" else None
    code = str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) and code != "" else None
    if not isinstance(message, str) or not message.strip():
        message = truncate(json.dumps(value))
    return message, etype, code


def in_band_error(value: Any) -> ProviderError:
    """An error reported after HTTP 200: ``status: failed``, ``response.failed`` or an ``error`` event."""
    message, etype, code = _error_fields(value)
    status = ERROR_STATUS.get(code or "") or ERROR_STATUS.get(etype or "")
    retryable = False if "insufficient_quota" in (code, etype) else None
    return build_error(status, message, protocol=NAME, endpoint=PATH, error_type=etype or code, retryable=retryable)


def parse_error(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    message, etype, code = _error_fields(json_error_body(body))
    retryable = should_retry_header(headers)
    if retryable is None and "insufficient_quota" in (etype, code):
        retryable = False  # out of quota: waiting does not help (§1.5)
    return build_error(
        status,
        message,
        protocol=NAME,
        endpoint=PATH,
        error_type=etype or code,
        headers=headers,
        retryable=retryable,
    )

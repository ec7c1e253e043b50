"""Anthropic Messages errors (PROTOCOLS.md §3.5): ``{"type":"error","error":{type,message},"request_id"}``
-> ProviderError, with an HTTP status (``parse_error``) or inside a 200 body or stream (``in_band_error``).

Owns the error-type -> status table and the body's ``request_id`` as a fallback for the header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crazycall.errors import ProviderError
from crazycall.protocols.anthropic_messages.request import NAME, PATH
from crazycall.protocols.http_errors import build_error, header, json_error_body
from crazycall.protocols.jsonutil import opt_str

# PROTOCOLS.md §3.5. An in-stream error gets the status of the matching HTTP error so that retry logic treats
# both the same. The billing_error and timeout_error statuses are (unverified) guesses.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def in_band_error(payload: Mapping[str, Any]) -> ProviderError:
    """An error inside a 200 body or stream (§3.4): treated like the HTTP error its type stands for."""
    return _from_payload(payload, None, {})


def _from_payload(payload: Mapping[str, Any], status: int | None, headers: Mapping[str, str]) -> ProviderError:
    """A ProviderError from ``{"type":"error","error":{type,message},"request_id"}`` (PROTOCOLS.md §3.5).

    ``status`` None (an error inside a 200 body or stream) takes the status matching the error type.
    """
    err = payload.get("error")
    error_type: str | None = None
    message = "no error message given"
    if isinstance(err, Mapping):
        error_type = opt_str(err.get("type")) or None
        message = opt_str(err.get("message")) or message
    elif isinstance(err, str) and err:
        message = err
    if status is None and error_type is not None:
        status = ERROR_STATUS.get(error_type)
    all_headers = dict(headers)
    request_id = opt_str(payload.get("request_id"))
    if request_id and header(headers, "request-id") is None:
        all_headers["request-id"] = request_id  # the body's copy, when the header got lost on the way
    return build_error(status, message, protocol=NAME, endpoint=PATH, error_type=error_type, headers=all_headers)


def parse_error(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
    decoded = json_error_body(body)
    if isinstance(decoded, Mapping) and decoded.get("error") is not None:
        return _from_payload(decoded, status, headers)
    if isinstance(decoded, Mapping) and isinstance(decoded.get("message"), str):
        message = decoded["message"]
    else:  # HTML from a proxy and the like: build_error truncates it
        message = body.decode("utf-8", "replace").strip() or "(empty error body)"
    return build_error(status, message, protocol=NAME, endpoint=PATH, error_type=None, headers=headers)

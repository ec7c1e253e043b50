"""Routing: model name -> protocol adapter, with ``--protocol`` and config-file overrides.

Owns the rules ``claude-*`` -> messages, ``gemini-*`` -> gemini, everything else -> chat, plus user routes
(glob -> protocol) from the config file. Adapters are imported only when chosen, to keep start-up fast.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from importlib import import_module
from typing import TYPE_CHECKING

from crazycall.errors import UsageError

if TYPE_CHECKING:
    from crazycall.protocols.base import ProtocolAdapter

PROTOCOLS: dict[str, tuple[str, str]] = {
    "chat": ("crazycall.protocols.openai_chat", "ChatAdapter"),
    "responses": ("crazycall.protocols.openai_responses", "ResponsesAdapter"),
    "messages": ("crazycall.protocols.anthropic_messages", "MessagesAdapter"),
    "gemini": ("crazycall.protocols.gemini_native", "GeminiAdapter"),
}

BUILTIN_ROUTES: tuple[tuple[str, str], ...] = (("claude-*", "messages"), ("gemini-*", "gemini"))


def _is_claude(model: str) -> bool:
    return fnmatch.fnmatch(model.lower().rsplit("/", 1)[-1], "claude-*")


def resolve_protocol(model: str, override: str | None = None, routes: Mapping[str, str] | None = None) -> str:
    """The protocol to speak for ``model``; ``override`` (``--protocol``) wins unless it is ``auto``."""
    if override and override != "auto":
        if override not in PROTOCOLS:
            choices = ", ".join(["auto", *PROTOCOLS])
            raise UsageError(f"unknown protocol {override!r}; choose one of: {choices}")
        if override == "responses" and _is_claude(model):
            raise UsageError(
                f"--protocol responses cannot be used with {model}: the router does not serve Claude models "
                "on /v1/responses; use --protocol messages (or chat)"
            )
        return override
    for pattern, protocol in (*(routes or {}).items(), *BUILTIN_ROUTES):
        if fnmatch.fnmatch(model.lower(), pattern.lower()):
            if protocol not in PROTOCOLS:
                raise UsageError(f"route {pattern!r} names unknown protocol {protocol!r}")
            return protocol
    return "chat"


def get_adapter(protocol: str) -> ProtocolAdapter:
    """A fresh adapter instance for ``protocol`` (imported on first use)."""
    try:
        module_name, class_name = PROTOCOLS[protocol]
    except KeyError:
        raise UsageError(f"unknown protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}") from None
    adapter: ProtocolAdapter = getattr(import_module(module_name), class_name)()
    return adapter

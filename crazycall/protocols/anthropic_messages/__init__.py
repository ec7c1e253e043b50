"""Anthropic Messages adapter (PROTOCOLS.md §3): the neutral model <-> ``POST /v1/messages``.

A package because the protocol needs more than one module's worth of care (DESIGN.md: adapters past ~400
lines): ``request.py`` builds bodies (including the echo of thinking blocks and the tool_result-first user
turns), ``response.py`` parses bodies and error bodies, ``stream.py`` parses SSE streams. This module only
wires them into the ``ProtocolAdapter`` interface. Deliberately not here: HTTP and retries (transport.py),
extended-thinking configuration, and server tools (their content blocks are ignored, never sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import ProviderError
from crazycall.events import StreamEvent
from crazycall.protocols.anthropic_messages.request import API_VERSION, ENDPOINT, NAME, build_body, clean_id
from crazycall.protocols.anthropic_messages.response import ERROR_STATUS, parse_body, parse_error_body
from crazycall.protocols.anthropic_messages.stream import parse_events
from crazycall.protocols.base import SSE, Auth, HttpRequest, RequestOptions

__all__ = ["API_VERSION", "ENDPOINT", "ERROR_STATUS", "MessagesAdapter", "clean_id"]


class MessagesAdapter:
    """Sans-IO translator for Anthropic Messages."""

    name: ClassVar[str] = NAME

    def build_request(self, conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
        # anthropic-version is also part of auth(); sending it here keeps a keyless request well-formed
        return HttpRequest(
            path=ENDPOINT,
            body=build_body(conv, tools, opts),
            stream=opts.stream,
            headers={"anthropic-version": API_VERSION},
        )

    def endpoint(self, model: str, stream: bool) -> str:
        return ENDPOINT

    def auth(self, api_key: str) -> Auth:
        return Auth(headers={"x-api-key": api_key, "anthropic-version": API_VERSION})

    def parse_response(self, body: Any) -> ModelResponse:
        return parse_body(body)

    def parse_stream(self, events: Iterable[SSE]) -> Iterator[StreamEvent]:
        return parse_events(events)

    def parse_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return parse_error_body(status, body, headers)

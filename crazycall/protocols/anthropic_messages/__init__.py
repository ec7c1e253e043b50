"""Anthropic Messages adapter (PROTOCOLS.md §3): the neutral model <-> ``POST /v1/messages``.

Every adapter package has the same files with the same names: ``request.py`` (``NAME``, ``PATH``,
``build_request``, ``build_body``, ``auth``), ``response.py`` (``parse_response``, ``STOP_REASONS`` and the
readers the stream shares), ``stream.py`` (``parse_stream``), ``errors.py`` (``parse_error`` for HTTP errors,
``in_band_error`` for an error inside a 200, ``ERROR_STATUS``). This module only binds them to the
``ProtocolAdapter`` interface; it holds no state between calls.

``request.py`` also holds ``API_VERSION`` and ``clean_id`` (tool-use ids the wire accepts). Deliberately not
here: HTTP and retries (transport.py), extended-thinking configuration, and server tools (their content
blocks are ignored, never sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import ProviderError
from crazycall.events import StreamEvent
from crazycall.protocols.anthropic_messages import errors, request, response, stream
from crazycall.protocols.anthropic_messages.request import API_VERSION, NAME, PATH, clean_id
from crazycall.protocols.base import SSE, Auth, HttpRequest, RequestOptions

__all__ = ["API_VERSION", "NAME", "PATH", "MessagesAdapter", "clean_id"]


class MessagesAdapter:
    """Sans-IO translator for Anthropic Messages."""

    name: ClassVar[str] = NAME

    def build_request(self, conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
        return request.build_request(conv, tools, opts)

    def endpoint(self, model: str, stream: bool) -> str:
        return PATH

    def auth(self, api_key: str) -> Auth:
        return request.auth(api_key)

    def parse_response(self, body: Any) -> ModelResponse:
        return response.parse_response(body)

    def parse_stream(self, events: Iterable[SSE]) -> Iterator[StreamEvent]:
        return stream.parse_stream(events)

    def parse_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return errors.parse_error(status, body, headers)

"""OpenAI Chat Completions adapter (PROTOCOLS.md §1): the neutral model <-> ``POST /v1/chat/completions``.

A package because the adapter outgrew one module (DESIGN.md: adapters past ~400 lines): ``request.py``
builds bodies, ``response.py`` parses bodies and error envelopes (and holds the field readers the stream
shares), ``stream.py`` parses the data-only SSE stream. This module only wires them into the
``ProtocolAdapter`` interface. Deliberately not here: HTTP and retries (transport.py), ``n > 1`` (only the
choice with index 0 is read), legacy ``functions``/``function_call`` requests, and ``strict`` schemas.
Plain OpenAI chat has nothing to echo, but models served over chat by routers do: ``provider_data["chat"]``
holds a tool call's ``extra_content`` (Gemini's thought signature) and marks reasoning that arrived as
``reasoning_content`` (DeepSeek/Kimi thinking mode wants it back on tool-call turns).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import ProviderError
from crazycall.events import StreamEvent
from crazycall.protocols.base import SSE, Auth, HttpRequest, RequestOptions
from crazycall.protocols.openai_chat.request import NAME, PATH, build_body
from crazycall.protocols.openai_chat.response import parse_body, parse_error_body
from crazycall.protocols.openai_chat.stream import parse_events

__all__ = ["NAME", "PATH", "ChatAdapter"]


class ChatAdapter:
    """Sans-IO translator for OpenAI Chat Completions."""

    name: ClassVar[str] = NAME

    def build_request(self, conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
        return HttpRequest(path=PATH, body=build_body(conv, tools, opts), stream=opts.stream)

    def endpoint(self, model: str, stream: bool) -> str:
        return PATH

    def auth(self, api_key: str) -> Auth:
        return Auth(headers={"Authorization": f"Bearer {api_key}"})

    def parse_response(self, body: Any) -> ModelResponse:
        return parse_body(body)

    def parse_stream(self, events: Iterable[SSE]) -> Iterator[StreamEvent]:
        return parse_events(events)

    def parse_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return parse_error_body(status, body, headers)

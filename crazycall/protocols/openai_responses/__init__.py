"""The OpenAI Responses protocol adapter (``POST /v1/responses``, PROTOCOLS.md §2), sans IO.

Every adapter package has the same files with the same names: ``request.py`` (``NAME``, ``PATH``,
``build_request``, ``build_body``, ``auth``), ``response.py`` (``parse_response``, ``STOP_REASONS`` and the
readers the stream shares), ``stream.py`` (``parse_stream``), ``errors.py`` (``parse_error`` for HTTP errors,
``in_band_error`` for an error inside a 200, ``ERROR_STATUS``). This module only binds them to the
``ProtocolAdapter`` interface; it holds no state between calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import ProviderError
from crazycall.events import StreamEvent
from crazycall.protocols.base import SSE, Auth, HttpRequest, RequestOptions
from crazycall.protocols.openai_responses import errors, request, response, stream
from crazycall.protocols.openai_responses.request import NAME, PATH

__all__ = ["NAME", "PATH", "ResponsesAdapter"]


class ResponsesAdapter:
    """Sans-IO translator for OpenAI Responses (stateless requests)."""

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

"""The OpenAI Responses protocol adapter (``POST /v1/responses``, PROTOCOLS.md §2), sans IO.

A package because the protocol is large: ``request.py`` turns the neutral conversation into a stateless body and
echoes received output items verbatim; ``response.py`` parses JSON bodies, SSE streams and error bodies. This
module only binds them to the ``ProtocolAdapter`` interface; it holds no state between calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from crazycall.conversation import Conversation, ModelResponse, ToolSpec
from crazycall.errors import ProviderError
from crazycall.events import StreamEvent
from crazycall.protocols.base import SSE, Auth, HttpRequest, RequestOptions
from crazycall.protocols.openai_responses.request import ENDPOINT, NAME, build_body
from crazycall.protocols.openai_responses.response import error_from_body, parse_body, parse_events

__all__ = ["ResponsesAdapter"]


class ResponsesAdapter:
    name: ClassVar[str] = NAME

    def build_request(self, conv: Conversation, tools: Sequence[ToolSpec], opts: RequestOptions) -> HttpRequest:
        return HttpRequest(ENDPOINT, build_body(conv, tools, opts), stream=opts.stream)

    def endpoint(self, model: str, stream: bool) -> str:
        return ENDPOINT

    def auth(self, api_key: str) -> Auth:
        return Auth(headers={"Authorization": f"Bearer {api_key}"})

    def parse_response(self, body: Any) -> ModelResponse:
        return parse_body(body)

    def parse_stream(self, events: Iterable[SSE]) -> Iterator[StreamEvent]:
        return parse_events(events)

    def parse_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        return error_from_body(status, body, headers)

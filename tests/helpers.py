"""Shared test helpers: feed SSE text through the real httpx + httpx-sse stack, in any chunking."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(relative: str) -> str:
    return (FIXTURES / relative).read_text(encoding="utf-8")


def fixture_json(relative: str) -> Any:
    return json.loads(fixture_text(relative))


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks


def sse_events(raw: str | bytes, chunk_size: int | None = None) -> list[ServerSentEvent]:
    """Parse SSE text with httpx-sse, delivered whole (``chunk_size=None``) or in chunks of N bytes."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    chunks = [data] if chunk_size is None else [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks))
    return list(EventSource(response).iter_sse())


def sse_from_fixture(relative: str, chunk_size: int | None = None) -> list[ServerSentEvent]:
    return sse_events(fixture_text(relative), chunk_size)


def collect(events: Iterable[Any]) -> list[Any]:
    return list(events)

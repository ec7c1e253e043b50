"""Shared test helpers: feed SSE text through the real httpx stack and the transport's SSE reader, in any chunking."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent

from crazycall.sse import ServerEvent, read_events

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


def _response(raw: str | bytes, chunk_size: int | None) -> httpx.Response:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    chunks = [data] if chunk_size is None else [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks))


def sse_events(raw: str | bytes, chunk_size: int | None = None) -> list[ServerEvent]:
    """Parse SSE bytes as the transport does (a real httpx response, crazycall's SSE parser), delivered whole
    (``chunk_size=None``) or in chunks of N bytes."""
    return list(read_events(_response(raw, chunk_size).iter_text()))


def httpx_sse_events(raw: str | bytes, chunk_size: int | None = None) -> list[ServerSentEvent]:
    """The reference: the same bytes through httpx-sse (tests/unit/test_sse.py holds the two equal)."""
    return list(EventSource(_response(raw, chunk_size)).iter_sse())


def sse_from_fixture(relative: str, chunk_size: int | None = None) -> list[ServerEvent]:
    return sse_events(fixture_text(relative), chunk_size)


def collect(events: Iterable[Any]) -> list[Any]:
    return list(events)

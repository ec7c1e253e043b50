"""Bounded reading of a response body: what the network sends never takes more memory than a limit allows.

Owns the size limits' defaults (the transcript's too: settings shows them) and the one place a body is
decompressed. The transport asks httpx for the
raw bytes (``iter_raw``) and decodes ``content-encoding`` here with ``zlib``'s ``max_length``, so a 1 MB
gzip bomb is counted and refused while it inflates, a slice at a time, instead of being inflated whole by
httpx first (a 64 KiB network read of zeros becomes 64 MiB there). Sans-IO: bytes in, bytes or text out;
the transport turns ``BodyRefused`` into a ProtocolViolation naming the endpoint. The per-event limit of a
stream is the SSE parser's (crazycall.sse).
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterable, Iterator

MIB = 1024 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 32 * MIB
"""A whole non-streamed body, decompressed."""
DEFAULT_MAX_EVENT_BYTES = 8 * MIB
"""One server-sent event (so one line) of a stream, decoded."""
DEFAULT_MAX_STREAM_BYTES = 256 * MIB
"""A whole stream, decompressed: far above the longest answer (128k tokens of Responses events is ~40 MiB),
and a bound on a bomb of many small events."""
DEFAULT_MAX_ERROR_BYTES = 1 * MIB
"""The body of an HTTP error (or of a stream that is not one), decompressed."""
DEFAULT_MAX_TRANSCRIPT_RECORD_BYTES = 1 * MIB
"""One transcript line (crazycall.transcript cuts a longer record, with a marker)."""

#: the encodings decoded here; asked for explicitly, so a server never picks one (br, zstd) we cannot bound
ACCEPT_ENCODING = "gzip, deflate"
SLICE = 64 * 1024
"""Most bytes one decompression step may produce."""


class BodyRefused(Exception):
    """A body that is too large or cannot be decoded; ``str()`` says which, without any endpoint."""


class BodyTooLarge(BodyRefused):
    """More bytes came out than the limit allows."""


def size(n: int) -> str:
    """``33554432`` -> ``32 MiB``, ``1500`` -> ``1500 bytes``: limits as a user sets them."""
    return f"{n // MIB} MiB" if n >= MIB and n % MIB == 0 else f"{n} bytes"


class _Inflater:
    """One ``content-encoding`` (gzip or deflate, zlib-wrapped or raw as some servers send it) in bounded slices."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate_tried = encoding != "deflate"
        self._started = False
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def slices(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._zlib.decompress(data, SLICE)
            except zlib.error as exc:
                if self._started or self._raw_deflate_tried:
                    raise BodyRefused(f"content-encoding {self.encoding}: corrupt data ({exc})") from None
                self._raw_deflate_tried = True  # "deflate" without the zlib wrapper: start over as raw deflate
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._started = True
            data = self._zlib.unconsumed_tail
            if out:
                yield out
            if len(out) < SLICE and not data:  # input used up and no output held back
                return


def decoded_chunks(raw: Iterable[bytes], encoding: str, limit: int, what: str = "body") -> Iterator[bytes]:
    """The body's bytes, decompressed as ``encoding`` says, in pieces of at most ``SLICE`` bytes for an encoded
    body; ``BodyRefused`` as soon as more than ``limit`` bytes came out (the rest is never read)."""
    encoding = encoding.strip().lower()
    inflater: _Inflater | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(encoding)
    elif encoding not in ("", "identity"):
        raise BodyRefused(f"unsupported content-encoding {encoding!r} (crazycall asks for {ACCEPT_ENCODING})")
    total = 0
    for chunk in raw:
        for piece in inflater.slices(chunk) if inflater is not None else (chunk,):
            total += len(piece)
            if total > limit:
                raise BodyTooLarge(f"{what} exceeds the {size(limit)} limit (more than {total} bytes arrived)")
            yield piece


def read_body(raw: Iterable[bytes], encoding: str, limit: int, what: str = "body", *, cut: bool = False) -> bytes:
    """The whole body, at most ``limit`` bytes decompressed: past it, ``BodyRefused``, or with ``cut`` the first
    ``limit`` bytes (for a body only shown as a snippet)."""
    body = bytearray()  # grows in place: no list of pieces and no join doubling the peak
    try:
        for piece in decoded_chunks(raw, encoding, limit, what):
            body += piece
    except BodyTooLarge:
        if not cut:
            raise
    return bytes(body[:limit])


def decoded_text(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text of a byte stream as it arrives (an event stream is always UTF-8); bad bytes become U+FFFD."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail

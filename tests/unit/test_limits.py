"""Bounded reading (crazycall.transport_limits), the SSE parser's event limit, hostile structures in redaction,
and the transcript's cut records, escaped text and full-disk policy."""

from __future__ import annotations

import errno
import gzip
import io
import json
import zlib
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from crazycall.redact import CYCLE_MARKER, DEEP_MARKER, MAX_DEPTH, redact_data
from crazycall.sse import EventTooLarge, SSEParser, read_events
from crazycall.transcript import Transcript, read_records
from crazycall.transport import _encode_body
from crazycall.transport_limits import SLICE, BodyRefused, decoded_chunks, decoded_text, read_body

MIB = 1024 * 1024


def pieces(data: bytes, size: int = 16 * 1024) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# ---------------------------------------------------------------- bodies


def test_a_gzip_bomb_is_refused_while_it_inflates() -> None:
    bomb = gzip.compress(b"\0" * (16 * MIB))
    seen = 0
    with pytest.raises(BodyRefused, match=r"the body exceeds the 1 MiB limit"):
        for piece in decoded_chunks(pieces(bomb), "gzip", MIB, "the body"):
            assert len(piece) <= SLICE  # never a whole network read inflated at once
            seen += len(piece)
    assert seen <= MIB


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "deflate-raw", "identity", ""])
def test_each_encoding_decodes_whole(encoding: str) -> None:
    text = json.dumps({"text": "héllo " * 50_000}).encode()
    if encoding in ("gzip", "x-gzip"):
        body = gzip.compress(text)
    elif encoding == "deflate":
        body = zlib.compress(text)
    elif encoding == "deflate-raw":  # "deflate" without the zlib wrapper, as some servers send it
        squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body, encoding = squeeze.compress(text) + squeeze.flush(), "deflate"
    else:
        body = text
    assert read_body(pieces(body, 1000), encoding, 10 * MIB) == text


def test_a_plain_body_past_the_limit_is_refused_and_cut_on_request() -> None:
    with pytest.raises(BodyRefused, match="exceeds the 100 bytes limit"):
        read_body(pieces(b"x" * 1000, 30), "", 100)
    assert read_body(pieces(b"x" * 1000, 30), "", 100, cut=True) == b"x" * 90  # whole pieces within the limit


def test_corrupt_or_unknown_encodings_are_refused() -> None:
    with pytest.raises(BodyRefused, match="content-encoding gzip: corrupt data"):
        read_body([b"not gzip at all"], "gzip", MIB)
    with pytest.raises(BodyRefused, match="corrupt data"):  # cut keeps only what fits: never a corrupt body
        read_body([b"not gzip at all"], "gzip", MIB, cut=True)
    with pytest.raises(BodyRefused, match="unsupported content-encoding 'br'"):
        read_body([b"x"], "br", MIB)


def test_decoded_text_joins_split_characters_and_replaces_bad_bytes() -> None:
    data = "café ☕".encode() + b"\xff"
    assert "".join(decoded_text([data[i : i + 1] for i in range(len(data))])) == "café ☕\ufffd"


def test_a_request_with_a_lone_surrogate_is_valid_utf8() -> None:
    body = _encode_body({"text": "a\ud800c", "pair": "\ud83d\ude00"})
    assert json.loads(body.decode("utf-8")) == {"text": "a\ufffdc", "pair": "😀"}


# ---------------------------------------------------------------- stream events


def test_one_long_line_across_many_chunks_is_refused_before_it_ends() -> None:
    parser = SSEParser(max_event=100)
    parser.feed("data: ")
    with pytest.raises(EventTooLarge, match="longer than the limit of 100 characters"):
        for _ in range(20):
            parser.feed("x" * 10)


def test_one_long_event_in_a_single_chunk_is_refused() -> None:
    with pytest.raises(EventTooLarge):
        SSEParser(max_event=100).feed("data: ok\n\n" + "data: " + "y" * 200 + "\n\n")


def test_events_within_the_limit_pass_and_no_limit_means_none() -> None:
    text = "".join(f"data: {'z' * 90}\n\n" for _ in range(50))
    assert len(SSEParser(max_event=100).feed(text)) == 50
    assert len(list(read_events(iter([text * 100]), max_event=None))) == 5000


# ---------------------------------------------------------------- hostile structures


def test_redact_data_survives_a_cycle_and_depth() -> None:
    looped: dict[str, Any] = {"key": "sk-x"}
    looped["me"] = looped
    assert redact_data(looped) == {"key": "sk-x", "me": CYCLE_MARKER}
    deep: Any = "bottom"
    for _ in range(10_000):
        deep = [deep]
    out = redact_data(deep)
    json.dumps(out)  # serialisable: no RecursionError
    for _ in range(MAX_DEPTH):
        out = out[0]
    assert out == DEEP_MARKER


def test_a_shared_subtree_is_no_cycle() -> None:
    shared = {"a": 1}
    assert redact_data({"x": shared, "y": [shared, shared]}) == {"x": {"a": 1}, "y": [{"a": 1}, {"a": 1}]}


# ---------------------------------------------------------------- the transcript


def started(path: Path, max_record: int | None = None, err: io.StringIO | None = None) -> Transcript:
    transcript = Transcript(err)
    if max_record is not None:
        transcript.max_record = max_record
    transcript.start(path, "rid", {}, explicit=True)
    return transcript


def test_a_long_record_and_long_events_are_cut_with_a_marker(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    transcript = started(path, max_record=1000)
    transcript.write("response", {"status": 200, "body": "b" * 5000})
    transcript.write("request", {"body": {"messages": [{"text": "m" * 90} for _ in range(200)]}})
    transcript.observe("event", {"event": "message", "data": "e" * 5000})
    transcript.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(len(line) <= 1000 for line in lines)
    response, request, event = (json.loads(line) for line in lines[1:])
    assert response["body"].endswith(f"...[cut: {5000 - 125} more characters]")
    assert request["type"] == "request" and "...[cut: " in request["cut"]  # many small strings: the head is kept
    assert event["data"].startswith("eee") and event["data"].endswith(" more characters]")


def test_a_lone_surrogate_is_written_as_its_escape(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    transcript = started(path)
    transcript.write("tool_call", {"arguments": '{"city": "a\ud800"}'})
    transcript.observe("event", {"event": "message", "data": "b\udce9"})
    transcript.close()
    text = path.read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert "\\ud800" in text
    records = read_records(path)
    assert records[1]["arguments"] == '{"city": "a\ud800"}' and records[2]["data"] == "b\udce9"


class FullDisk(io.RawIOBase):
    """A file that takes ``room`` more bytes (part of a write, then ENOSPC), over a real file."""

    def __init__(self, real: Any, room: int) -> None:
        self.real, self.room = real, room

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = min(self.room, len(data))
        self.room -= taken
        return int(self.real.write(bytes(data[:taken])))

    def fileno(self) -> int:
        return int(self.real.fileno())

    def close(self) -> None:
        self.real.close()


def test_a_full_disk_never_tears_a_line_and_warns_once(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    err = io.StringIO()
    transcript = started(path, err=err)
    good = path.stat().st_size
    transcript._file = cast(BinaryIO, FullDisk(transcript._file, room=30))  # the next record fits only in part
    transcript.write("turn", {"turn": 1, "padding": "p" * 100})
    transcript.write("turn", {"turn": 2})  # stopped: nothing more is tried
    transcript.close()
    assert path.stat().st_size == good  # the part written was taken back
    assert [r["type"] for r in read_records(path)] == ["run"]
    assert transcript.error == f"transcript: No space left on device writing {path}; transcript stopped"
    assert err.getvalue() == f"crazycall: warning: {transcript.error}\n"

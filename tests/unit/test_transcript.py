"""transcript.py: the conversation's JSON form, run ids, writing (redacted, flushed), reading back, resume."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crazycall.conversation import Conversation, Message, ReasoningPart, TextPart, ToolCall, ToolResult
from crazycall.errors import ConfigError, ServerError, UsageError
from crazycall.events import RunFailed, RunResult, ToolFinished, ToolStarted, TurnStarted
from crazycall.redact import remember
from crazycall.transcript import (
    Transcript,
    conversation_from_json,
    conversation_to_json,
    find_transcript,
    foreign_provider_data,
    latest_transcript,
    load_prior,
    new_run_id,
    read_records,
    summarize,
    transcript_files,
    transcripts_dir,
)

SECRET = "sk-unit-transcript-secret-77"

CONV = Conversation(
    "be terse",
    (
        Message("user", (TextPart("weather?"),)),
        Message(
            "assistant",
            (
                ReasoningPart("", {"responses": {"type": "reasoning", "id": "rs_1", "encrypted_content": "gA"}}),
                TextPart("Checking.", {"responses": {"id": "msg_1", "phase": "commentary"}}),
                ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city":"Paris"}', {"gemini": {"sig": "CiQ"}}),
                ToolCall("call_2", "get_time", {}, "{oops", {}, "arguments are not valid JSON"),
            ),
        ),
        Message(
            "tool", (ToolResult("call_1", "get_weather", '{"t": 18}'), ToolResult("call_2", "get_time", "bad", True))
        ),
    ),
)


def test_the_conversation_round_trips_through_json_text() -> None:
    text = json.dumps(conversation_to_json(CONV))
    assert conversation_from_json(json.loads(text)) == CONV


def test_the_json_form_is_the_documented_one() -> None:
    data = conversation_to_json(CONV)
    assert data["system"] == "be terse"
    assert data["messages"][1]["parts"][2] == {
        "type": "tool_call",
        "id": "call_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
        "raw_arguments": '{"city":"Paris"}',
        "arguments_error": None,
        "provider_data": {"gemini": {"sig": "CiQ"}},
    }
    assert data["messages"][2]["parts"][1] == {
        "type": "tool_result",
        "call_id": "call_2",
        "name": "get_time",
        "content": "bad",
        "is_error": True,
    }


TEXT = st.text(max_size=12)
DATA = st.dictionaries(
    st.sampled_from(["chat", "responses", "messages", "gemini"]), st.dictionaries(TEXT, TEXT, max_size=2)
)
PART = st.one_of(
    st.builds(TextPart, TEXT, DATA),
    st.builds(ReasoningPart, TEXT, DATA),
    st.builds(
        ToolCall, TEXT, TEXT, st.dictionaries(TEXT, st.integers() | TEXT, max_size=3), TEXT, DATA, st.none() | TEXT
    ),
    st.builds(ToolResult, TEXT, TEXT, TEXT, st.booleans()),
)
MESSAGE = st.builds(Message, st.sampled_from(["user", "assistant", "tool"]), st.lists(PART, max_size=4).map(tuple))


@settings(max_examples=150, deadline=None)
@given(st.builds(Conversation, st.none() | TEXT, st.lists(MESSAGE, max_size=4).map(tuple)))
def test_any_conversation_round_trips(conv: Conversation) -> None:
    assert conversation_from_json(json.loads(json.dumps(conversation_to_json(conv)))) == conv


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {"messages": "x"},
        {"messages": [{"role": "system", "parts": []}]},
        {"messages": [{"role": "user"}]},
        {"messages": [{"role": "user", "parts": [{"type": "image"}]}]},
        {"messages": [{"role": "user", "parts": [{"type": "text", "text": 3}]}]},
    ],
)
def test_a_damaged_conversation_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        conversation_from_json(bad)


def test_run_ids_sort_by_start_time_and_differ() -> None:
    early, late = new_run_id(1_700_000_000.25), new_run_id(1_700_000_000.5)
    assert early.startswith("20231114-221320.250-") and len(early) == len("20231114-221320.250-") + 6
    assert early < late
    assert new_run_id(5.0) != new_run_id(5.0)


def test_transcripts_dir_follows_xdg_data_home(tmp_path: Path) -> None:
    assert transcripts_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "crazycall" / "transcripts"
    assert transcripts_dir({"HOME": "/nowhere"}).parts[-4:] == (".local", "share", "crazycall", "transcripts")


def test_each_record_is_redacted_and_flushed_at_once(tmp_path: Path) -> None:
    remember(SECRET)
    path = tmp_path / "t.jsonl"
    t = Transcript()
    t.start(path, "rid", {"model": "m", "settings": {"api_key": SECRET}}, explicit=True)
    t.observe("request", {"path": f"/v1beta/models/x:generateContent?key={SECRET}", "body": {"q": SECRET}})
    lines = path.read_text(encoding="utf-8").splitlines()  # read while the file is still open: flushed
    assert [json.loads(line)["type"] for line in lines] == ["run", "request"]
    assert SECRET not in "".join(lines)
    assert json.loads(lines[1])["path"] == "/v1beta/models/x:generateContent?key=***"
    t.close()


def test_stream_events_are_queued_then_written_as_write_would_write_them(tmp_path: Path) -> None:
    remember(SECRET)
    path = tmp_path / "t.jsonl"
    t = Transcript()
    t.start(path, "rid", {}, explicit=True)
    t.turn = 2
    datas = ['{"a": "caf\u00e9 \\"q\\""}', f'{{"k": "{SECRET}"}}', '{"h": "Bearer abcdefghij"}', "[DONE]"]
    names = ["message", "delta", "message", "message"]
    for name, data in zip(names, datas, strict=True):
        t.observe("event", {"event": name, "data": data})
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1  # queued: only the run record so far
    t.flush()  # what the transport calls before it reads the network again
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    recs = [json.loads(line) for line in lines]
    assert [(r["type"], r["turn"], r["event"]) for r in recs] == [("event", 2, n) for n in names]
    assert [r["data"] for r in recs] == [datas[0], '{"k": "***"}', '{"h": "Bearer ***"}', "[DONE]"]
    assert len({r["time"] for r in recs}) == 1  # one batch, one network read: one time
    for line, rec in zip(lines, recs, strict=True):  # byte for byte what json.dumps makes of the record
        assert line == json.dumps(rec, ensure_ascii=False)
    t.observe("event", {"event": "message", "data": "late"})
    t.observe("event", {"event": "message", "data": '{"x": "\\u00e9\\n"}'})
    t.observe("retry", {"attempt": 1})  # a record of another kind writes the queued events first
    t.observe("event", {"event": "message", "data": "at close"})
    t.close()
    tail = [(r["type"], r.get("data")) for r in read_records(path)[5:]]
    assert tail == [("event", "late"), ("event", '{"x": "\\u00e9\\n"}'), ("retry", None), ("event", "at close")]
    for line in path.read_text(encoding="utf-8").splitlines():  # batches of one event name too
        assert line == json.dumps(json.loads(line), ensure_ascii=False)


def test_an_inactive_transcript_writes_nothing(tmp_path: Path) -> None:
    t = Transcript()
    t.write("turn", {"turn": 1})
    seen: list[Any] = []
    t.wrap(seen.append)(TurnStarted(1))
    assert not t.active and seen == [TurnStarted(1)] and list(tmp_path.iterdir()) == []


def test_run_events_become_records_before_the_renderer_sees_them(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    t = Transcript()
    t.start(path, "rid", {}, explicit=True)
    rendered: list[int] = []

    def renderer(event: Any) -> None:
        rendered.append(len(path.read_text(encoding="utf-8").splitlines()))

    emit = t.wrap(renderer)
    call = ToolCall("c1", "f", {}, "{}")
    emit(TurnStarted(1))
    emit(ToolStarted(call))
    emit(ToolFinished(call, ToolResult("c1", "f", "boom", True), 12.345, "printed"))
    emit(RunFailed(ServerError("nope", status=500), RunResult("m", "chat", "partial", "", 1)))
    t.close()
    recs = read_records(path)
    assert [r["type"] for r in recs] == ["run", "turn", "tool_call", "tool_result", "error", "end"]
    assert rendered == [2, 3, 4, 6]
    assert recs[3] | {"time": None} == {
        "type": "tool_result",
        "time": None,
        "id": "c1",
        "name": "f",
        "content": "boom",
        "is_error": True,
        "duration_ms": 12.3,
        "output": "printed",
    }
    assert (recs[4]["error_type"], recs[4]["exit_code"]) == ("server_error", 4)
    assert (recs[5]["outcome"], recs[5]["turns"], recs[5]["text"]) == ("server_error", 1, "partial")


def test_start_on_an_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="--no-transcript"):
        Transcript().start(blocker / "a.jsonl", "rid", {}, explicit=True)
    with pytest.raises(UsageError, match="cannot write the transcript"):  # the same code as --transcript's
        Transcript().start(blocker / "a.jsonl", "rid", {}, explicit=False)


def _write(folder: Path, run_id: str, *recs: dict[str, Any], tail: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + tail, encoding="utf-8")
    return path


def test_reading_skips_torn_and_foreign_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "r", {"type": "run", "id": "r"}, tail='[1, 2]\n"text"\n{"type": "tu')
    assert read_records(path) == [{"type": "run", "id": "r"}]


def test_find_latest_and_list(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path)}
    folder = transcripts_dir(env)
    with pytest.raises(UsageError, match="no earlier run to continue"):
        latest_transcript(env)
    a = _write(folder, "20240101-000000.000-aaaaaa", {"type": "run"})
    b = _write(folder, "20240102-000000.000-bbbbbb", {"type": "run"})
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    assert transcript_files(env) == [b, a]
    assert latest_transcript(env) == b
    assert find_transcript("20240101", env) == a
    assert find_transcript(str(a), env) == a  # a path works too
    with pytest.raises(
        UsageError, match=re.escape("ambiguous: 20240102-000000.000-bbbbbb, 20240101-000000.000-aaaaaa")
    ):
        find_transcript("2024", env)
    with pytest.raises(UsageError, match="no transcript with run id '1999'"):
        find_transcript("1999", env)


def test_summaries(tmp_path: Path) -> None:
    run = {"type": "run", "id": "r1", "time": "T", "model": "m", "protocol": "gemini"}
    done = _write(tmp_path, "r1", run, {"type": "turn", "turn": 1}, {"type": "end", "outcome": "max_turns", "turns": 4})
    killed = _write(tmp_path, "r2", {**run, "id": "r2"}, {"type": "turn", "turn": 1}, {"type": "turn", "turn": 2})
    assert summarize(done).to_json() == {
        "id": "r1",
        "time": "T",
        "model": "m",
        "protocol": "gemini",
        "turns": 4,
        "outcome": "max_turns",
        "path": str(done),
    }
    assert (summarize(killed).outcome, summarize(killed).turns) == ("incomplete", 2)


def test_load_prior_rebuilds_and_closes_the_conversation(tmp_path: Path) -> None:
    start = Conversation("sys", (Message("user", (TextPart("hi"),)),))
    pending = Message("assistant", (ToolCall("c9", "f", {}, "{}"),))
    path = _write(
        tmp_path,
        "r",
        {"type": "run", "id": "r", "model": "gpt-x", "protocol": "chat", "conversation": conversation_to_json(start)},
        {"type": "message", "message": conversation_to_json(CONV)["messages"][1]},
        {"type": "message", "message": conversation_to_json(CONV)["messages"][2]},
        {"type": "message", "message": conversation_to_json(Conversation(None, (pending,)))["messages"][0]},
    )
    prior = load_prior(path)
    assert (prior.run_id, prior.model, prior.protocol) == ("r", "gpt-x", "chat")
    assert prior.conversation == Conversation("sys", (start.messages[0], CONV.messages[1], CONV.messages[2]))


def test_load_prior_refuses_what_is_not_a_transcript(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a crazycall transcript"):
        load_prior(_write(tmp_path, "a", {"type": "turn"}))
    with pytest.raises(ConfigError, match="damaged transcript"):
        load_prior(_write(tmp_path, "b", {"type": "run", "conversation": {"messages": [{"role": "bot"}]}}))


def test_foreign_provider_data_names_the_other_protocols() -> None:
    assert foreign_provider_data(CONV, "responses") == ["gemini"]
    assert foreign_provider_data(CONV, "chat") == ["gemini", "responses"]
    assert foreign_provider_data(Conversation.start("x"), "chat") == []

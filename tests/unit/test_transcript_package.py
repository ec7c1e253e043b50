"""The transcript package (issue #13): one writer, one store, one renderer; ``logs`` reads runs only through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from crazycall.conversation import Conversation, Message, TextPart
from crazycall.errors import UsageError
from crazycall.transcript import LATEST, Transcript, conversation_to_json, find_run, load_prior
from crazycall.transcript.render import run_rows, show, show_json, table


def _run(folder: Path, run_id: str, prompt: str) -> Path:
    path = folder / "crazycall" / "transcripts" / f"{run_id}.jsonl"
    transcript = Transcript()
    conv = Conversation("be brief", (Message("user", (TextPart(prompt),)),))
    header = {"model": "gpt-x", "protocol": "chat", "conversation": conversation_to_json(conv)}
    transcript.start(path, run_id, header, explicit=False)
    transcript.write("turn", {"turn": 1})
    transcript.write("tool_call", {"id": "c1", "name": "get_weather", "arguments": '{"city": "Paris"}'})
    transcript.write("end", {"outcome": "ok", "turns": 1, "usage": {"input_tokens": 3, "output_tokens": 4}})
    transcript.close()
    return path


def test_find_run_last_is_the_newest_and_names_the_folder_when_there_is_none(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path)}
    with pytest.raises(UsageError, match="no runs recorded yet in"):
        find_run(LATEST, env)
    _run(tmp_path, "20260101-000000.000-aaaaaa", "first")
    newest = _run(tmp_path, "20260102-000000.000-bbbbbb", "second")
    assert find_run(LATEST, env) == newest
    assert find_run("20260102", env) == newest


def test_rows_table_and_replay_come_from_the_records(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path)}
    path = _run(tmp_path, "20260101-000000.000-aaaaaa", "what is the weather\nin Paris")
    (row,) = run_rows(5, env)
    assert (row["id"], row["model"], row["outcome"], row["turns"], row["prompt"]) == (
        "20260101-000000.000-aaaaaa",
        "gpt-x",
        "ok",
        1,
        "what is the weather",
    )
    assert table([row]).splitlines()[0].split()[:3] == ["ID", "TIME", "MODEL"]
    lines = show(path).splitlines()
    assert lines[1:] == [
        "system: be brief",
        "user: what is the weather in Paris",
        "turn 1",
        '  tool get_weather {"city": "Paris"}',
        "end: ok, 1 turn, 3 in / 4 out tokens",
    ]
    data = show_json(path)
    assert data["run"]["id"] == "20260101-000000.000-aaaaaa"
    assert [r["type"] for r in data["records"]] == ["run", "turn", "tool_call", "end"]
    assert load_prior(path).conversation.messages[0].parts == (TextPart("what is the weather\nin Paris"),)

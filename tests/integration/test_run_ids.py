"""Run ids: a script learns the id of the run it just made (``--json``, ``run_started``), resumes exactly that
run, and finds the latest run with ``logs show`` / ``logs show last``; ``--continue`` / ``--resume`` say which
run they continue. Real processes, the offline router in-process, transcripts in the test's XDG folder."""

from __future__ import annotations

import json
from pathlib import Path

from crazycall.errors import EXIT_USAGE
from tests.integration.conftest import TOOLS, run_cli

PROMPT = "What is the weather in Beijing?\nAnswer in one line."


def test_json_carries_the_run_id_and_the_transcript_that_resume_takes(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "ask", "--offline", *TOOLS, "--json", PROMPT)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    run_id, transcript = data["run_id"], Path(data["transcript"])
    assert transcript.is_file() and transcript.stem == run_id
    run_record = json.loads(transcript.read_text(encoding="utf-8").splitlines()[0])
    assert run_record["id"] == run_id

    second = run_cli(tmp_path, "ask", "--offline", *TOOLS, "--resume", run_id, "-o", "jsonl", "And the time there?")
    assert second.returncode == 0, second.stderr
    assert f"crazycall: continuing run {run_id} (gpt-5.4, chat)\n" in second.stderr
    started = json.loads(second.stdout.splitlines()[0])
    assert started["event"] == "run_started"
    assert started["run_id"] != run_id and Path(started["transcript"]).stem == started["run_id"]
    finished = json.loads(second.stdout.splitlines()[-1])
    assert finished["event"] == "run_finished" and finished["run_id"] == started["run_id"]


def test_continue_says_which_run_it_continues(tmp_path: Path) -> None:
    first = json.loads(run_cli(tmp_path, "ask", "--offline", *TOOLS, "--json", PROMPT).stdout)
    done = run_cli(tmp_path, "ask", "--offline", *TOOLS, "-p", "messages", "--continue", "-q", "And tomorrow?")
    assert done.returncode == 0, done.stderr
    assert f"crazycall: continuing run {first['run_id']} (gpt-5.4, messages)" in done.stderr.splitlines()


def test_a_failed_run_still_names_its_run_id(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "--offline", *TOOLS, "--max-turns", "1", "--json", PROMPT)
    assert done.returncode == 7
    data = json.loads(done.stdout)
    assert data["error"]["type"] == "max_turns"
    assert Path(data["transcript"]).stem == data["run_id"] != ""


def test_without_a_transcript_the_run_id_has_no_file(tmp_path: Path) -> None:
    data = json.loads(run_cli(tmp_path, "ask", "--offline", *TOOLS, "--no-transcript", "--json", PROMPT).stdout)
    assert data["run_id"] and data["transcript"] is None


def test_logs_show_without_an_id_or_with_last_shows_the_latest_run(tmp_path: Path) -> None:
    run_cli(tmp_path, "ask", "--offline", *TOOLS, "--json", "What time is it in Asia/Tokyo?")
    latest = json.loads(run_cli(tmp_path, "ask", "--offline", *TOOLS, "--json", PROMPT).stdout)["run_id"]
    for args in ([], ["last"]):
        shown = run_cli(tmp_path, "logs", "show", *args)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith(f"run {latest} ")
        as_json = json.loads(run_cli(tmp_path, "logs", "show", *args, "--json").stdout)
        assert as_json["run"]["id"] == latest


def test_logs_lists_each_runs_first_prompt_line(tmp_path: Path) -> None:
    run_cli(tmp_path, "ask", "--offline", *TOOLS, "--json", PROMPT)
    listed = run_cli(tmp_path, "logs")
    assert listed.returncode == 0
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[-1] == "PROMPT"
    assert row.endswith("What is the weather in Beijing?")  # the first line only
    rows = json.loads(run_cli(tmp_path, "logs", "--json").stdout)
    assert rows[0]["prompt"] == "What is the weather in Beijing?"


def test_logs_show_with_no_runs_says_so(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "logs", "show", "--json")
    assert done.returncode == EXIT_USAGE
    assert done.stderr.startswith("crazycall: error: no runs recorded yet in ")
    assert json.loads(done.stdout)["error"]["type"] == "usage_error"

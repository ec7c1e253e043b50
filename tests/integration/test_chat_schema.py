"""``chat /schema``: set, show and clear the session's answer schema, in piped mode against the offline router."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def chat(cwd: Path, lines: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "crazycall", "chat", "--offline", "--no-transcript"]
    command += ["-t", str(REPO / "tools.yaml")]
    return subprocess.run(command, cwd=cwd, input=lines, capture_output=True, text=True, timeout=60)


def test_schema_is_set_for_the_next_exchanges_and_cleared_by_off(tmp_path: Path) -> None:
    lines = f"/schema\n/schema {json.dumps(SCHEMA)}\nweather in Paris?\n/schema off\nweather in Paris?\n"
    run = chat(tmp_path, lines)
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    assert out[0] == "no schema: answers are free text"
    assert json.loads(out[1].removeprefix("schema: ")) == SCHEMA
    assert json.loads(out[2]) == {"city": "Paris"}  # the structured answer, one JSON line
    assert out[3] == "no schema: answers are free text"
    free = "\n".join(out[4:])
    try:
        json.loads(free)
    except ValueError:
        pass
    else:
        raise AssertionError(f"after /schema off the answer is still JSON: {free!r}")


def test_a_bad_schema_is_one_line_and_the_session_goes_on(tmp_path: Path) -> None:
    run = chat(tmp_path, '/schema {"type": "nope"}\n/schema /no/such.json\n/schema\n')
    assert run.returncode == 0, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("crazycall: error:")]
    assert len(errors) == 2
    assert "/schema (inline JSON) is not a valid JSON Schema at /type" in errors[0]
    assert "/schema /no/such.json: no such file" in errors[1]
    assert "Traceback" not in run.stderr
    assert run.stdout.splitlines() == ["no schema: answers are free text"]

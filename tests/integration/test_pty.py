"""What a person at a terminal sees: ``crazycall ask`` in a real pseudo-terminal (pexpect), and in tmux.

The bytes the program writes to the pty are replayed through a small terminal emulator
(tests/unit/render/screen.py) to get the final screen; one test runs the same command in tmux and compares
its capture-pane with that screen, so the emulator is checked against a real terminal. Ctrl-C is a real
SIGINT from the pty's line discipline while a slow tool runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.integration.conftest import TOOLS
from tests.integration.test_output_modes import ANSWER, PROMPT
from tests.unit.render.screen import Screen

SLOW_TOOLS = '''
import time

import crazycall


@crazycall.tool(timeout=120)
def slow_job() -> str:
    """A job that takes a minute."""
    time.sleep(60)
    return "done"


@crazycall.tool(timeout=30)
def check_alpha() -> str:
    """Check alpha."""
    time.sleep(2.5)
    return "alpha ok"


@crazycall.tool(timeout=30)
def check_beta() -> str:
    """Check beta."""
    time.sleep(2.5)
    return "beta ok"
'''

EXPECTED = """\
⚙ get_weather {"city": "Beijing", "unit": "celsius"}
✓ get_weather · N ms · 126 chars
  {"city": "Beijing", "temperature": -4, "unit": "celsius", "conditions":
  "cloudy", "humidity_percent": 45, "sample_data": true}

get_weather returned {"city": "Beijing", "temperature": -4, "unit": "celsius",
"conditions": "cloudy", "humidity_percent": 45, "sample_data": true}.

gpt-5.4 via chat · 2 turns · 1 tool call · N in / N out tokens · N s"""


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # the pty's size decides
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def spawn(cwd: Path, *args: str, columns: int = 80, **env: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "crazycall", "ask", "--offline", *args],
        cwd=str(cwd),
        env=child_env(**env),
        dimensions=(30, columns),
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
    )


def finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    return str(child.before)


def normalized(screen_text: str) -> str:
    """Durations, token counts and wall time vary between runs: replaced by N."""
    text = re.sub(r"\b\d+ ms\b", "N ms", screen_text)
    text = re.sub(r"[\d,]+ in / \d+ out tokens · \d+\.\d s", "N in / N out tokens · N s", text)
    return text


def colour_codes(raw: str) -> list[str]:
    codes = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", raw):
        codes += [p for p in params.split(";") if p and (30 <= int(p) <= 49 or 90 <= int(p) <= 107)]
    return codes


def plugins(tmp_path: Path) -> Path:
    folder = tmp_path / "slow_plugins"
    folder.mkdir(exist_ok=True)
    (folder / "slow.py").write_text(SLOW_TOOLS, encoding="utf-8")
    return folder


def test_a_person_sees_the_call_its_result_the_answer_and_a_closing_line(tmp_path: Path) -> None:
    child = spawn(tmp_path, *TOOLS, PROMPT)
    raw = finish(child)
    assert child.exitstatus == 0, raw
    screen = Screen(80).feed(raw)
    assert normalized(screen.text()) == EXPECTED
    assert screen.cursor_visible
    assert raw.index("gpt-5.4 via chat") < raw.index("⚙")  # the spinner came before the tool call
    assert colour_codes(raw)  # a terminal gets colour


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_no_color_at_a_terminal_drops_colour_but_not_the_layout(tmp_path: Path, how: str) -> None:
    child = spawn(tmp_path, *TOOLS, PROMPT, NO_COLOR="1") if how == "NO_COLOR" else spawn(tmp_path, how, *TOOLS, PROMPT)
    raw = finish(child)
    assert child.exitstatus == 0, raw
    assert colour_codes(raw) == []
    assert normalized(Screen(80).feed(raw).text()) == EXPECTED


def test_the_terminal_width_is_respected(tmp_path: Path) -> None:
    child = spawn(tmp_path, *TOOLS, PROMPT, columns=50)
    raw = finish(child)
    assert child.exitstatus == 0, raw
    lines = Screen(50).feed(raw).text().splitlines()
    assert max(len(line) for line in lines) <= 50
    first = lines.index("") + 1
    answer_lines = lines[first : lines.index("", first)]
    assert " ".join(answer_lines) == ANSWER
    assert len(answer_lines) == 4


def _watch(child: pexpect.spawn, width: int, until: re.Pattern[str], seconds: float = 30) -> tuple[str, Screen]:
    """Read the child's output until the screen matches ``until``; the output so far and the screen."""
    raw = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(pexpect.TIMEOUT):
            raw += child.read_nonblocking(4096, timeout=0.2)
        screen = Screen(width).feed(raw)
        if until.search(screen.text()):
            return raw, screen
    pytest.fail(f"the screen never matched {until.pattern!r}:\n{Screen(width).feed(raw).text()}")


def test_parallel_calls_run_visibly_side_by_side(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--plugins", str(plugins(tmp_path)), "Run the alpha and beta checks")
    both = re.compile(r"^. check_alpha · running · .*\n. check_beta · running · ", re.MULTILINE)
    _raw, screen = _watch(child, 80, both)
    assert not screen.cursor_visible  # the live region is on
    rest = finish(child)
    assert child.exitstatus == 0, rest


def test_ctrl_c_stops_at_once_prints_what_is_known_and_exits_130(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--plugins", str(plugins(tmp_path)), "Start the slow job")
    raw, _ = _watch(child, 80, re.compile(r"slow_job · running"))
    started = time.monotonic()
    child.sendintr()
    raw += finish(child)
    took = time.monotonic() - started
    assert child.exitstatus == 130 and child.signalstatus is None
    assert took < 15  # the tool sleeps for 60 s: the run did not wait for it
    screen = Screen(80).feed(raw)
    lines = screen.text().splitlines()
    assert lines[0] == "⚙ slow_job {}"
    assert "✗ slow_job · cancelled" in lines  # the spinner does not just vanish
    closing = " ".join(lines[lines.index("✗ slow_job · cancelled") + 1 : -1]).strip()  # it may wrap at 80 columns
    assert re.fullmatch(
        r"interrupted · gpt-5.4 via chat · 1 turn · 0 tool calls · [\d,]+ in / \d+ out tokens · \d+\.\d s", closing
    )
    assert lines[-1] == "crazycall: error: interrupted"
    assert screen.cursor_visible  # the live region was stopped: the cursor is back
    assert raw.rindex("\x1b[?25h") > raw.rindex("\x1b[?25l")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tmux_shows_the_same_screen(tmp_path: Path) -> None:
    """A real terminal emulator agrees with the test emulator the other tests rely on."""
    socket, done = f"crazycall-test-{os.getpid()}", tmp_path / "exit-status"
    command = " ".join(
        [sys.executable, "-m", "crazycall", "ask", "--offline", *TOOLS, f"'{PROMPT}'", f"; echo $? > {done}; sleep 60"]
    )
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    env = child_env()
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "80", "-y", "30", "-c", str(tmp_path), command], env=env, check=True
    )
    try:
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done.read_text().strip() == "0"
        pane = subprocess.run([*tmux, "capture-pane", "-p"], env=env, check=True, capture_output=True, text=True)
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, check=False, capture_output=True)
    assert normalized(pane.stdout.rstrip()) == EXPECTED

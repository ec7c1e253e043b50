"""Start-up stays light: which heavy modules ``--help``, ``--version`` and ``tools list`` import.

Asserts on the set of imported modules (via ``-X importtime`` in a subprocess), not on timings, which are
flaky on shared machines; the timings themselves live in benchmarks/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ALWAYS_BANNED = {"httpx", "httpx_sse", "jsonschema", "crazycall.transport", "crazycall.loop"}
HELP_BANNED = ALWAYS_BANNED | {"yaml", "rich.markdown", "rich.live", "crazycall.protocols.openai_chat"}


def imported_modules(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crazycall", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "crazycall.cli" in names  # the measurement itself works
    return names


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("ask", "--help")])
def test_help_and_version_import_no_heavy_modules(args: tuple[str, ...]) -> None:
    loaded = imported_modules(*args)
    assert not (HELP_BANNED & loaded), sorted(HELP_BANNED & loaded)


def test_tools_list_imports_neither_httpx_nor_jsonschema() -> None:
    loaded = imported_modules("tools", "list")
    assert not (ALWAYS_BANNED & loaded), sorted(ALWAYS_BANNED & loaded)

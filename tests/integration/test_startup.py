"""Start-up stays light: which heavy modules each command imports (in a subprocess, via ``-X importtime``).

Asserts on the set of imported modules, not on timings, which are flaky on shared machines; the timings
themselves live in benchmarks/. Each module named here costs tens of milliseconds on every run that imports it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import KEY, REPO

#: httpx's command-line client, which drags these in (crazycall.transport keeps it out), and tools' extras
NEVER = {"click", "pygments", "rich.progress", "rich.syntax"}
ALWAYS_BANNED = NEVER | {"httpx", "httpx_sse", "jsonschema", "crazycall.transport", "crazycall.loop"}
#: (a submodule: ``-X importtime`` leaves out a package imported through importlib.import_module, as adapters are)
HELP_BANNED = ALWAYS_BANNED | {"yaml", "rich", "rich.markdown", "rich.live", "crazycall.protocols.openai_chat.request"}
PLUGIN = '''
import crazycall


@crazycall.tool
def get_weather(city: str, unit: str = "celsius") -> dict:
    """Current weather for a city."""
    return {"city": city, "unit": unit, "temperature": 18}
'''


def imported_modules(*args: str, cwd: Path = REPO, code: str | None = None) -> set[str]:
    command = ["-c", code] if code is not None else ["-m", "crazycall", *args]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "crazycall" in names  # the measurement itself works
    return names


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("ask", "--help"), ("-V", "tools")])
def test_help_and_version_import_no_heavy_modules(args: tuple[str, ...]) -> None:
    loaded = imported_modules(*args)
    assert "crazycall.cli" in loaded
    assert not (HELP_BANNED & loaded), sorted(HELP_BANNED & loaded)


def test_a_bare_version_does_not_even_import_typer() -> None:
    loaded = imported_modules("--version")
    assert "typer" not in loaded and "crazycall.commands" not in loaded
    assert "typer" in imported_modules("--help")  # the control


def test_tools_list_imports_neither_httpx_nor_jsonschema() -> None:
    loaded = imported_modules("tools", "list")
    assert not (ALWAYS_BANNED & loaded), sorted(ALWAYS_BANNED & loaded)
    # no installed package declares crazycall.plugins entry points: importlib.metadata is not needed to say so
    assert "importlib.metadata" not in loaded
    assert {"yaml", "rich.console"} <= loaded  # the control: the repository's tools.yaml, the table


def test_the_transport_keeps_httpxs_command_line_client_out() -> None:
    loaded = imported_modules(code="import crazycall.transport")
    assert "httpx" in loaded
    assert not (NEVER & loaded), sorted(NEVER & loaded)


def test_a_tool_round_trip_with_python_tools_imports_only_what_it_uses(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "weather.py").write_text(PLUGIN, encoding="utf-8")
    with OfflineRouter(api_key=KEY) as router:
        args = ("ask", "--base-url", router.url, "--api-key", KEY, "-m", "gpt-4o", "--no-stream", "-o", "plain")
        loaded = imported_modules(*args, "--no-transcript", "What is the weather in Paris?", cwd=tmp_path)
        assert [r.protocol for r in router.requests] == ["chat", "chat"]  # the tool was called: two turns
    # no tools.yaml: no yaml; arguments a simple schema vouches for: no jsonschema; plain output: no Rich
    banned = NEVER | {"yaml", "jsonschema", "importlib.metadata", "rich", "crazycall.render.console"}
    assert not (banned & loaded), sorted(banned & loaded)
    assert {"httpx", "crazycall.transport", "crazycall.protocols.openai_chat.request"} <= loaded  # the control

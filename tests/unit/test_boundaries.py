"""The package's boundaries, checked: no import circle between cli.py and the commands, Rich only under
render/, httpx only in the transport, and ruff's configuration banning both everywhere else."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "crazycall"
ROOT = PACKAGE.parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any level (inside functions and TYPE_CHECKING blocks too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _importers(top: str) -> set[str]:
    """The package's files that import ``top`` (or anything under it)."""
    return {
        _relative(path)
        for path in PACKAGE.rglob("*.py")
        if any(name == top or name.startswith(f"{top}.") for name in _imports(path))
    }


def test_no_command_module_imports_cli_back() -> None:
    assert "crazycall.commands" in {name.rsplit(".", 1)[0] for name in _imports(PACKAGE / "cli.py")}
    offenders = {_relative(p) for p in (PACKAGE / "commands").glob("*.py") if "crazycall.cli" in _imports(p)}
    assert offenders == set()
    assert _importers("crazycall.cli") <= {"crazycall/__main__.py"}


def test_rich_is_imported_only_under_render() -> None:
    outside = {name for name in _importers("rich") if not name.startswith("crazycall/render/")}
    assert outside == set()


def test_httpx_is_imported_only_by_the_transport() -> None:
    outside = {name for name in _importers("httpx") if not name.startswith("crazycall/transport")}
    assert outside == set()


def _ruff_codes(filename: str, source: str) -> set[str]:
    """The rule codes ruff (with the project's pyproject.toml) reports for ``source`` as if it were ``filename``."""
    ruff = pytest.importorskip("ruff")
    binary = ruff.find_ruff_bin()
    done = subprocess.run(
        [binary, "check", "--no-cache", "--output-format", "concise", "--stdin-filename", filename, "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    return set(re.findall(r":\d+:\d+: ([A-Z]+\d+) ", done.stdout))


PROBE = "def f() -> object:\n    from rich.table import Table\n    import httpx\n\n    return Table, httpx\n"


@pytest.mark.parametrize("place", ["crazycall/commands/probe.py", "crazycall/smoke/probe.py", "crazycall/probe.py"])
def test_ruff_bans_rich_and_httpx_outside_their_homes(place: str) -> None:
    assert "TID251" in _ruff_codes(place, PROBE)


@pytest.mark.parametrize(
    ("place", "source"),
    [
        ("crazycall/render/probe.py", "def f() -> object:\n    from rich.table import Table\n\n    return Table\n"),
        ("crazycall/transport_probe.py", "def f() -> object:\n    import httpx\n\n    return httpx\n"),
    ],
)
def test_ruff_allows_rich_in_render_and_httpx_in_the_transport(place: str, source: str) -> None:
    assert "TID251" not in _ruff_codes(place, source)


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_only_redact_spells_the_mask() -> None:
    from crazycall.redact import MASK

    spelled = {_relative(p) for p in PACKAGE.rglob("*.py") if any(MASK in s for s in _string_constants(p))}
    assert spelled == {"crazycall/redact.py"}


def test_urls_are_masked_through_redact_not_the_url_pattern_alone() -> None:
    callers = {
        _relative(path)
        for path in PACKAGE.rglob("*.py")
        if any(
            isinstance(node, ast.Name | ast.Attribute)
            and "mask_url_credentials" in (getattr(node, "id", None), getattr(node, "attr", None))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    }
    assert callers <= {"crazycall/redact.py"}


def test_key_hint_shows_a_long_keys_prefix_only() -> None:
    from crazycall.redact import key_hint

    assert key_hint("sk-test-0123456789abcdef") == "sk-***"
    assert key_hint("short-key") == "***"
    assert key_hint(None) is None and key_hint("") is None

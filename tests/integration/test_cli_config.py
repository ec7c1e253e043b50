"""`crazycall config show`: effective settings, the key masked, and where each value came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import cli as run

KEY = "sk-test-0123456789abcdefXYZ"


def config_file(clean_env: Path) -> Path:
    return clean_env / "config" / "crazycall" / "config.yaml"


def test_defaults(clean_env: Path) -> None:
    code, out, err = run("config", "show", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "config_file": str(config_file(clean_env)),
        "config_file_exists": False,
        "settings": {
            "api_key": {"value": None, "source": "default"},
            "base_url": {"value": "https://crazyrouter.com", "source": "default"},
            "model": {"value": "gpt-5.4", "source": "default"},
            "routes": {"value": {}, "source": "default"},
            "timeout": {"value": None, "source": "default"},
            "max_turns": {"value": 10, "source": "default"},
            "max_tokens": {"value": None, "source": "default"},
            "max_retries": {"value": 2, "source": "default"},
            "tool_timeout": {"value": 60.0, "source": "default"},
            "result_limit": {"value": 65536, "source": "default"},
            "max_response_bytes": {"value": 32 * 1024 * 1024, "source": "default"},
            "max_event_bytes": {"value": 8 * 1024 * 1024, "source": "default"},
            "max_stream_bytes": {"value": 256 * 1024 * 1024, "source": "default"},
            "max_error_bytes": {"value": 1024 * 1024, "source": "default"},
            "max_transcript_record_bytes": {"value": 1024 * 1024, "source": "default"},
            "prices": {"value": {}, "source": "default"},
            "max_cost": {"value": None, "source": "default"},
            "max_tokens_total": {"value": None, "source": "default"},
        },
    }


def test_sources_env_over_config_file_and_the_key_masked(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config_file(clean_env)
    path.parent.mkdir(parents=True)
    path.write_text(f"api_key: {KEY}\nmodel: claude-x\nmax_turns: 4\nroutes:\n  'my-*': messages\n", encoding="utf-8")
    monkeypatch.setenv("CRAZYCALL_MODEL", "gemini-y")
    code, out, err = run("config", "show", "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["config_file_exists"] is True
    from_file = f"config {path}"
    assert report["settings"]["api_key"] == {"value": "sk-***", "source": from_file}
    assert report["settings"]["model"] == {"value": "gemini-y", "source": "env CRAZYCALL_MODEL"}
    assert report["settings"]["max_turns"] == {"value": 4, "source": from_file}
    assert report["settings"]["routes"] == {"value": {"my-*": "messages"}, "source": from_file}
    assert report["settings"]["base_url"] == {"value": "https://crazyrouter.com", "source": "default"}
    assert KEY not in out and KEY[3:12] not in out


def test_table(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAZYROUTER_API_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "200")
    path = config_file(clean_env)
    path.parent.mkdir(parents=True)
    path.write_text("routes:\n  'gpt-[45]*': chat\n", encoding="utf-8")
    code, out, err = run("config", "show")
    assert (code, err) == (0, "")
    rows = {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in line.split("│")] for line in out.splitlines() if "│" in line)
    }
    assert rows == {
        "api_key": ["sk-***", "env CRAZYROUTER_API_KEY"],
        "base_url": ["https://crazyrouter.com", "default"],
        "model": ["gpt-5.4", "default"],
        "routes": ['{"gpt-[45]*": "chat"}', f"config {path}"],
        "timeout": ["(not set)", "default"],
        "max_turns": ["10", "default"],
        "max_tokens": ["(not set)", "default"],
        "max_retries": ["2", "default"],
        "tool_timeout": ["60.0", "default"],
        "result_limit": ["65536", "default"],
        "max_response_bytes": ["33554432", "default"],
        "max_event_bytes": ["8388608", "default"],
        "max_stream_bytes": ["268435456", "default"],
        "max_error_bytes": ["1048576", "default"],
        "max_transcript_record_bytes": ["1048576", "default"],
        "prices": ["(none)", "default"],
        "max_cost": ["(not set)", "default"],
        "max_tokens_total": ["(not set)", "default"],
    }
    assert out.splitlines()[-1] == f"config file: {path}"
    assert KEY not in out


def test_a_bad_config_file_is_one_line_and_exit_3(clean_env: Path) -> None:
    path = config_file(clean_env)
    path.parent.mkdir(parents=True)
    path.write_text("modle: x\n", encoding="utf-8")
    code, out, err = run("config", "show")
    assert (code, out) == (3, "")
    assert err == (
        f"crazycall: error: {path}:1: unknown setting 'modle' (did you mean 'model'?); "
        "known: api_key, base_url, model, routes, timeout, "
        "max_turns, max_tokens, max_retries, tool_timeout, result_limit, max_response_bytes, max_event_bytes, "
        "max_stream_bytes, max_error_bytes, max_transcript_record_bytes, prices, max_cost, max_tokens_total\n"
    )

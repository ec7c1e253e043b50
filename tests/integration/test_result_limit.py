"""The config file's result_limit truncates what the model receives from a tool (with a marker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.offline.server import OfflineRouter

PLUGIN = '''
import crazycall


@crazycall.tool
def big_report(topic: str) -> str:
    """Return a long report about a topic."""
    return "x" * 500
'''


def test_config_result_limit_truncates_the_result_sent_to_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "report.py").write_text(PLUGIN, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("result_limit: 100\n", encoding="utf-8")
    monkeypatch.setenv("CRAZYCALL_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    with OfflineRouter(api_key="k") as router:
        args = ["ask", "--base-url", router.url, "--api-key", "k", "--json", "--no-stream", "Write the big report"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["tool_calls"][0]["name"] == "big_report"
        sent = router.requests[1].body["messages"][-1]
    assert sent["role"] == "tool"
    assert sent["content"] == "x" * 100 + "\n[truncated: 400 more characters of 500 were cut]"

"""Settings precedence (flag > env > config > default), config-file errors, and secret redaction."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crazycall.errors import ConfigError, ProviderError, TransportError
from crazycall.redact import _PATTERNS, needs_redaction, redact, remember
from crazycall.settings import load_settings


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return {"CRAZYCALL_CONFIG": str(path)}


def test_defaults() -> None:
    s = load_settings(env={})
    assert (s.api_key, s.base_url, s.model) == (None, "https://crazyrouter.com", "gpt-5.4")
    assert s.sources["model"] == "default"


def test_precedence_flag_env_config(tmp_path: Path) -> None:
    env = write_config(tmp_path, "model: from-config\nbase_url: http://config\napi_key: sk-config-123456\n")
    env["CRAZYCALL_MODEL"] = "from-env"
    s = load_settings(model=None, env=env)
    assert s.model == "from-env" and s.sources["model"] == "env CRAZYCALL_MODEL"
    assert s.base_url == "http://config" and s.sources["base_url"].startswith("config ")
    assert s.api_key == "sk-config-123456"
    s = load_settings(model="from-flag", env=env)
    assert s.model == "from-flag" and s.sources["model"] == "flag"
    assert s.redacted()["api_key"] == "sk-***"


def test_config_errors_name_the_file_and_line(tmp_path: Path) -> None:
    env = write_config(tmp_path, "model: a\nroutes: [unclosed\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:\d+:\d+: invalid YAML"):
        load_settings(env=env)
    env = write_config(tmp_path, "modle: gpt\n")
    with pytest.raises(ConfigError, match="unknown setting 'modle'"):
        load_settings(env=env)
    env = write_config(tmp_path, "max_turns: many\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:1: setting 'max_turns' must be a whole number"):
        load_settings(env=env)


def test_routes_from_config(tmp_path: Path) -> None:
    env = write_config(tmp_path, "routes:\n  'my-*': messages\n")
    assert load_settings(env=env).routes == {"my-*": "messages"}


def test_known_key_is_masked_everywhere() -> None:
    load_settings(api_key="sk-very-secret-value-42", env={})
    assert redact("failed with sk-very-secret-value-42 in it") == "failed with *** in it"
    err = TransportError("GET https://x/v1beta/models/g:generateContent?key=AIzaUNKNOWN&alt=sse failed")
    assert "AIzaUNKNOWN" not in str(err)
    assert "key=***" in str(err)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdefghijkl",
        "x-api-key: zzzzzzzzzzzzz",
        '{"api_key": "qqqqqqqqqqqq"}',
        "https://h/p?alt=sse&key=kkkkkkkkkk",
    ],
)
def test_key_shaped_values_are_masked(text: str) -> None:
    out = redact(text)
    assert "***" in out
    for secret in ("abcdefghijkl", "zzzzzzzzzzzzz", "qqqqqqqqqqqq", "kkkkkkkkkk"):
        assert secret not in out


def test_provider_error_is_one_line_with_all_parts() -> None:
    err = ProviderError(
        "Rate limit\nreached",
        protocol="chat",
        endpoint="/v1/chat/completions",
        status=429,
        error_type="rate_limit_exceeded",
        request_id="req_1",
    )
    assert str(err) == (
        "chat /v1/chat/completions: HTTP 429 rate_limit_exceeded: Rate limit reached (request id req_1)"
    )
    assert err.exit_code == 4


def test_error_codes_that_end_in_api_key_are_not_mistaken_for_a_key() -> None:
    text = "invalid_api_key: Incorrect API key provided."
    assert redact(text) == text


def _patterns_only(text: str) -> str:
    """redact without its quick pre-test: every pattern, always."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


def test_the_quick_pre_test_is_sound_for_every_code_point() -> None:
    # redact skips its patterns when the lower-cased text holds neither "key" nor "bearer"; that is only right
    # if every character re's IGNORECASE takes for one of their letters lower-cases to that very letter.
    letters = re.compile("(?i)[keybar]")
    odd = [c for c in map(chr, range(sys.maxunicode + 1)) if letters.fullmatch(c) and c.lower() not in "keybar"]
    assert odd == []
    assert redact("?\u212aEY=zzzzzzzz&") == "?\u212aEY=***&"  # the Kelvin sign: IGNORECASE takes it for k


@given(
    st.lists(
        st.sampled_from(["key", "KeY", "\u212aey", "bearer ", "BEARER\t", "api_", "x-api-", "=", ":", "?", "&", '"']),
        max_size=8,
    ).map("".join),
    st.text(alphabet="aZ09 _-.\n\u00e9\u212a", max_size=12),
)
def test_redact_is_the_patterns_whatever_the_pre_test_says(words: str, tail: str) -> None:
    text = words + tail + "abcdefgh"
    assert redact(text) == _patterns_only(text)


def test_needs_redaction_answers_for_each_line_of_a_batch() -> None:
    remember("sk-batch-secret-1")
    lines = ['{"a": 1}', '{"token": "Bearer abcdefgh"}', '{"b": "sk-batch-secret-1"}', '{"c": "plain"}']
    assert not needs_redaction("\n".join([lines[0], lines[3]]))
    for line in lines[1:3]:
        assert needs_redaction(line) and needs_redaction("\n".join(lines))
        assert redact(line) != line

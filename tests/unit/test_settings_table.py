"""Each setting is described once (``settings.SETTINGS``); the tables, ``Settings`` and ``ask``'s flags follow it."""

from __future__ import annotations

import dataclasses

import pytest
import typer.main

from crazycall.settings import CONFIG_KEYS, DEFAULTS, FLAGS, NUMBER_RANGES, SETTINGS, Settings, load_settings


def test_settings_fields_are_the_tables_names_in_its_order() -> None:
    fields = [f.name for f in dataclasses.fields(Settings) if f.name not in ("config_path", "sources")]
    assert fields == [s.name for s in SETTINGS]
    assert list(load_settings(env={}).redacted()) == fields  # config show lists them in that order


def test_the_derived_tables_come_from_the_one_table() -> None:
    assert list(CONFIG_KEYS) == [s.name for s in SETTINGS]
    assert {s.name: s.flag for s in SETTINGS if s.flag} == FLAGS
    assert {s.name: s.range for s in SETTINGS if s.range} == NUMBER_RANGES
    assert {s.name: s.default for s in SETTINGS if s.default is not None} == DEFAULTS


def test_every_setting_flag_is_an_ask_option_named_like_its_setting() -> None:
    from crazycall.cli import get_app

    command = typer.main.get_command(get_app())
    ask = command.commands["ask"]  # type: ignore[attr-defined]
    options = {param.name: param.opts for param in ask.params}
    for name, flag in FLAGS.items():
        assert flag in options.get(name, []), (name, flag)


def test_load_settings_takes_the_flags_as_a_mapping_and_refuses_unknown_names() -> None:
    settings = load_settings({"model": "m-1", "max_turns": 4, "timeout": None}, env={})
    assert (settings.model, settings.max_turns, settings.timeout) == ("m-1", 4, None)
    assert (settings.sources["model"], settings.sources["timeout"]) == ("flag", "default")
    with pytest.raises(TypeError, match="no setting flag named result_limit"):
        load_settings({"result_limit": 5}, env={})

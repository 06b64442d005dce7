"""Plugins are real distributions found through entry points, not registry patches."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from digitzoo import build_model, list_models, model_info, plugins
from digitzoo_cli.main import cli

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture
def plugin_path(monkeypatch):
    """Put plugin distributions (code and dist-info) on sys.path; forget them afterwards."""

    def add(folder: str) -> None:
        monkeypatch.syspath_prepend(str(PLUGINS / folder))
        plugins._forget_plugins()

    yield add
    plugins._forget_plugins()
    for module in [m for m in sys.modules if m.startswith("zoo_")]:
        del sys.modules[module]


def test_builtins_register_through_the_entry_point():
    assert {"tiny", "mlp", "mlp-dropout", "mlp-l2", "overfit", "lenet5", "cnn"} <= set(list_models())
    assert all(model_info(name).source == "built-in" for name in list_models())


def test_plugin_model_is_listed_with_its_distribution(plugin_path):
    plugin_path("good")
    assert "softmax" in list_models()
    spec = model_info("softmax")
    assert spec.source == "zoo-extra"
    model = build_model("softmax")
    assert model.count_params() == spec.params


def test_broken_plugins_are_skipped_by_name_and_the_rest_works(plugin_path, caplog):
    plugin_path("broken")
    plugin_path("good")
    with caplog.at_level(logging.WARNING, logger="digitzoo"):
        names = list_models()
    assert "softmax" in names
    assert "clash-ok" not in names  # registered before the clash, rolled back with it
    assert model_info("mlp").source == "built-in"
    failures = {f.entry_point: f for f in plugins.plugin_failures()}
    assert set(failures) == {"broken", "clash"}
    assert "ModuleNotFoundError" in failures["broken"].error
    assert "already registered" in failures["clash"].error
    assert "skipped plugin 'broken' from zoo-broken" in caplog.text
    assert "skipped plugin 'clash' from zoo-clash" in caplog.text


def test_cli_lists_plugin_models_and_warns_on_stderr(plugin_path):
    plugin_path("broken")
    plugin_path("good")
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    assert '"source": "zoo-extra"' in result.stdout
    assert "skipped plugin 'broken'" in result.stderr


def test_plugins_load_once(plugin_path, monkeypatch):
    plugin_path("good")
    list_models()
    calls = []
    monkeypatch.setattr(plugins, "entry_points", lambda **kw: calls.append(kw) or [])
    list_models()
    model_info("softmax")
    assert calls == []

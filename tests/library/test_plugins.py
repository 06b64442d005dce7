"""Plugins are real distributions found through entry points, not registry patches."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from digitzoo import build_model, list_models, model_info, plugins
from digitzoo.errors import ModelError
from digitzoo_cli.main import cli

from helpers import PLUGINS



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


def test_a_plugin_function_is_handed_register_and_a_failure_rolls_its_models_back(plugin_path):
    plugin_path("callable")
    names = list_models()
    assert "softmax-fn" in names and model_info("softmax-fn").source == "zoo-fn"
    assert "half-one" not in names  # registered before the function raised: removed with it
    failures = {f.entry_point: f.error for f in plugins.plugin_failures()}
    assert failures == {"half": "RuntimeError: gave up half-way"}
    assert build_model("softmax-fn").count_params() == 7850


def test_broken_plugins_are_skipped_by_name_and_the_rest_works(plugin_path, caplog):
    plugin_path("broken")
    plugin_path("good")
    with caplog.at_level(logging.WARNING, logger="digitzoo"):
        names = list_models()
    assert "softmax" in names
    assert "clash-ok" not in names  # registered before the clash, rolled back with it
    assert model_info("mlp").source == "built-in"
    failures = {f.entry_point: f for f in plugins.plugin_failures()}
    assert set(failures) == {"broken", "clash", "exit", "missing"}
    assert failures["broken"].error == "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'"
    assert "already registered" in failures["clash"].error
    assert failures["exit"].error == "SystemExit: zoo-exit gives up"
    assert failures["missing"].error.startswith("AttributeError: ")
    assert "register_models" in failures["missing"].error
    assert "skipped plugin 'broken' from zoo-broken" in caplog.text
    assert "skipped plugin 'clash' from zoo-clash" in caplog.text
    assert "skipped plugin 'exit' from zoo-exit: SystemExit: zoo-exit gives up" in caplog.text


def test_cli_lists_plugin_models_and_warns_on_stderr(plugin_path):
    plugin_path("broken")
    plugin_path("good")
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    assert {"zoo-extra", "built-in"} == {model["source"] for model in json.loads(result.stdout)}
    warnings = result.stderr.splitlines()
    assert len(warnings) == 4, result.stderr  # one line per skipped plugin, sys.exit() included
    assert all(line.startswith("digitzoo: skipped plugin ") for line in warnings)
    assert "skipped plugin 'exit' from zoo-exit" in result.stderr


def test_ctrl_c_while_a_plugin_loads_is_not_swallowed(plugin_path):
    plugin_path("interrupt")
    with pytest.raises(KeyboardInterrupt):
        list_models()
    with pytest.raises(KeyboardInterrupt):  # not marked as tried: the next use tries it again
        list_models()
    assert plugins._failures == []


def test_a_plugin_may_read_the_zoo_while_it_is_imported():
    # A child process, so that a deadlock, should it come back, fails this test, not the suite.
    code = "from digitzoo import model_info as m; s = m('mlp-reuse'); print(s.source, s.recipe == m('mlp').recipe)"
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(PLUGINS / "reentrant"), os.environ.get("PYTHONPATH", "")])}
    try:
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("loading a plugin that calls model_info() at import hung")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["zoo-reuse", "True"]


def test_what_a_plugin_prints_goes_to_stderr(plugin_path, capsys):
    plugin_path("noisy")
    result = CliRunner().invoke(cli, ["models", "--json", "noisy"])
    assert result.exit_code == 0, result.output
    assert [model["name"] for model in json.loads(result.stdout)] == ["noisy"]
    assert "zoo-noisy: imported" in result.stderr
    capsys.readouterr()
    build_model("noisy")
    printed = capsys.readouterr()
    assert printed.out == "" and "Total params" in printed.err  # the builder's model.summary()


def test_a_plugin_as_the_readme_writes_it_lists_its_models_without_importing_tensorflow():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS / "good"), os.environ.get("PYTHONPATH", "")])}
    code = "import sys; from digitzoo import list_models; print(list_models('soft*'), 'tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "['softmax'] False\n", "")


@pytest.mark.slow
def test_a_plugin_that_imports_keras_at_module_level_leaves_tensorflows_start_up_lines_out():
    """zoo-noisy imports keras, and so TensorFlow, when it loads; only its own print reaches stderr."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS / "noisy"), os.environ.get("PYTHONPATH", "")])}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the library's own quiet import, not the CLI's setting, must do it
    code = "from digitzoo import list_models; print(list_models('noisy')); import tensorflow as tf; tf.constant(1)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['noisy']\n"
    assert done.stderr == "zoo-noisy: imported\n"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("raises", r": its builder raised ValueError: no weights for you$"),
        ("exits", r": its builder raised SystemExit: 2$"),
        ("not-a-model", r": its builder returned str, not a keras.Model$"),
        ("three-classes", r" has output of shape \(3,\), expected \(10,\): one per digit$"),
        ("channels", r" takes input of shape \(28, 28, 1\), expected \(28, 28\)$"),
        ("raw-scores", r" outputs scores from .* per image, not probabilities: end it with a softmax"),
        ("sigmoid", r" outputs scores from .* per image, not probabilities: end it with a softmax"),
    ],
)
def test_faulty_builders_fail_their_own_model_by_name(plugin_path, name, message):
    plugin_path("faulty")
    plugin_path("good")
    with pytest.raises(ModelError, match=rf"^model '{name}' \(from zoo-faulty\){message}") as error:
        build_model(name, compile=False)
    assert "\n" not in str(error.value)
    assert build_model("softmax").count_params() == model_info("softmax").params  # other models unaffected


def test_cli_train_refuses_a_model_of_raw_scores_in_one_line(plugin_path, mnist_npz):
    plugin_path("faulty")
    result = CliRunner().invoke(cli, ["train", "raw-scores", "--data", str(mnist_npz), "--epochs", "1", "--quiet"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: model 'raw-scores' (from zoo-faulty) outputs scores from ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_plugins_load_once(plugin_path, monkeypatch):
    plugin_path("good")
    list_models()
    calls = []
    monkeypatch.setattr(plugins, "entry_points", lambda **kw: calls.append(kw) or [])
    list_models()
    model_info("softmax")
    assert calls == []

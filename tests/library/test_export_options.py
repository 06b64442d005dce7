"""``digitzoo export NAME [training options]``: the model trained with those options, never the shipped one."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from digitzoo.data import load_mnist
from digitzoo.errors import DigitzooError
from digitzoo.export import ExportError, default_path, export_model, load_exported, resolve_model
from digitzoo.inference import predict_proba
from digitzoo.registry import build_model
from digitzoo.zoo import resolve
from digitzoo_cli.main import cli

pytest.importorskip("onnxruntime", reason='onnxruntime is in the export extra: pip install "digitzoo[export]"')
pytest.importorskip("tf2onnx", reason='tf2onnx is in the export extra: pip install "digitzoo[export]"')

TINY_RUN = {"train_size": 600, "epochs": 1, "seed": 3}
TINY_ARGS = ["--train-size", "600", "--epochs", "1", "--seed", "3"]


@pytest.mark.slow
def test_export_with_training_options_trains_then_reuses_exactly_that_model(mnist_npz, monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITZOO_DATA", str(mnist_npz))
    out = tmp_path / "mlp.onnx"
    base = ["export", "mlp", "--format", "onnx", "-o", str(out), *TINY_ARGS]
    args = [*base, "--json"]

    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["source"] == "trained"
    origin = report["origin"]
    assert (origin["seed"], origin["train_size"], origin["recipe"]["epochs"]) == (3, 600, 1)
    assert origin["given"] == {"train_size": 600, "epochs": 1, "seed": 3}

    # The model exported is the one the cache now holds for these options, not the shipped mlp.
    found = resolve("mlp", **TINY_RUN)
    assert found.source == "cached" and found.file == origin["file"] is not None
    images = load_mnist(mnist_npz)[1][0][:300]
    exported = load_exported(out)(images)  # with the model's temperature baked in
    np.testing.assert_allclose(exported, predict_proba(found.calibrated(), images), atol=1e-4, rtol=0)
    own = tmp_path / "own.onnx"
    plain = CliRunner().invoke(cli, ["export", "mlp", "--format", "onnx", "-o", str(own), *TINY_ARGS, "--uncalibrated"])
    assert plain.exit_code == 0, plain.output
    np.testing.assert_allclose(load_exported(own)(images), predict_proba(found.model, images), atol=1e-4, rtol=0)
    assert np.abs(load_exported(own)(images) - exported).max() > 1e-3
    shipped = predict_proba(build_model("mlp", weights="mnist"), images)
    assert np.abs(exported - shipped).max() > 0.1  # one epoch on 600 digits is far from the shipped mlp

    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["source"] == "cached"
    np.testing.assert_allclose(load_exported(out)(images), exported, atol=1e-6, rtol=0)

    text = CliRunner().invoke(cli, base)
    assert text.exit_code == 0, text.output
    line = "model  mlp: your trained model from the cache, sgd lr 0.05, batch 256, 1 epoch on 600 images, seed 3"
    assert line in text.output


@pytest.fixture
def nothing_cached(monkeypatch):
    """The resolver with an empty cache and no real training: each step it takes is recorded."""
    from digitzoo import zoo

    calls: list[tuple[str, dict]] = []
    model = object()

    def fake_cached(cache, plan, load, given):
        calls.append(("cached", given))
        return None

    def fake_trained(name, given, callbacks, cache):
        calls.append(("trained", given))
        return zoo.ModelSource(
            name=name, model=model, source="trained", recipe={"epochs": given.get("epochs") or 30},
            seed=given.get("seed", 0), train_size=given.get("train_size") or 60000, test_accuracy=0.5,
            file="x.keras", given=given,
        )

    # The plan is what train would be asked for; a named data file is not read here.
    monkeypatch.setattr(zoo, "plan_training", lambda name, **kwargs: SimpleNamespace(name=name, **kwargs))
    monkeypatch.setattr(zoo, "_cached", fake_cached)
    monkeypatch.setattr(zoo, "_trained", fake_trained)
    monkeypatch.setattr(zoo, "load_pretrained", lambda *a, **k: pytest.fail("the shipped weights were used"))
    return calls


@pytest.mark.parametrize(
    "option",
    [{"seed": 0}, {"seed": 3}, {"epochs": 1}, {"train_size": 600}, {"batch_size": 32}, {"learning_rate": 0.1},
     {"retrain": True}, {"options": {"width": 8}}, {"data": "mnist.npz"}],
)
def test_any_training_option_keeps_the_shipped_weights_out(option, nothing_cached):
    chosen = resolve_model("mlp", **option)
    assert chosen.source == "trained" and chosen.given == option
    steps = [step for step, _ in nothing_cached]
    assert steps == (["trained"] if "retrain" in option else ["cached", "trained"])  # retrain skips the cache
    assert all(given == option for _, given in nothing_cached)


def test_without_options_the_shipped_weights_come_before_a_training(monkeypatch, nothing_cached):
    from digitzoo import zoo

    shipped = object()
    monkeypatch.setattr(zoo, "load_pretrained", lambda name, runtime: shipped)
    chosen = resolve_model("mlp", epochs=None, retrain=False, options={})  # nothing given
    assert (chosen.model, chosen.source, chosen.given) == (shipped, "pretrained", {})
    assert [step for step, _ in nothing_cached] == ["cached"]


def test_the_cli_passes_only_the_options_typed(monkeypatch, tmp_path):
    seen = []

    def fake_resolve(name, **kwargs):
        seen.append(kwargs)
        raise DigitzooError("stop here")  # not NoModelError, which would send the command on to train

    monkeypatch.setattr("digitzoo.zoo.resolve", fake_resolve)
    out = tmp_path / "m.onnx"
    CliRunner().invoke(cli, ["export", "mlp", "--format", "onnx", "-o", str(out)])
    CliRunner().invoke(cli, ["export", "mlp", "--format", "onnx", "-o", str(out), "--seed", "0", "--retrain"])
    assert seen[0] == {}  # the default seed 0 is not a request
    assert seen[1] == {"seed": 0, "retrain": True}  # typed, it is
    assert len(seen) == 2


def test_no_cached_model_for_the_options_is_an_export_error_without_training(homes):
    with pytest.raises(ExportError) as excinfo:
        resolve_model("tiny", train_if_needed=False, epochs=2, seed=5)
    assert str(excinfo.value) == "model tiny has no cached model trained with epochs=2, seed=5"


def test_training_options_belong_to_a_zoo_name_not_to_a_model(tmp_path):
    with pytest.raises(ExportError) as excinfo:
        export_model(build_model("tiny"), tmp_path / "t.onnx", format="onnx", epochs=2)
    assert str(excinfo.value) == "training options apply to a zoo name, not to a model: epochs"
    with pytest.raises(TypeError, match="unexpected training option"):
        resolve_model("tiny", epoch=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "Error: Invalid value for '--epochs': 0 is not in the range x>=1."),
        (["--seed", "-1"], "Error: Invalid value for '--seed': -1 is not in the range 0<=x<=4294967295."),
        (["--seed", "4294967296"], "Error: Invalid value for '--seed': 4294967296 is not in the range 0<=x<=4294967295."),
        (["--train-size", "0"], "Error: Invalid value for '--train-size': 0 is not in the range 1<=x<=60000."),
        (["--batch-size", "0"], "Error: Invalid value for '--batch-size': 0 is not in the range x>=1."),
        (["--learning-rate", "nan"], "Error: Invalid value for '--learning-rate': must be a finite number, got nan"),
        (["--learning-rate", "0"], "Error: Invalid value for '--learning-rate': 0.0 is not in the range x>0."),
    ],
)
def test_bad_training_options_are_refused_before_any_work(args, message, monkeypatch, tmp_path):
    monkeypatch.setattr("digitzoo.zoo.resolve", lambda *a, **k: pytest.fail("work started"))
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(cli, ["export", "mlp", "--format", "onnx", "-o", str(out), *args])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message
    assert not out.exists()


def test_the_default_file_name_carries_the_training_options():
    assert default_path("cnn", "onnx") == Path("cnn.onnx")
    assert default_path("cnn", "onnx", options={"seed": 3, "epochs": 5}) == Path("cnn-epochs5-seed3.onnx")
    assert default_path("cnn", "tflite", "int8", {"learning_rate": 0.001, "retrain": True}) == Path(
        "cnn-learning-rate0.001-int8.tflite"
    )
    assert default_path("mlp", "savedmodel", options={"seed": 0, "data": "/x.npz"}) == Path("mlp-seed0-savedmodel")

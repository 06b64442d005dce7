"""Export round trips: each file, run by its own runtime, answers as the Keras model does."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from digitzoo.errors import ModelError
from digitzoo.export import (
    FORMATS,
    INPUT_CONTRACT,
    ExportError,
    accuracy,
    default_path,
    export_model,
    load_exported,
    read_contract,
    resolve_model,
)
from digitzoo.inference import predict_proba
from digitzoo.registry import build_model

pytest.importorskip("onnxruntime", reason='onnxruntime is in the export extra: pip install "digitzoo[export]"')
pytest.importorskip("tf2onnx", reason='tf2onnx is in the export extra: pip install "digitzoo[export]"')


def _same_answers(exported: np.ndarray, keras: np.ndarray) -> None:
    assert exported.shape == keras.shape == (len(keras), 10)
    assert exported.dtype == np.float32
    assert np.mean(exported.argmax(1) == keras.argmax(1)) >= 0.999
    np.testing.assert_allclose(exported, keras, atol=1e-4, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("format", FORMATS)
def test_an_exported_model_answers_as_keras_in_its_own_runtime(format, trained_mlp, small_mnist, tmp_path):
    _, (images, _) = small_mnist
    path = export_model(trained_mlp.model, tmp_path / default_path("mlp", format), format=format)

    assert path.is_dir() == (format == "savedmodel")
    _same_answers(load_exported(path)(images), predict_proba(trained_mlp.model, images))
    assert {k: read_contract(path)[k] for k in INPUT_CONTRACT} == json.loads(json.dumps(INPUT_CONTRACT))


@pytest.mark.slow
@pytest.mark.parametrize("format", FORMATS)
def test_a_calibrated_model_exports_with_its_temperature(format, trained_mlp, small_mnist, tmp_path):
    from digitzoo.calibration import Calibrated

    _, (images, _) = small_mnist
    calibrated = Calibrated(trained_mlp.model, 0.6)
    path = export_model(calibrated, tmp_path / default_path("mlp", format), format=format)
    exported = load_exported(path)(images)
    _same_answers(exported, predict_proba(calibrated, images))
    assert exported.max(axis=1).mean() > predict_proba(trained_mlp.model, images).max(axis=1).mean()  # sharper


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnn", "cnn-best"])
@pytest.mark.parametrize("format", ["tflite", "onnx"])
def test_convolutions_export_in_inference_mode(name, format, small_mnist, tmp_path):
    # cnn-best's random augmentation layers must be left out: with them the answers would differ.
    _, (images, _) = small_mnist
    model = build_model(name)
    path = export_model(model, tmp_path / default_path(name, format), format=format)
    _same_answers(load_exported(path)(images[:200]), predict_proba(model, images[:200]))


@pytest.mark.slow
def test_int8_tflite_keeps_the_accuracy_of_the_float_model(trained_mlp, small_mnist, tmp_path):
    (train_images, _), (images, labels) = small_mnist
    float_file = export_model(trained_mlp.model, tmp_path / "mlp.tflite", format="tflite")
    int8_file = export_model(
        trained_mlp.model, tmp_path / "mlp-int8.tflite", format="tflite", quantize="int8", representative=train_images[:300]
    )

    float_accuracy = accuracy(lambda x: predict_proba(trained_mlp.model, x), images, labels)
    assert float_accuracy > 0.8  # a model that learnt something, or the comparison says nothing
    assert abs(accuracy(load_exported(int8_file), images, labels) - float_accuracy) <= 0.005
    assert int8_file.stat().st_size < float_file.stat().st_size / 3
    assert read_contract(int8_file)["quantization"] == "int8"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "keras"}, "unknown export format 'keras'; choose one of savedmodel, tflite, onnx"),
        ({"format": "onnx", "quantize": "int8"}, "quantization applies to the tflite format only, not onnx"),
        ({"format": "tflite", "quantize": "int4"}, "unknown quantization 'int4'; choose one of int8"),
    ],
)
def test_bad_export_arguments_are_refused_before_any_work(kwargs, message, tmp_path):
    with pytest.raises(ExportError) as excinfo:
        export_model(object(), tmp_path / "x", **kwargs)
    assert str(excinfo.value) == message
    assert list(tmp_path.iterdir()) == []


def test_a_model_without_the_zoo_contract_is_refused(tmp_path):
    import keras

    inputs = keras.Input((32, 32))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ModelError) as excinfo:
        export_model(model, tmp_path / "x.onnx", format="onnx")
    assert str(excinfo.value) == (
        "only models taking 28×28 pixels and giving 10 probabilities can be exported, "
        "got input (None, 32, 32) and output (None, 10)"
    )


def test_a_model_with_neither_cache_nor_weights_is_not_trained_when_told_not_to(homes):
    with pytest.raises(ExportError, match="model tiny has neither a cached trained model nor shipped weights"):
        resolve_model("tiny", train_if_needed=False)


def test_a_missing_converter_names_the_extra_that_brings_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # an import of it now fails as if not installed
    with pytest.raises(ExportError) as excinfo:
        export_model(build_model("tiny"), tmp_path / "tiny.onnx", format="onnx")
    assert str(excinfo.value) == (
        "tf2onnx is needed for this export but is not installed; "
        'install the export extra: pip install "digitzoo[export]"'
    )
    assert list(tmp_path.iterdir()) == []


def test_the_users_trained_model_comes_before_the_shipped_weights(monkeypatch):
    from digitzoo import zoo
    from digitzoo.weights import weights_info

    trained, shipped = object(), object()

    def source(kind):
        return zoo.ModelSource(name="cnn", model=trained, source=kind, recipe={"epochs": 3}, seed=0,
                               train_size=60000, test_accuracy=0.99, file="m.keras")

    monkeypatch.setattr(zoo, "load_pretrained", lambda name, runtime: shipped)
    monkeypatch.setattr(zoo, "_cached", lambda cache, plan, load, given: source("cached"))
    monkeypatch.setattr(zoo, "_trained", lambda name, given, callbacks, cache: source("trained"))
    assert (resolve_model("cnn").model, resolve_model("cnn").source) == (trained, "cached")

    monkeypatch.setattr(zoo, "_cached", lambda cache, plan, load, given: None)
    chosen = resolve_model("cnn")
    # The shipped weights trained on the 58 000 images left after the held-out 2 000.
    assert (chosen.model, chosen.source, chosen.seed, chosen.train_size) == (shipped, "pretrained", 0, 58000)
    assert chosen.recipe == weights_info("cnn").recipe and chosen.file == str(weights_info("cnn").path)

    monkeypatch.setattr(zoo, "shipped", lambda: {})
    assert (resolve_model("cnn").model, resolve_model("cnn").source) == (trained, "trained")

"""The LiteRT runtime of the shipped weights: the same answers as Keras, without TensorFlow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from digitzoo import litert
from digitzoo.calibration import Calibrated, apply_temperature
from digitzoo.data import load_mnist
from digitzoo.errors import DigitzooError, ModelError
from digitzoo.image.synthetic import synthetic_photos
from digitzoo.inference import Predictor, predict_proba
from digitzoo.litert import LiteModel
from digitzoo.predict import load_model, predict_digits
from digitzoo.weights import MANIFEST_NAME, WEIGHTS_DIR, best_pretrained, load_pretrained, shipped

from helpers import ROOT

SHIPPED = shipped()
SEVEN = ROOT / "assets" / "digits" / "seven.jpg"


@pytest.fixture(scope="module")
def test_digits(mnist_npz):
    _, (x_test, y_test) = load_mnist(mnist_npz)
    return x_test[:1000], y_test[:1000]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_litert_gives_the_keras_answers(name, test_digits):
    x, _ = test_digits
    lite, keras = load_pretrained(name, runtime="litert"), load_pretrained(name)
    ours, theirs = lite(x), predict_proba(keras, x)
    assert ours.shape == (1000, 10) and ours.dtype == np.float32
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))
    assert np.abs(ours - theirs).max() <= 1e-4


@pytest.mark.slow
def test_litert_reads_photos_as_keras_does(test_digits):
    x, y = test_digits
    photos = [photo.image for photo in synthetic_photos(x, y, 20, seed=3)] + [SEVEN]
    lite = predict_digits(photos, model=load_model())
    keras = predict_digits(photos, model=load_model(runtime="keras"))
    assert [p.digits for p in lite] == [p.digits for p in keras]
    assert max(abs(a.confidence - b.confidence) for a, b in zip(lite, keras)) <= 1e-4
    assert lite[-1].digits == "7"


def _runs_on_litert(model) -> bool:
    return isinstance(model, Calibrated) and isinstance(model.model, LiteModel)


def test_default_model_is_the_best_shipped_one_through_litert():
    model = load_model()
    assert _runs_on_litert(model) and model.name == best_pretrained() == "cnn-best-ensemble"
    assert _runs_on_litert(load_model("cnn"))  # shipped, and the user trained none
    assert isinstance(load_model(calibrated=False), LiteModel)
    keras = load_model(runtime="keras")
    assert isinstance(keras, Calibrated) and not isinstance(keras.model, LiteModel)
    with pytest.raises(DigitzooError, match="^runtime must be 'auto' or 'keras', got 'onnx'$"):
        load_model(runtime="onnx")


def test_without_litert_the_keras_model_is_used(monkeypatch):
    monkeypatch.setattr(litert, "available", lambda: False)
    model = load_model(calibrated=False)
    assert not isinstance(model, LiteModel) and model.count_params() > 0


def test_predict_on_a_fresh_install_never_imports_tensorflow(tmp_path):
    # A fresh interpreter: this test process has TensorFlow loaded already.
    script = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from digitzoo_cli.main import cli\n"
        f"result = CliRunner().invoke(cli, ['predict', {str(SEVEN)!r}, '--json'])\n"
        "print(json.dumps([result.exit_code, result.output, 'tensorflow' in sys.modules]))\n"
    )
    env = {"DIGITZOO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    code, output, tensorflow = json.loads(done.stdout)
    assert code == 0, output
    assert json.loads(output)[0]["digits"] == "7"
    assert not tensorflow
    assert "XNNPACK" not in done.stderr  # LiteRT's start-up line is filtered


def test_predictor_batches_a_lite_model():
    model = load_model()
    images = np.random.default_rng(0).integers(0, 256, (2500, 28, 28), dtype=np.uint8)
    whole = Predictor(model, batch_size=1000)(images)
    assert whole.shape == (2500, 10)
    assert np.allclose(whole[1234], model(images[1234:1235])[0], atol=1e-6)
    own = model.model(images[:1000])  # calibrated: the lite model's own probabilities, rescaled
    assert np.allclose(whole[:1000], apply_temperature(own, model.temperature), atol=1e-6)
    assert np.abs(whole[:1000] - own).max() > 1e-2
    assert Predictor(model)(images[0]).shape == (10,)
    with pytest.raises(DigitzooError, match=r"^images must have shape \(N, 28, 28\) or \(28, 28\), got \(3, 27, 28\)$"):
        Predictor(model)(images[:3, :27])


@pytest.mark.parametrize("calibrated", [True, False])
def test_lite_model_refuses_wrong_images(calibrated):
    model = load_model(calibrated=calibrated)
    assert model(np.zeros((0, 28, 28))).shape == (0, 10)
    with pytest.raises(ModelError, match=r"^images must have shape \(N, 28, 28\), got \(28, 28\)$"):
        model(np.zeros((28, 28)))


def _copy(tmp_path, name):
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(WEIGHTS_DIR / MANIFEST_NAME, folder)
    shutil.copy(SHIPPED[name].litert_path, folder)
    return folder


def test_a_damaged_litert_file_is_one_clear_error(tmp_path):
    folder = _copy(tmp_path, "cnn")
    path = folder / "cnn.tflite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"^the installed weights of 'cnn' are damaged \(cnn\.tflite: sha256 .*; reinstall digitzoo$"):
        load_pretrained("cnn", folder=folder, runtime="litert")
    path.unlink()
    with pytest.raises(ModelError, match=r"^the installed weights of 'cnn' are missing \(.*cnn\.tflite: .*\); reinstall"):
        load_pretrained("cnn", folder=folder, runtime="litert")


def test_a_manifest_without_litert_files_still_loads_keras(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    manifest = json.loads((WEIGHTS_DIR / MANIFEST_NAME).read_text())
    for entry in manifest["models"].values():
        del entry["litert"]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    shutil.copy(SHIPPED["cnn"].path, folder)
    assert shipped(folder)["cnn"].litert is None
    with pytest.raises(ModelError, match="^model 'cnn' ships no LiteRT file; reinstall digitzoo$"):
        load_pretrained("cnn", folder=folder, runtime="litert")
    assert load_pretrained("cnn", folder=folder).count_params() > 0
    with pytest.raises(ModelError, match="^runtime must be one of keras, litert, got 'tf'$"):
        load_pretrained("cnn", folder=folder, runtime="tf")


def test_files_that_are_not_zoo_litert_models_are_refused(tmp_path):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(SHIPPED["cnn"].litert_path.read_bytes()[:5000])
    with pytest.raises(ModelError, match=r"broken\.tflite: cannot load the LiteRT model"):
        LiteModel(broken)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(ModelError, match=r"junk\.tflite: cannot load the LiteRT model"):
        LiteModel(junk)


@pytest.mark.slow
def test_a_litert_file_with_another_contract_is_refused(tmp_path):
    import keras

    from digitzoo.export import _tflite_bytes

    inputs = keras.Input((28, 28), name="pixels")
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs))
    path = tmp_path / "three.tflite"
    path.write_bytes(_tflite_bytes(keras.Model(inputs, outputs), None, None))
    with pytest.raises(ModelError, match=r"must map 'pixels' \(N, 28, 28\) to 'probabilities' \(N, 10\), got \(28, 28\) to \(3,\)$"):
        LiteModel(path)


def test_calls_from_threads_take_turns():
    from concurrent.futures import ThreadPoolExecutor

    model = load_model()
    images = np.random.default_rng(1).integers(0, 256, (8, 50, 28, 28)).astype(np.float32)
    expected = [model(batch) for batch in images]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(model, images))
    assert all(np.array_equal(a, b) for a, b in zip(results, expected))

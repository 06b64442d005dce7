"""The pretrained weights shipped in digitzoo/weights/: the files match their manifest and score what it says."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from digitzoo import build_model, list_models, model_info
from digitzoo.data import MNIST_FINGERPRINT, load_mnist
from digitzoo.errors import DigitzooError, ModelError
from digitzoo.files import sha256_file
from digitzoo.inference import predict_proba
from digitzoo.weights import (
    MANIFEST_NAME,
    WEIGHTS_DIR,
    WEIGHTS_TAG,
    best_pretrained,
    load_pretrained,
    shipped,
    weights_info,
)
from digitzoo_cli.main import cli

SHIPPED = shipped()
REQUIRED = {"mlp", "cnn", "cnn-best"}


def test_the_required_models_ship_and_the_set_stays_small():
    assert REQUIRED <= set(SHIPPED)
    files = [f for f in WEIGHTS_DIR.iterdir() if f.suffix in (".keras", ".tflite", ".json")]
    ensembles = [f for f in files if f.stem in SHIPPED and SHIPPED[f.stem].members > 1]
    assert sum(f.stat().st_size for f in files if f not in ensembles) <= 5_000_000
    assert sum(f.stat().st_size for f in ensembles) <= 2_000_000  # the ensemble's own budget
    assert sorted(f.name for f in files) == sorted(
        [MANIFEST_NAME] + [i.file for i in SHIPPED.values()] + [i.litert["file"] for i in SHIPPED.values()]
    )
    assert list_models(pretrained=True) == sorted(SHIPPED)
    assert set(list_models(pretrained=True)) < set(list_models())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_manifest_matches_the_file(name):
    info = SHIPPED[name]
    assert info.path.parent == WEIGHTS_DIR and info.file == f"{name}.keras"
    assert info.path.stat().st_size == info.size
    assert sha256_file(info.path) == info.sha256
    assert info.data == MNIST_FINGERPRINT and info.seed == 0
    assert info.recipe == model_info(name).recipe.to_dict()  # the default recipe, unchanged
    assert info.command == f"python tools/make_weights.py {name}"
    assert {"digitzoo", "keras", "tensorflow", "numpy"} <= set(info.versions)
    assert 0.9 < info.test_accuracy <= info.train_accuracy <= 1 and info.train_seconds > 0
    assert info.litert["file"] == f"{name}.tflite" and info.litert_path.stat().st_size == info.litert["size"]
    assert sha256_file(info.litert_path) == info.litert["sha256"]


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_file_holds_weights_but_no_optimizer_state(name):
    # Four bytes per parameter plus the archive's config: Adam's two moments would triple it.
    assert SHIPPED[name].size < 4 * model_info(name).params + 100_000
    with zipfile.ZipFile(SHIPPED[name].path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert not json.loads(archive.read("config.json"))["compile_config"]
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            assert "optimizer" not in weights and "layers" in weights


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_pretrained_model_scores_its_manifest_accuracy(name, mnist_npz):
    _, (x_test, y_test) = load_mnist(mnist_npz)
    model = build_model(name, weights="mnist")
    assert model.optimizer is not None  # compiled with its recipe, ready to fine-tune
    accuracy = float(np.mean(predict_proba(model, x_test).argmax(axis=1) == y_test))
    assert accuracy == pytest.approx(SHIPPED[name].test_accuracy, abs=1e-4)


def test_best_pretrained_is_the_most_accurate():
    best = best_pretrained()
    assert SHIPPED[best].test_accuracy == max(info.test_accuracy for info in SHIPPED.values())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_manifest_counts_an_ensembles_members(name):
    ensemble = model_info(name).ensemble
    assert SHIPPED[name].members == (ensemble.size if ensemble else 1)


def _copy_weights(tmp_path, *names):
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(WEIGHTS_DIR / MANIFEST_NAME, folder)
    for name in names:
        shutil.copy(SHIPPED[name].path, folder)
    return folder


@pytest.fixture
def keras_never_loads(monkeypatch):
    import keras

    def refuse(*args, **kwargs):
        raise AssertionError("Keras was asked to read the file")

    monkeypatch.setattr(keras.saving, "load_model", refuse)


def test_a_copy_of_the_weights_loads(tmp_path):
    folder = _copy_weights(tmp_path, "cnn")
    model = load_pretrained("cnn", folder=folder)
    assert model.count_params() == model_info("cnn").params and getattr(model, "optimizer", None) is None


@pytest.mark.slow
def test_the_tool_that_makes_the_weights_remakes_a_litert_file(tmp_path):
    folder = _copy_weights(tmp_path, "cnn")
    assert not (folder / "cnn.tflite").exists()
    tool = WEIGHTS_DIR.parent.parent / "tools" / "make_weights.py"
    made = subprocess.run([sys.executable, str(tool), "cnn", "--litert-only", "--out", str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    entry = json.loads((folder / MANIFEST_NAME).read_text())["models"]["cnn"]
    assert entry["litert"]["sha256"] == sha256_file(folder / "cnn.tflite")


def test_damaged_weights_are_one_clear_error_before_keras(tmp_path, keras_never_loads):
    folder = _copy_weights(tmp_path, "cnn")
    data = bytearray((folder / "cnn.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "cnn.keras").write_bytes(bytes(data))
    digest = sha256_file(folder / "cnn.keras")
    with pytest.raises(ModelError) as error:
        load_pretrained("cnn", folder=folder)
    assert str(error.value) == (
        f"the installed weights of 'cnn' are damaged (cnn.keras: sha256 {digest[:12]}…, "
        f"expected {SHIPPED['cnn'].sha256[:12]}…); reinstall digitzoo"
    )


def _replace_weights(folder, name, data: bytes) -> None:
    """Put ``data`` in place of ``name``'s file and vouch for it in the manifest, as a bad release would."""
    (folder / SHIPPED[name].file).write_bytes(data)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["models"][name].update(sha256=sha256_file(folder / SHIPPED[name].file), size=len(data))
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_shipped_weights_of_raw_scores_are_refused_as_any_model_file_is(tmp_path):
    import keras

    folder = _copy_weights(tmp_path, "cnn")
    inputs = keras.Input(model_info("cnn").input_shape)
    raw = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))  # no softmax
    raw.save(tmp_path / "raw.keras")
    _replace_weights(folder, "cnn", (tmp_path / "raw.keras").read_bytes())
    with pytest.raises(ModelError, match="model 'cnn' outputs scores from .* not probabilities"):
        load_pretrained("cnn", folder=folder)


def test_shipped_weights_that_are_no_complete_archive_say_so(tmp_path):
    folder = _copy_weights(tmp_path, "cnn")
    _replace_weights(folder, "cnn", SHIPPED["cnn"].path.read_bytes()[:1000])
    problem = r"^the installed weights of 'cnn' cannot be loaded \(.*cnn\.keras: is truncated or damaged, .*\); reinstall digitzoo$"
    with pytest.raises(ModelError, match=problem):
        load_pretrained("cnn", folder=folder)


def test_missing_weights_are_one_clear_error(tmp_path, keras_never_loads):
    folder = _copy_weights(tmp_path)
    with pytest.raises(ModelError, match=r"^the installed weights of 'cnn' are missing \(.*cnn\.keras: .*\); reinstall digitzoo$"):
        load_pretrained("cnn", folder=folder)


def test_damaged_manifest_is_one_clear_error(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / MANIFEST_NAME).write_text('{"format": 1, "weights": "mnist", "models": {"cnn": {"file": "cnn.keras"}}}')
    with pytest.raises(ModelError, match=r"^the weights manifest .* is damaged \('sha256'\); reinstall digitzoo$"):
        shipped(folder)


def test_no_manifest_means_no_weights(tmp_path):
    assert shipped(tmp_path) == {}
    with pytest.raises(ModelError, match=r"^no pretrained weights are installed; reinstall digitzoo$"):
        best_pretrained(tmp_path)
    with pytest.raises(ModelError, match=r"^model 'cnn' has no pretrained weights; models with weights: none"):
        weights_info("cnn", tmp_path)


def test_build_model_refuses_weights_it_does_not_have():
    have = ", ".join(sorted(SHIPPED))
    with pytest.raises(ModelError, match=rf"^model 'tiny' has no pretrained weights; models with weights: {have}$"):
        build_model("tiny", weights=WEIGHTS_TAG)
    with pytest.raises(DigitzooError, match=r"^weights must be None \(untrained\) or 'mnist', got 'imagenet'$"):
        build_model("cnn", weights="imagenet")
    with pytest.raises(DigitzooError, match=r"takes no builder option \(width\)"):
        build_model("mlp", weights="mnist", width=3)


def test_model_info_says_which_weights_ship():
    assert model_info("tiny").pretrained is None and model_info("tiny").to_dict()["pretrained"] is None
    entry = model_info("cnn").to_dict()["pretrained"]
    assert entry["weights"] == "mnist" and entry["test_accuracy"] == SHIPPED["cnn"].test_accuracy
    assert entry["sha256"] == SHIPPED["cnn"].sha256


def test_models_command_shows_the_shipped_accuracy():
    runner = CliRunner()
    result = runner.invoke(cli, ["models"], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 2}
    assert "shipped file" in result.stdout
    assert f"{SHIPPED['cnn'].test_accuracy:.2%}" in lines["cnn"]
    assert "—" in lines["tiny"]
    listed = {m["name"]: m for m in json.loads(runner.invoke(cli, ["models", "--json"]).stdout)}
    assert listed["mlp"]["pretrained"]["test_accuracy"] == SHIPPED["mlp"].test_accuracy
    assert listed["tiny"]["pretrained"] is None


def test_listing_pretrained_models_imports_no_keras():
    code = "import sys; from digitzoo import list_models; list_models(pretrained=True); print('keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

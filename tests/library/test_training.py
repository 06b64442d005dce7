"""Real training on small stratified subsets of the real MNIST."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from digitzoo import CacheError, DataError, DigitzooError
from digitzoo.cache import ModelCache
from digitzoo.training import TrainResult, compare, load_trained, train

pytestmark = pytest.mark.slow  # nearly every test here trains a model


@pytest.fixture
def cache(tmp_path):
    return ModelCache(tmp_path / "models")


def test_mlp_learns_well_above_chance(small_mnist, cache):
    result = train("mlp", epochs=8, data=small_mnist, cache=cache)
    assert result.test_accuracy > 0.85  # chance is 0.10
    assert result.train_size == 3000 and result.test_size == 1000
    assert len(result.history["loss"]) == 8
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_training_is_seeded(small_mnist, cache):
    first = train("tiny", epochs=1, data=small_mnist, use_cache=False)
    second = train("tiny", epochs=1, data=small_mnist, use_cache=False)
    other = train("tiny", epochs=1, seed=1, data=small_mnist, use_cache=False)
    assert first.train_loss == pytest.approx(second.train_loss, rel=1e-5)
    assert first.train_loss != pytest.approx(other.train_loss, rel=1e-5)


def test_cache_reuses_a_model_and_retrain_replaces_it(small_mnist, cache):
    trained = train("tiny", epochs=2, data=small_mnist, cache=cache)
    assert not trained.reused
    model_path, meta_path = cache.paths("tiny", trained.key)
    meta = json.loads(meta_path.read_text())
    assert meta["sha256"] and meta["versions"]["keras"] and meta["seed"] == 0
    assert meta["recipe"]["epochs"] == 2 and len(meta["history"]["loss"]) == 2

    again = train("tiny", epochs=2, data=small_mnist, cache=cache)
    assert again.reused and again.test_accuracy == trained.test_accuracy
    pixels = small_mnist[1][0][:16].astype("float32")
    np.testing.assert_allclose(again.model.predict(pixels, verbose=0), trained.model.predict(pixels, verbose=0), atol=1e-6)

    assert not train("tiny", epochs=3, data=small_mnist, cache=cache).reused  # another recipe
    assert not train("tiny", epochs=2, seed=5, data=small_mnist, cache=cache).reused  # another seed
    assert not train("tiny", epochs=2, data=small_mnist, cache=cache, retrain=True).reused
    assert not list(cache.root.glob("*.tmp"))


def test_tampered_cache_file_is_detected(small_mnist, cache):
    trained = train("tiny", epochs=1, data=small_mnist, cache=cache)
    model_path, _ = cache.paths("tiny", trained.key)
    data = bytearray(model_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="does not match the sha256 recorded.*retraining replaces it"):
        train("tiny", epochs=1, data=small_mnist, cache=cache)
    assert train("tiny", epochs=1, data=small_mnist, cache=cache, retrain=True).model is not None
    assert train("tiny", epochs=1, data=small_mnist, cache=cache).reused


def test_train_result_round_trips_through_json(small_mnist, cache):
    result = train("tiny", epochs=1, data=small_mnist, cache=cache)
    copy = TrainResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert copy.diagnosis == result.diagnosis and copy.gap == pytest.approx(result.gap)


def test_load_trained_returns_a_working_model(small_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITZOO_HOME", str(tmp_path))
    model = load_trained("tiny", epochs=1, data=small_mnist)
    assert model.predict(small_mnist[1][0][:2].astype("float32"), verbose=0).shape == (2, 10)
    assert (tmp_path / "models").is_dir()


def test_bad_arguments_are_digitzoo_errors(small_mnist, cache):
    with pytest.raises(DigitzooError, match="epochs must be a whole number >= 1"):
        train("tiny", epochs=0, data=small_mnist, cache=cache)
    with pytest.raises(DigitzooError, match="larger than the 3000 training images"):
        train("tiny", train_size=5000, data=small_mnist, cache=cache)
    with pytest.raises(DigitzooError, match="must be \\(N, 28, 28\\)"):
        train("tiny", data=((np.zeros((3, 5)), np.zeros(3)), small_mnist[1]), cache=cache)
    with pytest.raises(DigitzooError, match="seed must be"):
        train("tiny", seed=-1, data=small_mnist, cache=cache)
    for seed in (2**32, 2**40):  # NumPy's global generator, which Keras seeds, takes 32 bits
        with pytest.raises(DigitzooError, match="seed must be a whole number from 0 to 4294967295"):
            train("tiny", seed=seed, data=small_mnist, cache=cache)


def test_a_wrong_data_path_is_an_error_even_when_the_model_is_cached(mnist_npz, tmp_path, monkeypatch):
    cache = ModelCache(tmp_path / "models")
    first = train("tiny", epochs=1, train_size=500, data=mnist_npz, cache=cache)
    assert train("tiny", epochs=1, train_size=500, data=mnist_npz, cache=cache).key == first.key
    assert train("tiny", epochs=1, train_size=500, cache=cache).reused  # the same data found in the cache
    with pytest.raises(DataError, match="nope.npz"):
        train("tiny", epochs=1, train_size=500, data=tmp_path / "nope.npz", cache=cache)
    monkeypatch.setenv("DIGITZOO_DATA", str(tmp_path / "nope.npz"))
    with pytest.raises(DataError, match="nope.npz"):
        train("tiny", epochs=1, train_size=500, cache=cache)


# A tiny run for the tests that only need one cached model.
_TINY = {"epochs": 1, "train_size": 500}


@pytest.fixture(scope="module")
def cached_tiny(small_mnist, tmp_path_factory):
    """A cache holding ``tiny`` trained with _TINY on small_mnist: one training for many lookups.

    Not the shared ``trained_mlp``: these tests ask the cache whether exactly this request is found,
    so they need a cache entry of their own (and tiny for one epoch takes about a second).
    """
    cache = ModelCache(tmp_path_factory.mktemp("cached") / "models")
    train("tiny", data=small_mnist, cache=cache, **_TINY)
    return cache


def _in_cache(cache, **request) -> bool:
    """Whether the zoo finds ``tiny`` trained so in ``cache``, without training or loading it."""
    from digitzoo.zoo import cached

    return cached("tiny", cache=cache, **request) is not None


def _is_cached(small_mnist, cache) -> bool:
    return _in_cache(cache, data=small_mnist, **_TINY)


@pytest.mark.parametrize(
    "piece",
    [
        "digitzoo.models.mlp",  # the builder's module
        "digitzoo.models._layers",  # the input rescaling it imports
        "digitzoo.recipe",  # compile_model
        "digitzoo.training",  # the training loop
        "stratified_subset",  # which images a train_size picks
    ],
)
def test_editing_code_that_decides_the_weights_trains_anew(piece, small_mnist, cached_tiny, monkeypatch):
    from digitzoo import provenance

    assert _is_cached(small_mnist, cached_tiny)
    source = provenance._source
    monkeypatch.setattr(provenance, "_source", lambda obj: source(obj) + ("\n# edited" if obj.__name__ == piece else ""))
    assert not _is_cached(small_mnist, cached_tiny)


@pytest.mark.parametrize("package", ["keras", "tensorflow", "numpy"])
def test_a_new_version_of_a_library_that_trains_trains_anew(package, small_mnist, cached_tiny, monkeypatch):
    from digitzoo import provenance

    assert _is_cached(small_mnist, cached_tiny)
    version = provenance._version
    monkeypatch.setattr(provenance, "_version", lambda name: "99.0" if name == package else version(name))
    assert not _is_cached(small_mnist, cached_tiny)


def test_code_that_does_not_build_the_model_keeps_its_cache(small_mnist, cached_tiny, monkeypatch):
    from digitzoo import provenance

    source = provenance._source
    edited = "digitzoo.models.cnn"
    monkeypatch.setattr(provenance, "_source", lambda obj: source(obj) + ("\n# edited" if obj.__name__ == edited else ""))
    assert _is_cached(small_mnist, cached_tiny)  # tiny is built without cnn.py


def test_the_fingerprint_reads_the_real_sources_and_follows_imports(tmp_path, monkeypatch):
    import sys
    from pathlib import Path

    from digitzoo.provenance import _model_modules, _source

    mlp = sys.modules["digitzoo.models.mlp"]
    assert _source(mlp) == Path(mlp.__file__).read_text(encoding="utf-8")
    assert [m.__name__ for m in _model_modules(mlp)] == ["digitzoo.models._layers"]
    # A plugin outside digitzoo that imports a shared piece inside its builder.
    (tmp_path / "zoo_plugin_a1.py").write_text(
        "def build():\n    from digitzoo.models._layers import pixels_input\n    return pixels_input()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import zoo_plugin_a1

    assert [m.__name__ for m in _model_modules(zoo_plugin_a1)] == ["digitzoo.models._layers"]


def test_a_reused_model_is_compiled_as_a_new_one_is(small_mnist, cache):
    new = train("tiny", data=small_mnist, cache=cache, **_TINY)
    reused = train("tiny", data=small_mnist, cache=cache, **_TINY)
    assert reused.reused and not new.reused
    images, labels = small_mnist[1]
    one_hot = np.eye(10, dtype="uint8")[labels]
    for result in (new, reused):
        loss, accuracy = result.model.evaluate(images, one_hot, batch_size=1024, verbose=0)
        assert loss == pytest.approx(new.test_loss, rel=1e-5) and accuracy == pytest.approx(new.test_accuracy)
    assert type(reused.model.optimizer) is type(new.model.optimizer)
    assert float(reused.model.optimizer.learning_rate) == pytest.approx(float(new.model.optimizer.learning_rate))


def test_recipe_fields_in_options_change_the_recipe(small_mnist, cache):
    result = train("tiny", options={"hidden": 8, "epochs": 1, "train_size": 500}, data=small_mnist, cache=cache)
    assert result.epochs == 1 and len(result.history["loss"]) == 1 and result.train_size == 500
    assert result.options == {"hidden": 8} and result.params == 784 * 8 + 8 + 8 * 10 + 10
    # The same run asked for with arguments is the same cached model.
    same = train("tiny", epochs=1, train_size=500, options={"hidden": 8}, data=small_mnist, cache=cache, load=False)
    assert same.reused and same.key == result.key
    with pytest.raises(DigitzooError, match="epochs is given twice, as 2 and in options as 1; give it once"):
        train("tiny", epochs=2, options={"epochs": 1}, data=small_mnist, cache=cache)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hiden": 8}, "model 'tiny' has no option hiden"),
        ({"hidden": float("nan")}, "options must be finite numbers"),
        ({"epochs": 0}, "epochs must be a whole number >= 1, got 0"),
    ],
)
def test_bad_options_are_refused_before_any_data_is_needed(homes, options, message):
    # homes: no MNIST anywhere and no network, so reaching for the data would fail otherwise.
    with pytest.raises(DigitzooError, match=message):
        train("tiny", options=options)


@pytest.mark.parametrize("rate", [float("inf"), float("nan"), -1.0, True])
def test_a_learning_rate_that_is_no_finite_positive_number_is_refused(small_mnist, cache, rate):
    with pytest.raises(DigitzooError, match=f"learning_rate must be a positive number, not NaN or infinity, got {rate!r}"):
        train("tiny", learning_rate=rate, data=small_mnist, cache=cache)
    assert not cache.root.exists()


def test_a_run_whose_loss_becomes_nan_is_an_error_and_is_not_cached(small_mnist, cache):
    # A finite but absurd rate blows the weights up to inf within the first epoch.
    with pytest.raises(DigitzooError, match=r"training 'tiny' diverged: .* in epoch 1 of 3, so nothing was cached"):
        train("tiny", epochs=3, train_size=500, learning_rate=1e30, data=small_mnist, cache=cache)
    assert not list(cache.root.glob("*.json")) and not list(cache.root.glob("*.keras"))


def _training_starts(recorded: list[str]):
    import keras

    return keras.callbacks.LambdaCallback(on_train_begin=lambda logs: recorded.append("trained"))


def test_a_home_that_is_a_file_fails_before_training(small_mnist, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("DIGITZOO_HOME", str(home))
    started: list[str] = []
    with pytest.raises(CacheError, match=f"cannot save trained models in {home / 'models'}: .*DIGITZOO_HOME") as error:
        train("tiny", data=small_mnist, callbacks=[_training_starts(started)], **_TINY)
    assert error.value.remedy == "home" and started == []
    assert home.read_text() == "not a folder"


def test_a_read_only_home_fails_before_training(small_mnist, tmp_path, monkeypatch, read_only_folder):
    home = tmp_path / "home"
    read_only_folder(home / "models")
    monkeypatch.setenv("DIGITZOO_HOME", str(home))
    started: list[str] = []
    with pytest.raises(CacheError, match="cannot save trained models in .*: (Permission denied|Read-only)") as error:
        train("tiny", data=small_mnist, callbacks=[_training_starts(started)], **_TINY)
    assert error.value.remedy == "home" and started == []
    assert list((home / "models").iterdir()) == []


def test_a_cached_model_is_reused_from_a_read_only_cache(small_mnist, cached_tiny, monkeypatch):
    from digitzoo import training

    def unwritable(cache=None):
        raise AssertionError("a reused model needs no writable cache")

    monkeypatch.setattr(training, "check_cache_writable", unwritable)
    assert train("tiny", data=small_mnist, cache=cached_tiny, **_TINY).reused


def test_the_same_bytes_read_as_other_pixel_values_are_other_data(small_mnist, cached_tiny):
    (x, y), (xt, yt) = small_mnist
    as_int8 = ((x.view(np.int8), y), (xt.view(np.int8), yt))  # 200 becomes -56: other images
    assert not _in_cache(cached_tiny, data=as_int8, **_TINY)
    assert _is_cached(small_mnist, cached_tiny)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (lambda y: np.where(y == 9, 10, y), "train labels must be whole numbers 0-9"),
        (lambda y: y.astype("float32"), "train labels must be whole numbers 0-9"),
    ],
)
def test_labels_must_be_digits(small_mnist, cache, labels, message):
    (x, y), test = small_mnist
    with pytest.raises(DigitzooError, match=message):
        train("tiny", data=((x, labels(y)), test), cache=cache, **_TINY)


def test_a_run_a_callback_stops_early_is_returned_but_not_cached(small_mnist, cache):
    import keras

    from digitzoo.errors import DigitzooWarning

    class StopAfterOneEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    with pytest.warns(DigitzooWarning, match="'tiny' stopped after 1 of 2 epochs .* not cached"):
        result = train("tiny", epochs=2, train_size=500, data=small_mnist, cache=cache, callbacks=[StopAfterOneEpoch()])
    assert len(result.history["loss"]) == 1 and result.model_path is None
    assert not _in_cache(cache, epochs=2, train_size=500, data=small_mnist)


def test_compare_and_load_trained_take_the_options_train_takes(small_mnist, cache):
    assert compare(["tiny"], data=small_mnist, cache=cache, load=True, **_TINY)[0].model is not None
    assert load_trained("tiny", data=small_mnist, cache=cache, **_TINY) is not None


def test_every_epoch_records_train_and_test_curves_and_the_last_test_point_is_the_result(small_mnist, cache):
    result = train("tiny", epochs=3, train_size=500, data=small_mnist, cache=cache)
    assert sorted(result.history) == ["accuracy", "loss", "test_accuracy", "test_loss"]
    assert all(len(values) == 3 for values in result.history.values())
    assert result.history["test_accuracy"][-1] == result.test_accuracy
    assert result.history["test_loss"][-1] == result.test_loss
    assert result.test_pass_seconds > 0 and result.train_seconds > 0
    reused = train("tiny", epochs=3, train_size=500, data=small_mnist, cache=cache, load=False)
    assert reused.reused and reused.history == result.history  # a cached model has its curves too


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [("train_accuracy", float("inf"), "inf"), ("test_accuracy", float("nan"), "nan"), ("test_accuracy", 1.5, "1.5")],
)
def test_a_cached_run_with_accuracies_out_of_range_is_a_damaged_entry_that_retraining_replaces(
    small_mnist, cache, field, value, shown
):
    trained = train("tiny", data=small_mnist, cache=cache, **_TINY)
    _, meta_path = cache.paths("tiny", trained.key)
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), field: value}))
    for load in (True, False):
        with pytest.raises(CacheError, match=f"'{field}' must be a number from 0 to 1, got {shown}; retraining replaces it"):
            train("tiny", data=small_mnist, cache=cache, load=load, **_TINY)
    again = train("tiny", data=small_mnist, cache=cache, retrain=True, **_TINY)
    assert not again.reused and 0 <= getattr(again, field) <= 1
    assert train("tiny", data=small_mnist, cache=cache, **_TINY).reused


def test_two_runs_of_one_training_at_once_both_return_a_model_path_that_exists(small_mnist, cache, monkeypatch):
    # The other run saves while this one trains: played in order, inside this run's save, so no timing decides it.
    real_save = ModelCache.save
    other: list[TrainResult] = []

    def save_after_the_other_run(self, *args, **kwargs):
        if not other:
            other.append(None)
            other[0] = train("tiny", data=small_mnist, cache=cache, **_TINY)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ModelCache, "save", save_after_the_other_run)
    this = train("tiny", data=small_mnist, cache=cache, **_TINY)
    assert not this.reused and not other[0].reused
    for result in (other[0], this):
        assert os.path.exists(result.model_path), result.model_path
    assert this.model_path == other[0].model_path == str(cache.paths("tiny", this.key)[0])
    assert len(list(cache.root.glob("*.keras"))) == 1
    # retrain replaces the entry, as asked, and reports the file that replaced it.
    retrained = train("tiny", data=small_mnist, cache=cache, retrain=True, **_TINY)
    assert os.path.exists(retrained.model_path) and [str(p) for p in cache.root.glob("*.keras")] == [retrained.model_path]


def test_a_folder_of_the_users_where_the_sidecar_goes_fails_before_training_and_leaves_no_model_file(small_mnist, cache):
    key = train("tiny", data=small_mnist, cache=cache, **_TINY).key
    for path in cache.root.iterdir():
        path.unlink()
    meta_path = cache.root / f"tiny-{key}.json"
    meta_path.mkdir()
    (meta_path / "notes.txt").write_text("mine")
    started: list[str] = []
    for retrain in (False, True):
        with pytest.raises(CacheError, match=f"^{meta_path} is a folder, not a digitzoo sidecar, and not digitzoo's to delete; "):
            train("tiny", data=small_mnist, cache=cache, retrain=retrain, callbacks=[_training_starts(started)], **_TINY)
    assert started == [] and (meta_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in cache.root.iterdir() if not p.name.startswith(".")) == [meta_path.name]

    (meta_path / "notes.txt").unlink()  # an empty folder holds nothing to lose: retraining replaces it
    with pytest.raises(CacheError, match="is an empty folder, not a digitzoo sidecar; retraining replaces it"):
        train("tiny", data=small_mnist, cache=cache, **_TINY)
    retrained = train("tiny", data=small_mnist, cache=cache, retrain=True, **_TINY)
    assert meta_path.is_file() and os.path.exists(retrained.model_path)
    assert train("tiny", data=small_mnist, cache=cache, **_TINY).reused

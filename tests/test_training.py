"""Real training on small stratified subsets of the real MNIST."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitzoo import CacheError, DataError, DigitzooError
from digitzoo.cache import ModelCache
from digitzoo.data import load_mnist, stratified_subset
from digitzoo.training import TrainResult, load_trained, train


@pytest.fixture(scope="module")
def small_mnist(mnist_npz):
    (x, y), (xt, yt) = load_mnist(mnist_npz)
    return stratified_subset(x, y, 3000, seed=1), stratified_subset(xt, yt, 1000, seed=1)


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


def test_editing_a_models_source_changes_its_cache_key():
    import hashlib
    import inspect

    from digitzoo import model_info
    from digitzoo.cache import cache_key
    from digitzoo.training import _builder_hash

    builder = model_info("mlp").builder
    source = inspect.getsourcefile(builder)
    assert _builder_hash(builder) == hashlib.sha256(open(source, encoding="utf-8").read().encode()).hexdigest()
    assert _builder_hash(builder) != _builder_hash(model_info("cnn").builder)
    args = ("mlp", {"epochs": 1}, 0, "data", {})
    assert cache_key(*args, builder="a") != cache_key(*args, builder="b")

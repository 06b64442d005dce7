"""The model cache: matching model/sidecar pairs under concurrency, checked sidecars and models."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from digitzoo import CacheError
from digitzoo.cache import ModelCache
from digitzoo.files import STALE_AFTER
from digitzoo.training import TrainResult

KEY = "0123456789abcdef"


class StandIn:
    """What ``ModelCache.save`` uses of a Keras model, ``save(path)``, writing known bytes fast."""

    def __init__(self, payload: str) -> None:
        self.payload = payload

    def save(self, path: Path) -> None:
        Path(path).write_bytes(self.payload.encode())


def sidecar(**changes) -> dict:
    """The sidecar fields of a real ``TrainResult``; ``tag`` (ignored by it) names the saved payload."""
    result = TrainResult(
        name="tiny", params=7850, recipe={"epochs": 1, "batch_size": 32}, options={}, seed=0,
        train_size=100, test_size=50, train_accuracy=0.5, train_loss=1.5, test_accuracy=0.4,
        test_loss=1.7, train_seconds=0.2, history={"loss": [1.9]}, data="d" * 64,
        versions={"keras": "3"}, saved_at="2025-01-01T00:00:00+00:00", key=KEY,
    )  # fmt: skip
    return {**result.to_dict(), **changes}


def save(cache: ModelCache, payload: str, key: str = KEY) -> dict:
    return cache.save(StandIn(payload), "tiny", key, sidecar(tag=payload))


def visible_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


# --- concurrency (spawned processes: module-level functions) -----------------------------------


def _writer(root: str, writer: int, saves: int, start) -> None:
    cache = ModelCache(root)
    start.wait()
    for i in range(saves):
        save(cache, f"writer {writer} save {i}")


def _reader(root: str, start, stop, results) -> None:
    cache = ModelCache(root)
    reads, problems = 0, []
    start.wait()
    while not stop.is_set():
        try:
            meta = cache.lookup("tiny", KEY)
        except CacheError as exc:
            problems.append(str(exc))
            continue
        reads += 1
        if meta is None:  # an entry was saved before the readers started: it must never vanish
            problems.append("the entry vanished")
            continue
        # lookup checked the file against the sidecar's sha256; the tag must be what that file holds.
        if hashlib.sha256(meta["tag"].encode()).hexdigest() != meta["sha256"]:
            problems.append(f"sidecar of {meta['tag']!r} paired with another model")
    results.put((reads, problems[:3], len(problems)))


@pytest.mark.slow
def test_concurrent_saves_and_reads_always_see_a_matching_pair(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    writers, readers, saves = 3, 2, 40
    start, stop, results = ctx.Barrier(writers + readers), ctx.Event(), ctx.Queue()
    root = str(tmp_path / "models")
    save(ModelCache(root), "before")  # readers find an entry from the start
    reading = [ctx.Process(target=_reader, args=(root, start, stop, results)) for _ in range(readers)]
    writing = [ctx.Process(target=_writer, args=(root, w, saves, start)) for w in range(writers)]
    for process in reading + writing:
        process.start()
    for process in writing:
        process.join(120)
    stop.set()
    outcomes = [results.get(timeout=120) for _ in reading]
    for process in reading:
        process.join(120)

    assert [p.exitcode for p in reading + writing] == [0] * (readers + writers)
    for reads, first_problems, problem_count in outcomes:
        assert problem_count == 0, first_problems
        assert reads > 0
    cache = ModelCache(root)
    meta = cache.lookup("tiny", KEY)
    assert meta["tag"].endswith(f"save {saves - 1}")  # some writer's last save won
    assert hashlib.sha256(meta["tag"].encode()).hexdigest() == meta["sha256"]
    assert visible_files(tmp_path / "models") == sorted([meta["file"], f"tiny-{KEY}.json"])
    assert not list((tmp_path / "models").glob(".*.tmp*"))
    assert cache.paths("tiny", KEY)[0].read_text() == meta["tag"]


# --- saving ----------------------------------------------------------------------------------


def test_a_save_replaces_the_pair_and_removes_the_old_model_file(tmp_path):
    cache = ModelCache(tmp_path)
    first = save(cache, "first")
    second = save(cache, "second")
    assert first["file"] != second["file"]
    assert cache.lookup("tiny", KEY)["tag"] == "second"
    assert cache.paths("tiny", KEY) == (tmp_path / second["file"], tmp_path / f"tiny-{KEY}.json")
    assert visible_files(tmp_path) == sorted([second["file"], f"tiny-{KEY}.json"])


def test_a_failed_save_keeps_the_old_pair_and_leaves_nothing_behind(tmp_path):
    cache = ModelCache(tmp_path)
    kept = save(cache, "kept")
    before = visible_files(tmp_path)
    unwritable = sidecar(tag="new", options={"callback": object()})  # fails as JSON, after the model
    with pytest.raises(TypeError):
        cache.save(StandIn("new"), "tiny", KEY, unwritable)
    assert visible_files(tmp_path) == before
    assert cache.lookup("tiny", KEY) == kept
    assert not list(tmp_path.glob(".*.tmp*"))


def test_what_killed_writers_left_is_removed_by_the_next_save(tmp_path):
    cache = ModelCache(tmp_path)
    save(cache, "other", key="fedcba9876543210")
    # Killed after publishing a model, before its sidecar: a model file no sidecar names.
    orphans = [tmp_path / f"tiny-{KEY}.{'a' * 16}.keras", tmp_path / f"tiny-{'b' * 16}.{'c' * 16}.keras"]
    # Killed while writing: hidden temporaries, one long ago and one (another writer's) just now.
    stale, fresh = tmp_path / f".tiny-{KEY}.keras.x1.tmp.keras", tmp_path / f".tiny-{KEY}.json.x2.tmp.json"
    # An entry whose sidecar is damaged keeps its model until retraining replaces both.
    damaged = [tmp_path / f"tiny-{'d' * 16}.{'e' * 16}.keras", tmp_path / f"tiny-{'d' * 16}.json"]
    for path in [*orphans, stale, fresh, *damaged]:
        path.write_text("x")
    long_ago = stale.stat().st_mtime - STALE_AFTER - 1
    os.utime(stale, (long_ago, long_ago))

    saved = save(cache, "new")

    for path in [*orphans, stale]:
        assert not path.exists(), path
    for path in [fresh, *damaged]:
        assert path.exists(), path
    assert cache.lookup("tiny", KEY) == saved
    assert cache.lookup("tiny", "fedcba9876543210")["tag"] == "other"


class Hanging(StandIn):
    def __init__(self, payload: str, started) -> None:
        super().__init__(payload)
        self.started = started

    def save(self, path: Path) -> None:
        super().save(path)
        self.started.set()
        time.sleep(120)  # killed here


def _save_and_hang(root: str, started) -> None:
    ModelCache(root).save(Hanging("half", started), "tiny", KEY, sidecar(tag="half"))


def test_a_save_killed_midway_keeps_the_old_pair_and_its_leftover_goes_once_stale(tmp_path):
    cache = ModelCache(tmp_path)
    kept = save(cache, "kept")
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    process = ctx.Process(target=_save_and_hang, args=(str(tmp_path), started))
    process.start()
    assert started.wait(120)
    os.kill(process.pid, signal.SIGKILL)
    process.join(120)
    [leftover] = tmp_path.glob(".*.tmp*")
    assert cache.lookup("tiny", KEY) == kept

    save(cache, "fresh leftover kept")  # it could be a save still running elsewhere
    assert leftover.exists()
    long_ago = leftover.stat().st_mtime - STALE_AFTER - 1
    os.utime(leftover, (long_ago, long_ago))
    saved = save(cache, "stale leftover removed")
    assert not leftover.exists()
    assert visible_files(tmp_path) == sorted([saved["file"], f"tiny-{KEY}.json"])


def test_a_save_that_keeps_an_existing_entry_returns_the_path_that_stays(tmp_path):
    # Two runs of the same training at once: the later save keeps what the earlier one reported.
    cache = ModelCache(tmp_path)
    first = cache.save(StandIn("first"), "tiny", KEY, sidecar(tag="first"), keep_existing=True)
    second = cache.save(StandIn("second"), "tiny", KEY, sidecar(tag="second"), keep_existing=True)
    assert second == first and (tmp_path / first["file"]).read_text() == "first"
    assert visible_files(tmp_path) == sorted([first["file"], f"tiny-{KEY}.json"])
    (tmp_path / first["file"]).write_text("changed")  # an entry that fails its sha256 is not kept
    third = cache.save(StandIn("third"), "tiny", KEY, sidecar(tag="third"), keep_existing=True)
    assert third["tag"] == "third" and cache.lookup("tiny", KEY) == third
    assert visible_files(tmp_path) == sorted([third["file"], f"tiny-{KEY}.json"])


def test_a_save_that_cannot_write_its_sidecar_leaves_no_model_file(tmp_path, monkeypatch):
    from digitzoo import cache as cache_module

    cache = ModelCache(tmp_path)
    save(cache, "kept")
    (tmp_path / f"tiny-{KEY}.json").write_text("{damaged")  # no sidecar names any file now
    before = visible_files(tmp_path)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, "atomic_path", full_disk)
    with pytest.raises(CacheError, match=f"^cannot save the model in {tmp_path}: No space left on device$"):
        save(cache, "new")
    assert visible_files(tmp_path) == before
    assert not list(tmp_path.glob(".*.tmp*"))


def test_a_sidecar_path_that_is_an_empty_folder_is_a_damaged_entry_that_a_save_replaces(tmp_path):
    cache = ModelCache(tmp_path)
    meta_path = tmp_path / f"tiny-{KEY}.json"
    meta_path.mkdir()
    for read in (cache.metadata, cache.lookup, cache.load):
        with pytest.raises(CacheError, match=f"^{meta_path} is an empty folder, not a digitzoo sidecar; retraining replaces it$") as caught:
            read("tiny", KEY)
        assert caught.value.remedy == "retrain"
    assert cache.entries() == []
    cache.check_saveable("tiny", KEY)  # no error: the save may replace it
    saved = save(cache, "new")
    assert meta_path.is_file() and cache.lookup("tiny", KEY) == saved
    assert visible_files(tmp_path) == sorted([saved["file"], meta_path.name])


def test_a_folder_of_the_users_where_a_sidecar_goes_is_never_deleted_and_a_save_leaves_nothing(tmp_path):
    cache = ModelCache(tmp_path)
    meta_path = tmp_path / f"tiny-{KEY}.json"
    meta_path.mkdir()
    (meta_path / "notes.txt").write_text("mine")
    message = (
        f"{meta_path} is a folder, not a digitzoo sidecar, and not digitzoo's to delete; "
        f"move it out of {tmp_path} to cache this model"
    )
    for call in (cache.metadata, cache.lookup, cache.load, cache.check_saveable, lambda *entry: save(cache, "new")):
        with pytest.raises(CacheError) as caught:
            call("tiny", KEY)
        assert str(caught.value) == message and caught.value.remedy is None
    assert (meta_path / "notes.txt").read_text() == "mine"
    assert visible_files(tmp_path) == [meta_path.name]  # no model file left behind
    assert not list(tmp_path.glob(".*.tmp*"))


def test_a_named_pipe_where_a_sidecar_goes_is_reported_not_waited_on(tmp_path):
    cache = ModelCache(tmp_path)
    meta_path = tmp_path / f"tiny-{KEY}.json"
    os.mkfifo(meta_path)
    # A writer that opens and closes the pipe, so that a reader blocking on it returns (empty) rather than hangs.
    writer = threading.Thread(target=lambda: open(meta_path, "wb").close(), daemon=True)
    writer.start()
    message = f"{meta_path} is a pipe, not a digitzoo sidecar, and not digitzoo's to delete"
    try:
        for call in (cache.lookup, cache.check_saveable, lambda *entry: save(cache, "new")):
            with pytest.raises(CacheError, match=f"^{message}"):
                call("tiny", KEY)
    finally:
        reader = os.open(meta_path, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer's open return if it still waits
        writer.join()
        os.close(reader)
    assert visible_files(tmp_path) == [meta_path.name]


def test_a_cache_written_before_content_named_files_is_read_and_then_replaced(tmp_path):
    cache = ModelCache(tmp_path)
    legacy = tmp_path / f"tiny-{KEY}.keras"
    legacy.write_text("legacy")
    digest = hashlib.sha256(b"legacy").hexdigest()
    meta_path = tmp_path / f"tiny-{KEY}.json"
    meta_path.write_text(json.dumps(sidecar(tag="legacy", file=legacy.name, sha256=digest)))
    assert cache.lookup("tiny", KEY)["tag"] == "legacy"
    assert cache.paths("tiny", KEY)[0] == legacy
    saved = save(cache, "new")
    assert not legacy.exists() and visible_files(tmp_path) == sorted([saved["file"], meta_path.name])


def test_a_cache_folder_that_cannot_be_made_is_a_cache_error(tmp_path):
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(CacheError, match=r"cannot save the model in .*file/models: ") as caught:
        save(ModelCache(tmp_path / "file" / "models"), "model")
    assert caught.value.remedy == "home"


def test_an_incomplete_sidecar_is_refused_before_saving(tmp_path):
    with pytest.raises(ValueError, match="cannot cache 'tiny': 'params' is missing"):
        ModelCache(tmp_path).save(StandIn("model"), "tiny", KEY, {"name": "tiny"})
    assert list(tmp_path.iterdir()) == []


# --- reading sidecars ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"params": "many"}, "'params' must be a whole number >= 0, got 'many'"),
        ({"params": True}, "'params' must be a whole number >= 0, got True"),
        ({"recipe": {"batch_size": 32}}, "'recipe' must be an object with whole-number epochs >= 1"),
        ({"history": [1.9]}, "'history' must be an object of lists of finite numbers (accuracies from 0 to 1, losses >= 0), got [1.9]"),
        ({"test_accuracy": "0.4"}, "'test_accuracy' must be a number from 0 to 1, got '0.4'"),
        ({"versions": {"keras": 3}}, "'versions' must be an object of strings"),
        ({"model_path": 5}, "'model_path' must be a string or null, got 5"),
        ({"sha256": "abc"}, "'sha256' must be 64 hex digits, got 'abc'"),
        ({"file": "../../elsewhere.keras"}, f"'file' must name a tiny-{KEY}.DIGEST.keras file"),
    ],
)
def test_a_sidecar_of_wrong_types_is_a_corrupt_entry(tmp_path, change, problem):
    cache = ModelCache(tmp_path)
    meta = save(cache, "model")
    meta_path = tmp_path / f"tiny-{KEY}.json"
    meta_path.write_text(json.dumps({**meta, **change}))
    for read in (cache.metadata, cache.lookup, cache.load):
        with pytest.raises(CacheError, match="not a complete digitzoo sidecar") as caught:
            read("tiny", KEY)
        assert problem in str(caught.value) and str(caught.value).endswith("retraining replaces it")
        assert caught.value.remedy == "retrain"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"train_accuracy": float("inf")}, "'train_accuracy' must be a number from 0 to 1, got inf"),
        ({"test_accuracy": float("nan")}, "'test_accuracy' must be a number from 0 to 1, got nan"),
        ({"test_accuracy": 1.5}, "'test_accuracy' must be a number from 0 to 1, got 1.5"),
        ({"train_accuracy": -0.1}, "'train_accuracy' must be a number from 0 to 1, got -0.1"),
        ({"train_loss": -1.0}, "'train_loss' must be a finite number >= 0, got -1.0"),
        ({"test_loss": float("-inf")}, "'test_loss' must be a finite number >= 0, got -inf"),
        ({"train_seconds": float("nan")}, "'train_seconds' must be a finite number >= 0, got nan"),
        ({"train_seconds": 10**400}, "'train_seconds' must be a finite number >= 0"),  # no float holds it
        ({"test_pass_seconds": -2}, "'test_pass_seconds' must be a finite number >= 0, got -2"),
        ({"test_size": -1}, "'test_size' must be a whole number >= 0, got -1"),
        ({"history": {"accuracy": [0.5, 1.5]}}, "'history' must be an object of lists of finite numbers"),
        ({"history": {"test_loss": [float("nan")]}}, "'history' must be an object of lists of finite numbers"),
        ({"history": {"loss": [-0.5]}}, "'history' must be an object of lists of finite numbers"),
        ({"history": {"learning_rate": [float("inf")]}}, "'history' must be an object of lists of finite numbers"),
    ],
)
def test_a_sidecar_with_numbers_out_of_range_is_a_corrupt_entry(tmp_path, change, problem):
    cache = ModelCache(tmp_path)
    meta = save(cache, "model")
    meta_path = tmp_path / f"tiny-{KEY}.json"
    meta_path.write_text(json.dumps({**meta, **change}))  # NaN and Infinity as Python's json writes them
    for read in (cache.metadata, cache.lookup, cache.load):
        with pytest.raises(CacheError, match="not a complete digitzoo sidecar") as caught:
            read("tiny", KEY)
        assert problem in str(caught.value) and str(caught.value).endswith("retraining replaces it")
        assert caught.value.remedy == "retrain"
    assert cache.entries() == []  # skipped in listings, as any damaged entry
    with pytest.raises(ValueError, match=f"cannot cache 'tiny': {problem[:20]}"):
        cache.save(StandIn("new"), "tiny", KEY, {**sidecar(), **change})  # never written either


@pytest.mark.parametrize(
    "field",
    [f.name for f in dataclasses.fields(TrainResult) if f.default is f.default_factory is dataclasses.MISSING],
)
def test_a_sidecar_without_a_field_train_results_need_is_a_corrupt_entry(tmp_path, field):
    cache = ModelCache(tmp_path)
    meta = save(cache, "model")
    del meta[field]
    (tmp_path / f"tiny-{KEY}.json").write_text(json.dumps(meta))
    with pytest.raises(CacheError, match=f"'{field}' is missing; retraining replaces it"):
        cache.lookup("tiny", KEY)


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", ""])
def test_a_sidecar_that_is_not_an_object_is_a_corrupt_entry(tmp_path, text):
    cache = ModelCache(tmp_path)
    save(cache, "model")
    (tmp_path / f"tiny-{KEY}.json").write_text(text)
    with pytest.raises(CacheError, match="retraining replaces it") as caught:
        cache.lookup("tiny", KEY)
    assert caught.value.remedy == "retrain"
    assert cache.paths("tiny", KEY)[0] == tmp_path / f"tiny-{KEY}.keras"  # no file named: the default


def test_entries_lists_valid_sidecars_newest_first_and_skips_the_rest(tmp_path):
    cache = ModelCache(tmp_path)
    cache.save(StandIn("old"), "tiny", KEY, sidecar(tag="old", saved_at="2025-01-01T00:00:00+00:00"))
    cache.save(StandIn("new"), "mlp", KEY, sidecar(tag="new", name="mlp", saved_at="2025-02-01T00:00:00+00:00"))
    broken = save(cache, "broken", key="fedcba9876543210")
    (tmp_path / "tiny-fedcba9876543210.json").write_text(json.dumps({**broken, "seed": None}))
    (tmp_path / ".tiny-0000000000000000.json.x1.tmp.json").write_text(json.dumps(broken))  # a writer's
    (tmp_path / "notes.json").write_text('{"saved_at": "2030"}')
    assert [m["tag"] for m in cache.entries()] == ["new", "old"]


def test_a_deleted_model_file_means_not_cached(tmp_path):
    cache = ModelCache(tmp_path)
    meta = save(cache, "model")
    (tmp_path / meta["file"]).unlink()
    assert cache.metadata("tiny", KEY) is None and cache.lookup("tiny", KEY) is None
    assert cache.load("tiny", KEY) is None


# --- loading Keras models --------------------------------------------------------------------


def keras_model(classes: int = 10, shape: tuple[int, ...] = (28, 28), activation: str | None = "softmax"):
    import keras

    inputs = keras.Input(shape)
    outputs = keras.layers.Dense(classes, activation=activation)(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    ("classes", "shape", "problem"),
    [(3, (28, 28), r"has output of shape \(3,\), expected \(10,\)"), (10, (32, 32), r"takes input of shape \(32, 32\)")],
)
def test_a_cached_model_of_the_wrong_shape_is_refused(tmp_path, classes, shape, problem):
    cache = ModelCache(tmp_path)
    cache.save(keras_model(classes, shape), "tiny", KEY, sidecar())
    with pytest.raises(CacheError, match=f"cached model .* does not fit: .*{problem}.*; retraining replaces it") as caught:
        cache.load("tiny", KEY)
    assert caught.value.remedy == "retrain"


def test_a_cached_model_of_raw_scores_is_refused_as_a_model_file_is(tmp_path):
    # Its sidecar's sha256 matches the file: only the check every loader shares can catch it.
    cache = ModelCache(tmp_path)
    cache.save(keras_model(activation=None), "tiny", KEY, sidecar())
    with pytest.raises(
        CacheError, match="cached model .* does not fit: model 'tiny' outputs scores from .* not probabilities.*; retraining replaces it"
    ) as caught:
        cache.load("tiny", KEY)
    assert caught.value.remedy == "retrain"
    cache.save(keras_model(), "tiny", KEY, sidecar())
    assert cache.load("tiny", KEY) is not None


def test_a_cached_file_that_is_no_complete_archive_says_so(tmp_path):
    cache = ModelCache(tmp_path)
    meta = cache.save(keras_model(), "tiny", KEY, sidecar())
    model_file = tmp_path / meta["file"]
    model_file.write_bytes(model_file.read_bytes()[:1000])  # cut short, and its sha256 recorded again
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    (tmp_path / f"tiny-{KEY}.json").write_text(json.dumps({**meta, "sha256": digest}))
    problem = f"^cannot load the cached model {model_file}: is truncated or damaged, .*; retraining replaces it$"
    with pytest.raises(CacheError, match=problem):
        cache.load("tiny", KEY)


def test_a_load_that_loses_its_file_to_a_new_save_loads_the_new_pair(tmp_path, monkeypatch):
    import keras
    import numpy as np

    cache = ModelCache(tmp_path)
    old, new = keras_model(), keras_model()
    cache.save(old, "tiny", KEY, sidecar(tag="old"))
    real_load = keras.saving.load_model
    saved_meanwhile = []

    def load_after_a_save_elsewhere(path, **kwargs):
        if not saved_meanwhile:  # another process saves between the sha256 check and the load
            saved_meanwhile.append(cache.save(new, "tiny", KEY, sidecar(tag="new")))
        return real_load(path, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", load_after_a_save_elsewhere)
    meta, loaded = cache.load_entry("tiny", KEY)
    assert saved_meanwhile and meta["tag"] == "new"
    for got, want in zip(loaded.get_weights(), new.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert cache.load("tiny", KEY) is not None


def test_a_writer_that_cannot_get_the_lock_says_so(tmp_path, monkeypatch):
    from filelock import FileLock

    from digitzoo import cache as cache_module

    cache = ModelCache(tmp_path)
    kept = save(cache, "kept")
    monkeypatch.setattr(cache_module, "LOCK_TIMEOUT", 0.2)
    with FileLock(tmp_path / ".lock"):  # another process in the middle of a save
        with pytest.raises(CacheError, match=f"another process has been saving to the model cache {tmp_path} for over 0.2 s"):
            save(cache, "new")
    assert cache.lookup("tiny", KEY) == kept
    assert visible_files(tmp_path) == sorted([kept["file"], f"tiny-{KEY}.json"])

"""Training a registered model with its recipe, evaluating it, and caching the result."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .cache import ModelCache
from .diagnosis import diagnose
from .errors import CacheError, DigitzooError, DigitzooWarning
from .files import check_writable_folder
from .paths import models_dir
from .plan import Arrays, TrainingPlan, plan_training
from .provenance import recorded_versions
from .recipe import Recipe, compile_model
from .registry import build_model, model_info

__all__ = ["TrainResult", "train", "compare", "load_trained", "check_cache_writable"]

_EVAL_BATCH = 1024


@dataclass
class TrainResult:
    """What one training run produced. Accuracies are fractions in [0, 1].

    ``train_accuracy`` and ``train_loss`` are measured after training, in inference mode, on
    every image the model was trained on — not the running average Keras reports during fit.

    ``history`` holds one value per epoch: ``loss`` and ``accuracy`` (the running average over
    the epoch's batches, as Keras reports them) and ``test_loss`` and ``test_accuracy`` (the whole
    test set, in inference mode, after the epoch; the last ones are ``test_loss`` and
    ``test_accuracy``). ``train_seconds`` leaves out those test passes; ``test_pass_seconds``
    is what they took. ``deterministic`` says whether TensorFlow's deterministic ops trained it.
    """

    name: str
    params: int
    recipe: dict[str, Any]
    options: dict[str, Any]
    seed: int
    train_size: int
    test_size: int
    train_accuracy: float
    train_loss: float
    test_accuracy: float
    test_loss: float
    train_seconds: float
    history: dict[str, list[float]]
    data: str
    versions: dict[str, str]
    saved_at: str
    test_pass_seconds: float = 0.0
    deterministic: bool = False
    temperature: float = 1.0
    held_out_size: int = 0
    held_out_ece: dict[str, float] = field(default_factory=dict)
    key: str = ""
    model_path: str | None = None
    reused: bool = False
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def epochs(self) -> int:
        return int(self.recipe["epochs"])

    @property
    def gap(self) -> float:
        return self.train_accuracy - self.test_accuracy

    @property
    def diagnosis(self) -> str:
        return diagnose(self.train_accuracy, self.test_accuracy)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        out.update(epochs=self.epochs, gap=self.gap, diagnosis=self.diagnosis)
        return out

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> TrainResult:
        names = {f.name for f in dataclasses.fields(cls)} - {"model"}
        return cls(**{k: v for k, v in meta.items() if k in names})


def _load_data(data: str | Path | Arrays | None, train_size: int | None, seed: int) -> tuple[Arrays, tuple]:
    """``((train, test), held_out)``: the training images less those held out for calibration."""
    from .calibration import held_out_split
    from .data import load_mnist, stratified_subset

    arrays = load_mnist(data) if data is None or isinstance(data, (str, Path)) else data
    (x, y), test = arrays
    (x, y), held_out = held_out_split(x, y)
    if train_size is not None and train_size > len(x):
        raise DigitzooError(
            f"train size {train_size} is larger than the {len(x)} training images available "
            f"({len(held_out[1])} more are held out to calibrate the model)"
        )
    if train_size is not None and train_size < len(x):
        x, y = stratified_subset(x, y, train_size, seed=seed)
    return ((x, y), test), held_out


def _one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(10, dtype="uint8")[labels.astype(np.int64)]


def train(
    name: str,
    *,
    epochs: int | None = None,
    seed: int = 0,
    train_size: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    options: dict[str, Any] | None = None,
    data: str | Path | Arrays | None = None,
    retrain: bool = False,
    cache: ModelCache | None = None,
    use_cache: bool = True,
    load: bool = True,
    callbacks: Sequence[Any] = (),
    deterministic: bool = False,
) -> TrainResult:
    """Train ``name`` with its registered recipe (any argument given overrides it).

    ``options`` are the builder's own options; recipe fields among them (``{"optimizer": "adam"}``)
    change the recipe as the arguments do. ``data`` is a path for :func:`digitzoo.data.load_mnist`
    (``None``: look in the usual places) or the arrays themselves. A run with the same model,
    recipe, options, seed, data and code as a cached one reuses that model unless ``retrain``;
    ``load=False`` then skips loading it. The model returned is compiled with its recipe either
    way. ``callbacks`` are Keras callbacks passed to ``fit`` (progress bars, logging …); the cache
    cannot tell what they do, so they must not change the training. One that stops it early
    (early stopping) is allowed, and that run is returned but not cached. ``deterministic=True``
    trains with TensorFlow's deterministic ops, so that the same seed on the same machine gives the
    same weights to the last bit (slower; a cache entry of its own). To find a trained model
    without training, ask :func:`digitzoo.zoo.resolve`.
    """
    plan = plan_training(
        name, epochs=epochs, seed=seed, train_size=train_size, batch_size=batch_size,
        learning_rate=learning_rate, options=options, data=data, deterministic=deterministic,
    )
    cache = cache if cache is not None else ModelCache()
    if use_cache and not retrain and (reused := _reuse(cache, plan, load)) is not None:
        return reused
    if use_cache:
        check_cache_writable(cache)  # before the training (and any download), not after it
        cache.check_saveable(name, plan.key)  # a folder where the sidecar goes, say, fails now too
    if model_info(name).ensemble is not None:
        return _train_ensemble(plan, cache, use_cache, retrain, callbacks)
    return _train_new(plan, cache if use_cache else None, retrain, callbacks)


def _train_ensemble(
    plan: TrainingPlan, cache: ModelCache, use_cache: bool, retrain: bool, callbacks: Sequence[Any]
) -> TrainResult:
    """Train (or reuse) each member with its own seed, then assemble, evaluate, calibrate and cache the ensemble."""
    from .ensemble import assemble, member_seeds

    ensemble = model_info(plan.name).ensemble
    # Every recipe field as an option: the members' own recipe with the same changes as the ensemble's.
    options = {**plan.recipe.to_dict(), **plan.options}
    members = [
        train(
            ensemble.member, seed=seed, options=options, data=plan.data, retrain=retrain, cache=cache,
            use_cache=use_cache, callbacks=callbacks, deterministic=plan.deterministic,
        )
        for seed in member_seeds(ensemble, plan.seed)
    ]
    started = time.perf_counter()
    model = assemble([m.model for m in members], [m.temperature for m in members], name=plan.name)
    ((x, y), (xt, yt)), held_out = _load_data(plan.data, plan.recipe.train_size, plan.seed)
    compile_model(model, plan.recipe, len(x))
    train_loss, train_acc = model.evaluate(x, _one_hot(y), batch_size=_EVAL_BATCH, verbose=0)
    test_loss, test_acc = model.evaluate(xt, _one_hot(yt), batch_size=_EVAL_BATCH, verbose=0)
    result = _result(
        plan, model, len(x), len(xt),
        train_accuracy=float(train_acc),
        train_loss=float(train_loss),
        test_accuracy=float(test_acc),
        test_loss=float(test_loss),
        # The members' own training, whether done now or before, and the assembly's evaluation now.
        train_seconds=round(sum(m.train_seconds for m in members) + time.perf_counter() - started, 3),
        history={},
        **_calibrate(model, held_out),
    )
    if use_cache:
        _save(cache, result, retrain)
    return result


def _train_new(plan: TrainingPlan, cache: ModelCache | None, retrain: bool, callbacks: Sequence[Any]) -> TrainResult:
    """Build, fit and evaluate the planned model; cache it (``cache`` not None) if it followed the recipe."""
    name, recipe, seed = plan.name, plan.recipe, plan.seed
    with _op_determinism(plan.deterministic):
        model = _build(name, plan.options, seed)
        ((x, y), (xt, yt)), held_out = _load_data(plan.data, recipe.train_size, seed)
        metrics = _fit_and_evaluate(model, name, recipe, (x, y), (xt, yt), callbacks)
        metrics.update(_calibrate(model, held_out))
    result = _result(plan, model, len(x), len(xt), **metrics)
    if cache is not None and _followed_recipe(result, recipe):
        # Without retrain, a run another process saved meanwhile is the same run: its file is kept,
        # so the path it reported stays, and this result names that file. An OSError becomes a
        # CacheError naming the folder.
        _save(cache, result, retrain)
    return result


def _result(plan: TrainingPlan, model: Any, train_size: int, test_size: int, **metrics: Any) -> TrainResult:
    """The record of a run of ``plan`` that made ``model``: its metrics and where it came from."""
    return TrainResult(
        name=plan.name,
        params=int(model.count_params()),
        recipe=plan.recipe.to_dict(),
        options=plan.options,
        seed=plan.seed,
        train_size=train_size,
        test_size=test_size,
        data=plan.data_hash,
        versions=recorded_versions(),
        saved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        deterministic=plan.deterministic,
        key=plan.key,
        model=model,
        **metrics,
    )


def _save(cache: ModelCache, result: TrainResult, retrain: bool) -> None:
    saved = cache.save(result.model, result.name, result.key, result.to_dict(), keep_existing=not retrain)
    result.model_path = str(cache.root / saved["file"])


def _followed_recipe(result: TrainResult, recipe: Recipe) -> bool:
    """Whether the run trained every epoch; a callback that stopped it early made other weights."""
    done = len(result.history.get("loss", []))
    if done == recipe.epochs:
        return True
    warnings.warn(
        f"{result.name!r} stopped after {done} of {recipe.epochs} epochs (a callback ended it): "
        "its weights are not the recipe's, so it was not cached",
        DigitzooWarning,
        stacklevel=3,
    )
    return False


def check_cache_writable(cache: ModelCache | None = None) -> None:
    """Raise ``CacheError`` unless a trained model can be saved in ``cache`` (default: the model cache).

    Creates the folder if needed, then creates and removes a file in it: the only test that
    holds for read-only mounts, ACLs and a ``$DIGITZOO_HOME`` that is a file.
    """
    root = (cache if cache is not None else ModelCache()).root
    try:
        check_writable_folder(root)
    except OSError as exc:
        where = "$DIGITZOO_HOME" if root == models_dir() else "the cache folder"
        raise CacheError(
            f"cannot save trained models in {root}: {exc.strerror or exc}; make {where} a writable folder",
            remedy="home",
        ) from None


def _reuse(cache: ModelCache, plan: TrainingPlan, load: bool) -> TrainResult | None:
    """The cached run of ``plan``, its model loaded if ``load``; ``None`` if there is none."""
    name, key, recipe = plan.name, plan.key, plan.recipe
    if load:
        # Sidecar and model read as one pair: another process may save between two separate reads.
        entry = cache.load_entry(name, key)
        meta, model = entry if entry is not None else (None, None)
    else:
        meta, model = cache.lookup(name, key), None
    if meta is None:
        return None
    result = TrainResult.from_dict(meta)
    result.reused = True
    if model is not None:
        # Compiled exactly as training compiles it: the same model whichever way it came.
        result.model = compile_model(model, recipe, result.train_size)
    result.model_path = str(cache.root / meta["file"])
    return result


@contextlib.contextmanager
def _op_determinism(enabled: bool) -> Iterator[None]:
    """TensorFlow's deterministic ops for the block if ``enabled``, as they were after it (they are global)."""
    if not enabled:
        yield
        return
    from ._tensorflow import import_quietly

    import_quietly()
    # Only enable_op_determinism is public; the switch is process-wide, and a later ordinary run
    # must not pay for it, so the private pair puts it back where TensorFlow has them.
    from tensorflow.python.framework import config as tf_config

    before = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        yield
    finally:
        if not before:
            tf_config.disable_op_determinism()


def _build(name: str, options: dict[str, Any], seed: int):
    from ._tensorflow import import_keras

    keras = import_keras()

    keras.utils.set_random_seed(seed)  # the initial weights and every shuffle follow from it
    return build_model(name, compile=False, **options)


def _fit_and_evaluate(model, name: str, recipe: Recipe, train_set, test_set, callbacks) -> dict[str, Any]:
    import keras

    compile_model(model, recipe, len(train_set[0]))
    # The images stay uint8 (every model rescales inside itself): a float32 copy of the training
    # set would cost 4× the memory and bandwidth for the same values.
    (x, y), (xt, yt) = [(images, _one_hot(labels)) for images, labels in (train_set, test_set)]
    # A run whose loss is no longer finite learns nothing more: stop it at the end of that epoch.
    stop = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: _stop_if_diverged(model, logs))
    test_clock = _test_pass_clock()
    started = time.perf_counter()
    # The test set is evaluated after every epoch (in inference mode, in large batches) for the
    # learning curves; the last of those passes is the final test accuracy.
    history = model.fit(
        x,
        y,
        batch_size=recipe.batch_size,
        epochs=recipe.epochs,
        shuffle=True,
        verbose=0,
        callbacks=[*callbacks, stop, test_clock],
        validation_data=(xt, yt),
        validation_batch_size=_EVAL_BATCH,
    )
    seconds = time.perf_counter() - started
    curves = {_HISTORY_NAMES.get(k, k): [float(v) for v in vs] for k, vs in history.history.items()}
    losses = curves.get("loss", [])
    if not all(map(_finite, losses)):
        _diverged(name, recipe, f"in epoch {len(losses)} of {recipe.epochs}")
    train_loss, train_acc = model.evaluate(x, y, batch_size=_EVAL_BATCH, verbose=0)
    test_loss, test_acc = curves["test_loss"][-1], curves["test_accuracy"][-1]
    if not (_finite(train_loss) and _finite(test_loss)):
        _diverged(name, recipe, "when evaluated")
    return {
        "train_accuracy": float(train_acc),
        "train_loss": float(train_loss),
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "train_seconds": round(seconds - test_clock.seconds, 3),
        "test_pass_seconds": round(test_clock.seconds, 3),
        "history": curves,
    }


# Keras calls the test pass during fit "validation"; here it is the test set, and says so.
_HISTORY_NAMES = {"val_loss": "test_loss", "val_accuracy": "test_accuracy"}


def _test_pass_clock():
    import keras

    class TestPassClock(keras.callbacks.Callback):
        """Seconds spent in the per-epoch test passes, so the training time can leave them out."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds = 0.0

        def on_test_begin(self, logs=None):
            self._started = time.perf_counter()

        def on_test_end(self, logs=None):
            self.seconds += time.perf_counter() - self._started

    return TestPassClock()



def _calibrate(model, held_out) -> dict[str, Any]:
    """The temperature fitted on the held-out images, and their calibration error before and after."""
    from .calibration import apply_temperature, expected_calibration_error, fit_temperature
    from .inference import predict_proba

    images, labels = held_out
    if len(labels) == 0:
        return {"temperature": 1.0, "held_out_size": 0, "held_out_ece": {}}
    probs = predict_proba(model, images, batch_size=_EVAL_BATCH)
    temperature = fit_temperature(probs, labels)
    return {
        "temperature": temperature,
        "held_out_size": int(len(labels)),
        "held_out_ece": {
            "before": round(expected_calibration_error(probs, labels), 6),
            "after": round(expected_calibration_error(apply_temperature(probs, temperature), labels), 6),
        },
    }


def _finite(value: Any) -> bool:
    return math.isfinite(float(value))


def _stop_if_diverged(model, logs: dict[str, Any] | None) -> None:
    if not _finite((logs or {}).get("loss", 0.0)):
        model.stop_training = True


def _diverged(name: str, recipe: Recipe, when: str) -> NoReturn:
    raise DigitzooError(
        f"training {name!r} diverged: its loss became NaN or infinite {when}, so nothing was cached; "
        f"a smaller learning rate than {recipe.learning_rate:g} may help"
    )


def compare(names: Sequence[str], *, data: str | Path | Arrays | None = None, **kwargs: Any) -> list[TrainResult]:
    """Train (or reuse) each model in turn with the same settings; results in the given order."""
    for name in names:
        model_info(name)  # fail on a typo before hours of training
    kwargs.setdefault("load", False)  # a comparison needs the numbers, not the models
    return [train(name, data=data, **kwargs) for name in names]


def load_trained(name: str, **kwargs: Any):
    """The trained Keras model for ``name`` (from the cache, training it first if needed)."""
    return train(name, load=True, **kwargs).model

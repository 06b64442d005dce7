"""The training rows of the speed benchmark: mlp, overhead, cnn, demo, test-pass, cnn-best and deterministic."""

from __future__ import annotations

import statistics
from typing import Any

from anchors import AnchorRun, digitzoo_recipe_in_keras, keras_io_convnet, tutorial_mlp
from speed_report import Row, at_least, at_most, equals, median
from speed_setup import Bench

__all__ = ["best_row", "cnn_row", "demo_row", "deterministic_rows", "keras_io_epoch", "mlp_rows", "test_pass_row"]

DEMO = ("tiny", "mlp", "overfit", "cnn")


def train_zoo(
    bench: Bench, name: str, *, seed: int = 0, epochs: int | None = None, save: bool = False, deterministic: bool = False
):
    """``digitzoo.train`` on the benchmark's arrays, from scratch; ``save`` keeps it in the private cache.

    A recipe that trains on a subset (``overfit``: 1 000 images) keeps it, capped at the images there are.
    """
    from digitzoo import model_info
    from digitzoo.training import train

    subset = model_info(name).recipe.train_size
    train_size = min(subset, len(bench.train[0])) if subset else None
    bench.log(f"digitzoo: train {name!r} (seed {seed}, epochs {epochs or 'of the recipe'})")
    result = train(
        name,
        epochs=epochs,
        seed=seed,
        train_size=train_size,
        data=bench.data,
        cache=bench.cache,
        use_cache=save,
        retrain=True,
        load=True,
        deterministic=deterministic,
    )
    if not deterministic:
        bench.trained[(name, seed, epochs)] = result
    return result


def _percent(fraction: float) -> float:
    return round(fraction * 100, 2)


def _per_seed(results) -> dict[str, dict[str, float]]:
    return {str(r.seed): {"train_seconds": r.train_seconds, "test_accuracy": r.test_accuracy} for r in results}


def _anchor(bench: Bench, key: str, run: AnchorRun) -> AnchorRun:
    bench.anchors.setdefault(key, []).append(run)
    return run


def keras_io_epoch(bench: Bench) -> float:
    """Seconds of one keras-io convnet epoch as published: the median over the runs so far (one run,
    of ``--convnet-epochs`` epochs, if none was made yet)."""
    if not bench.anchors.get("keras_io_convnet"):
        _convnet_run(bench, split=True)
    return median([r.seconds_per_epoch for r in bench.anchors["keras_io_convnet"]])


def keras_io_epoch_on_all(bench: Bench) -> float:
    """The same for the convnet trained on all 60 000 images with no validation split, as digitzoo trains."""
    if not bench.anchors.get("keras_io_convnet_all"):
        _convnet_run(bench, split=False)
    return median([r.seconds_per_epoch for r in bench.anchors["keras_io_convnet_all"]])


def _convnet_run(bench: Bench, *, split: bool) -> AnchorRun:
    epochs = bench.settings.convnet_epochs
    form = "as published" if split else "without its validation split"
    bench.log(f"anchor: keras-io mnist_convnet {form}, {epochs} epoch(s)")
    run = keras_io_convnet(bench.train, bench.test, epochs=epochs, validation_split=0.1 if split else 0)
    return _anchor(bench, "keras_io_convnet" if split else "keras_io_convnet_all", run)


def mlp_rows(bench: Bench, wanted: set[str]) -> list[Row]:
    """Rows ``mlp`` (vs the tutorial) and ``overhead`` (vs digitzoo's own recipe in plain Keras).

    Each repetition runs the anchors and digitzoo one after another on the same arrays, in
    alternating order, so drift in the machine's load falls on both sides.
    """
    s = bench.settings
    measures: dict[str, Any] = {"zoo": lambda: train_zoo(bench, "mlp", epochs=s.epochs)}
    if "mlp" in wanted:
        measures["tutorial_mlp"] = lambda: tutorial_mlp(bench.train, bench.test, epochs=s.epochs)
    if "overhead" in wanted:
        measures["mlp_recipe_in_keras"] = lambda: digitzoo_recipe_in_keras(
            "mlp", bench.train, bench.test, epochs=s.epochs
        )
    runs: list[dict[str, Any]] = []
    for rep in range(s.repeat):
        run: dict[str, Any] = {}
        for side in list(measures) if rep % 2 == 0 else list(reversed(measures)):
            if side == "zoo":
                run[side] = measures[side]()
            else:
                bench.log(f"anchor: {side}, {s.epochs} epoch(s), repetition {rep + 1}/{s.repeat}")
                run[side] = _anchor(bench, side, measures[side]())
        runs.append(run)
    zoo_seconds = [r["zoo"].train_seconds for r in runs]
    zoo_accuracy = median([r["zoo"].test_accuracy for r in runs])
    rows = []
    if "mlp" in wanted:
        rows.append(_mlp_row(s.epochs, runs, zoo_seconds, zoo_accuracy))
    if "overhead" in wanted:
        rows.append(_overhead_row(s.epochs, runs, zoo_seconds, zoo_accuracy))
    return rows


def _mlp_row(epochs: int, runs, zoo_seconds, zoo_accuracy) -> Row:
    per_epoch = [t / epochs for t in zoo_seconds]
    anchor = [r["tutorial_mlp"].seconds_per_epoch for r in runs]
    anchor_accuracy = median([r["tutorial_mlp"].test_accuracy for r in runs])
    ratio = median([a / b for a, b in zip(per_epoch, anchor)])
    gap = abs(zoo_accuracy - anchor_accuracy) * 100
    return Row(
        row="mlp",
        what=f"seconds per epoch of train('mlp', epochs={epochs}) vs the tutorial's script (per epoch)",
        value=median(per_epoch),
        anchor="tutorial MLP",
        anchor_value=median(anchor),
        ratio=ratio,
        test_accuracy=zoo_accuracy,
        checks=[at_most("ratio", ratio, 0.6), at_most("|acc - anchor acc|", round(gap, 3), 0.5, " pt")],
        samples=per_epoch,
        details={"anchor_test_accuracy": anchor_accuracy, "anchor_samples": anchor, "epochs": epochs},
    )


def _overhead_row(epochs: int, runs, zoo_seconds, zoo_accuracy) -> Row:
    anchor = [r["mlp_recipe_in_keras"].fit_seconds for r in runs]
    ratio = median([a / b for a, b in zip(zoo_seconds, anchor)])
    return Row(
        row="overhead",
        what=(
            f"train('mlp', epochs={epochs}) fit seconds vs the same model and recipe in plain Keras "
            "(compiled by digitzoo.recipe.compile_model, bare model.fit)"
        ),
        value=median(zoo_seconds),
        anchor="mlp recipe in Keras",
        anchor_value=median(anchor),
        ratio=ratio,
        test_accuracy=zoo_accuracy,
        checks=[at_most("ratio", ratio, 1.05)],
        samples=zoo_seconds,
        details={
            "anchor_test_accuracy": median([r["mlp_recipe_in_keras"].test_accuracy for r in runs]),
            "anchor_samples": anchor,
        },
    )


def cnn_row(bench: Bench) -> Row:
    """``cnn`` with its default recipe vs one epoch of the keras-io convnet; accuracy over ``seeds``."""
    s = bench.settings
    results = []
    # The machine's speed drifts by a fifth within minutes: both anchors run between the seeds
    # (before the first, after every second one), in alternating order, and each side is a median.
    for i, seed in enumerate(s.seeds):
        if i % 2 == 0:
            for split in (True, False) if i % 4 == 0 else (False, True):
                _convnet_run(bench, split=split)
        results.append(train_zoo(bench, "cnn", seed=seed, epochs=s.recipe_epochs, save=True))
    anchor, on_all = keras_io_epoch(bench), keras_io_epoch_on_all(bench)
    seconds = [r.train_seconds for r in results]
    accuracy = statistics.fmean(r.test_accuracy for r in results)
    ratio = median(seconds) / anchor
    ratio_on_all = median(seconds) / on_all
    checks = [at_most("ratio", ratio, 0.75)]
    checks += [at_least(f"acc seed {r.seed}", _percent(r.test_accuracy), 99.3, " %") for r in results]
    if len(results) > 1:
        checks.append(at_least("mean acc", _percent(accuracy), 99.35, " %"))
    return Row(
        row="cnn",
        what=(
            "train('cnn') seconds, default recipe, vs ONE keras-io convnet epoch as published (54 000 "
            f"images, 6 000 validated); test acc is the mean over seeds {list(s.seeds)}"
        ),
        value=median(seconds),
        anchor="1 keras-io epoch",
        anchor_value=anchor,
        ratio=ratio,
        test_accuracy=accuracy,
        checks=checks,
        samples=seconds,
        details={
            "per_seed": _per_seed(results),
            "anchor_runs": [r.to_dict() for r in bench.anchors["keras_io_convnet"]],
            "anchor_on_all": on_all,
            "anchor_on_all_runs": [r.to_dict() for r in bench.anchors["keras_io_convnet_all"]],
            "ratio_on_all": ratio_on_all,
        },
        note=(
            f"medians of {len(bench.anchors['keras_io_convnet'])} anchor runs each; against one epoch on all "
            f"60 000 images without the validation split ({on_all:.1f} s) the ratio is {ratio_on_all:.2f}"
        ),
    )


def _demo_results(bench: Bench) -> tuple[dict[str, Any], list[str]]:
    """``make demo``'s four models, trained from scratch unless an earlier row trained the very same.

    Returns the results by name and the names taken from an earlier row (same model, recipe,
    seed and data), so the demo and test-pass rows share one training of each model.
    """
    s = bench.settings
    results, reused = {}, []
    for name in DEMO:
        earlier = bench.trained.get((name, 0, s.recipe_epochs))
        if earlier is not None:
            reused.append(name)
            results[name] = earlier
        else:
            results[name] = train_zoo(bench, name, epochs=s.recipe_epochs, save=True)
    return results, reused


def demo_row(bench: Bench) -> Row:
    """``make demo``'s four models trained from an empty cache: their seconds added up."""
    anchor = keras_io_epoch(bench)
    results, reused = _demo_results(bench)
    total = sum(r.train_seconds for r in results.values())
    ratio = total / anchor
    return Row(
        row="demo",
        what="tiny + mlp + overfit + cnn training seconds (default recipes, empty cache) vs ONE keras-io epoch",
        value=total,
        anchor="1 keras-io epoch",
        anchor_value=anchor,
        ratio=ratio,
        checks=[
            at_most("ratio", ratio, 4),
            equals("tiny", results["tiny"].diagnosis, "underfitting"),
            equals("overfit", results["overfit"].diagnosis, "overfitting"),
            at_least("mlp acc", _percent(results["mlp"].test_accuracy), 97.5, " %"),
            at_least("cnn acc", _percent(results["cnn"].test_accuracy), 99.3, " %"),
        ],
        details={
            "models": {
                name: {
                    "train_seconds": r.train_seconds,
                    "test_pass_seconds": r.test_pass_seconds,
                    "test_accuracy": r.test_accuracy,
                    "train_accuracy": r.train_accuracy,
                    "diagnosis": r.diagnosis,
                    "epochs": r.epochs,
                    "train_size": r.train_size,
                }
                for name, r in results.items()
            },
            "taken_from_earlier_rows": reused,
        },
        note=f"{', '.join(reused)} taken from the identical training of an earlier row" if reused else "",
    )


def test_pass_row(bench: Bench) -> Row:
    """What the per-epoch test pass (for the learning curves) costs the demo models.

    Training evaluates the whole test set after every epoch; ``train_seconds`` leaves those passes
    out and ``test_pass_seconds`` is what they took. The row adds both up over tiny, mlp, overfit
    and cnn: ``value`` is the test passes' seconds, the "anchor" the training's, so ``ratio`` is
    the share the curves add to training time. Per model: seconds per epoch of each, and the share.
    """
    results, reused = _demo_results(bench)
    passes = sum(r.test_pass_seconds for r in results.values())
    training = sum(r.train_seconds for r in results.values())
    models = {
        name: {
            "epochs": r.epochs,
            "train_size": r.train_size,
            "test_size": r.test_size,
            "test_pass_seconds": r.test_pass_seconds,
            "train_seconds": r.train_seconds,
            "test_pass_seconds_per_epoch": r.test_pass_seconds / r.epochs,
            "train_seconds_per_epoch": r.train_seconds / r.epochs,
            "share": r.test_pass_seconds / r.train_seconds if r.train_seconds else None,
        }
        for name, r in results.items()
    }
    per_model = ", ".join(
        f"{name} {m['test_pass_seconds_per_epoch']:.2f} s/epoch vs {m['train_seconds_per_epoch']:.2f} s"
        f" ({m['share']:.0%})"
        for name, m in models.items()
        if m["share"] is not None
    )
    taken = f"; {', '.join(reused)} taken from an earlier row's training" if reused else ""
    return Row(
        row="test-pass",
        what=(
            "seconds of the per-epoch test passes (whole test set, batch 1024) of tiny + mlp + overfit + cnn, "
            "vs their training seconds (ratio = the share the learning curves add)"
        ),
        value=passes,
        anchor="training",
        anchor_value=training,
        ratio=passes / training if training else None,
        details={"models": models, "taken_from_earlier_rows": reused},
        note=f"test pass vs training per epoch: {per_model}{taken}",
    )


def best_row(bench: Bench) -> Row:
    """``cnn-best`` per seed: test accuracy ≥ 99.6 % and training ≤ 600 s (only with ``--best``)."""
    from digitzoo import list_models

    s = bench.settings
    what = "train('cnn-best') per seed: test accuracy and training seconds"
    if not list_models("cnn-best"):
        return Row(row="cnn-best", what=what, note="skipped: no model 'cnn-best' is registered yet")
    results = [train_zoo(bench, "cnn-best", seed=seed, epochs=s.recipe_epochs) for seed in s.best_seeds]
    seconds = [r.train_seconds for r in results]
    anchor = keras_io_epoch(bench) if bench.anchors.get("keras_io_convnet") else None
    checks = [at_least(f"acc seed {r.seed}", _percent(r.test_accuracy), 99.6, " %") for r in results]
    if len(results) > 1:
        checks.append(at_least("mean acc", _percent(statistics.fmean(r.test_accuracy for r in results)), 99.65, " %"))
    checks.append(at_most("slowest training", max(seconds), 600, " s"))
    return Row(
        row="cnn-best",
        what=what,
        value=median(seconds),
        anchor="1 keras-io epoch" if anchor else "",
        anchor_value=anchor,
        ratio=median(seconds) / anchor if anchor else None,
        test_accuracy=statistics.fmean(r.test_accuracy for r in results),
        checks=checks,
        samples=seconds,
        details={"per_seed": _per_seed(results)},
    )


#: The models of the deterministic row and the epochs they train there (None: the recipe's).
DETERMINISTIC = (("mlp", 5), ("lenet5", 5), ("cnn", None))


def deterministic_rows(bench: Bench) -> list[Row]:
    """What ``deterministic=True`` costs per model: alternating pairs of an ordinary and a deterministic
    run, same seed; and whether the deterministic runs gave the same weights every time."""
    import numpy as np

    rows = []
    for name, epochs in DETERMINISTIC:
        epochs = epochs if bench.settings.recipe_epochs is None else bench.settings.recipe_epochs
        pairs, digests = [], []
        for rep in range(bench.settings.repeat):
            run = {}
            for exact in (False, True) if rep % 2 == 0 else (True, False):
                result = train_zoo(bench, name, epochs=epochs, deterministic=exact)
                run[exact] = result
                if exact:
                    digests.append(hash(b"".join(np.asarray(w).tobytes() for w in result.model.get_weights())))
            pairs.append(run)
        ratios = [p[True].train_seconds / p[False].train_seconds for p in pairs]
        ratio = median(ratios)
        rows.append(
            Row(
                row=f"deterministic {name}",
                what=f"train({name!r}, deterministic=True) vs the same run without, {epochs or 'recipe'} epochs, seed 0",
                value=median([p[True].train_seconds for p in pairs]),
                anchor="the same run, not deterministic",
                anchor_value=median([p[False].train_seconds for p in pairs]),
                ratio=ratio,
                test_accuracy=pairs[0][True].test_accuracy,
                checks=[equals("same weights every run", len(set(digests)) == 1, True)],
                samples=[p[True].train_seconds for p in pairs],
                details={
                    "ratios": ratios,
                    "deterministic_accuracies": [p[True].test_accuracy for p in pairs],
                    "usual_accuracies": [p[False].test_accuracy for p in pairs],
                },
                note=f"median of {len(pairs)} alternating pairs; cost {100 * (ratio - 1):+.0f} %",
            )
        )
    return rows

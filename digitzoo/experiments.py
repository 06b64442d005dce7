"""Experiments that hold up: every model trained on several seeds, summarised and compared with statistics.

:func:`compare_seeds` trains (or reuses from the cache, which keys by seed) each model once per
seed, and returns per model its runs and their summary, and for every model after the first its
difference in test accuracy from the first, with a 95 % interval and a verdict
(:mod:`digitzoo.stats` says which test and why).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .diagnosis import diagnose
from .errors import DigitzooError
from .registry import model_info
from .stats import Difference, Summary, difference, parse_seeds, summarize
from .training import TrainResult, train

__all__ = ["ModelRuns", "Comparison", "SeedComparison", "compare_seeds"]


@dataclass(frozen=True)
class ModelRuns:
    """One model's runs, one per seed in the order asked, and what they add up to."""

    name: str
    runs: tuple[TrainResult, ...]
    test: Summary
    train: Summary
    seconds: Summary

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(r.seed for r in self.runs)

    @property
    def gap(self) -> float:
        """Mean train accuracy minus mean test accuracy, a fraction."""
        return self.train.mean - self.test.mean

    @property
    def diagnosis(self) -> str:
        """The diagnosis of the mean accuracies."""
        return diagnose(self.train.mean, self.test.mean)

    def by_seed(self) -> dict[int, float]:
        return {r.seed: r.test_accuracy for r in self.runs}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seeds": list(self.seeds),
            "test_accuracy_mean": self.test.mean,
            "test_accuracy_std": self.test.std,
            "test_accuracy_min": self.test.min,
            "test_accuracy_max": self.test.max,
            "train_accuracy_mean": self.train.mean,
            "gap": self.gap,
            "seconds_per_run": self.seconds.mean,
            "diagnosis": self.diagnosis,
            "runs": [_run_dict(r) for r in self.runs],
        }


@dataclass(frozen=True)
class Comparison:
    """``model``'s test accuracy against ``reference``'s: the difference (model − reference) and its verdict."""

    reference: str
    model: str
    difference: Difference

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "model": self.model, **self.difference.to_dict()}


@dataclass(frozen=True)
class SeedComparison:
    """The models in the order given (the first is the reference) and each later one compared with it."""

    seeds: tuple[int, ...]
    models: tuple[ModelRuns, ...]
    comparisons: tuple[Comparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "confidence": 0.95,
            "models": [m.to_dict() for m in self.models],
            "comparisons": [c.to_dict() for c in self.comparisons],
        }


def compare_seeds(
    names: Sequence[str],
    seeds: str | Iterable[int] = range(5),
    *,
    callbacks: Callable[[str, int], Sequence[Any]] | None = None,
    on_run: Callable[[TrainResult], None] | None = None,
    **train_kwargs: Any,
) -> SeedComparison:
    """Train (or reuse) each of ``names`` once per seed of ``seeds`` (``"0-4"``, ``"0,3,7"`` or integers).

    ``train_kwargs`` go to :func:`digitzoo.training.train` for every run (``epochs``, ``train_size``,
    ``data`` …; not ``seed``). ``callbacks(name, seed)`` gives the Keras callbacks of one run (progress
    bars); ``on_run(result)`` is told of each run as it ends. Unknown names and bad seeds fail before
    any training.
    """
    names = list(names)
    if not names:
        raise DigitzooError("compare needs at least one model name")
    if "seed" in train_kwargs:
        raise DigitzooError("give the seeds as seeds=, not seed=")
    if len(set(names)) != len(names):
        raise DigitzooError(f"model {next(n for n in names if names.count(n) > 1)!r} is named twice")
    seeds = parse_seeds(seeds)
    for name in names:
        model_info(name)  # a typo fails before hours of training
    train_kwargs.setdefault("load", False)  # the numbers are compared, not the models
    models = []
    for name in names:
        runs = []
        for seed in seeds:
            result = train(name, seed=seed, callbacks=callbacks(name, seed) if callbacks else (), **train_kwargs)
            runs.append(result)
            if on_run is not None:
                on_run(result)
        models.append(_model_runs(name, runs))
    first = models[0]
    comparisons = tuple(Comparison(first.name, m.name, difference(first.by_seed(), m.by_seed())) for m in models[1:])
    return SeedComparison(seeds=seeds, models=tuple(models), comparisons=comparisons)


def _model_runs(name: str, runs: list[TrainResult]) -> ModelRuns:
    return ModelRuns(
        name=name,
        runs=tuple(runs),
        test=summarize([r.test_accuracy for r in runs]),
        train=summarize([r.train_accuracy for r in runs]),
        seconds=summarize([r.train_seconds for r in runs]),
    )


def _run_dict(result: TrainResult) -> dict[str, Any]:
    out = {
        "seed": result.seed,
        "test_accuracy": result.test_accuracy,
        "train_accuracy": result.train_accuracy,
        "train_seconds": result.train_seconds,
        "reused": result.reused,
        "model_path": result.model_path,
    }
    if not all(math.isfinite(v) for v in (result.test_accuracy, result.train_accuracy)):
        raise DigitzooError(f"run of {result.name!r} with seed {result.seed} has no finite accuracy")
    return out

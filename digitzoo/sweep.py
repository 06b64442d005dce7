"""Sweeps: every model trained on every combination of settings and every seed, then summarised.

A sweep is many ordinary trainings, not a second training path: each :class:`Trial` is one
:func:`digitzoo.training.train` call and ends as an ordinary cache entry, so a sweep run again
reuses every finished trial, and ``compare``, ``report`` and ``export`` find them afterwards.

:func:`grid` makes the trials and refuses a bad request before any training; :func:`run_sweep`
hands them to a runner and groups what comes back by (model, setting), with the statistics of
:func:`digitzoo.experiments.compare_seeds` per group. The runner is the one thing that decides
*where* trials run: :class:`LocalRunner` runs them one after another in this process; another
runner only needs the same ``run`` method: :class:`digitzoo.ray_runner.RayRunner` runs them on Ray,
on this machine's cores or on a cluster, and :func:`digitzoo.ray_runner.choose_runner` picks one
from ``workers`` and ``address``.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
import platform
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import DigitzooError
from .experiments import ModelRuns
from .recipe import RECIPE_FIELDS, Recipe
from .registry import model_info
from .stats import parse_seeds, summarize
from .training import TrainResult, train

__all__ = [
    "MAX_TRIALS",
    "Trial",
    "TrialRun",
    "TrialError",
    "SweepGroup",
    "SweepResult",
    "Runner",
    "LocalRunner",
    "settable_fields",
    "grid",
    "run_trial",
    "run_sweep",
]

#: At most this many trials in one sweep: each is a training run, and a grid grows by products.
MAX_TRIALS = 1000
# train()'s own arguments that are recipe fields: given there, a field is fixed and cannot be swept.
_TRAIN_ARGUMENTS = ("epochs", "train_size", "batch_size", "learning_rate")
_BOOLS = {"true": True, "false": False}


@dataclass(frozen=True)
class Trial:
    """One training of a sweep: ``model`` with ``setting`` (field → value, in the order swept) and ``seed``."""

    model: str
    setting: dict[str, Any]
    seed: int

    @property
    def key(self) -> tuple[str, tuple[tuple[str, Any], ...], int]:
        """What tells trials apart, hashable (the setting is a dict), and the same in a copy from a worker."""
        return self.model, tuple(self.setting.items()), self.seed

    @property
    def label(self) -> str:
        """``"hidden=128 learning_rate=0.05"`` (empty when nothing is swept)."""
        return " ".join(f"{k}={_text(v)}" for k, v in self.setting.items())

    @property
    def name(self) -> str:
        """``"mlp hidden=64 seed 0"``: the trial in a line of progress or an error."""
        return " ".join(part for part in (self.model, self.label, f"seed {self.seed}") if part)

    def train_arguments(self) -> dict[str, Any]:
        """The ``seed`` and ``options`` of :func:`digitzoo.training.train` for this trial.

        Recipe fields go in ``options`` too (the plan splits them off, so the cache key is the one
        ``epochs=`` gives). A builder option equal to the builder's default is left out: the same
        network then names the same cache entry as a plain ``train(name)``.
        """
        defaults = _builder_defaults(self.model)
        options = {k: v for k, v in self.setting.items() if k in RECIPE_FIELDS or defaults.get(k, _MISSING) != v}
        return {"seed": self.seed, "options": options}


@dataclass(frozen=True)
class TrialRun:
    """A trial's training result (its model not loaded), the host that ran it and, on Ray, the node."""

    trial: Trial
    result: TrainResult
    node: str
    node_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "model": self.trial.model,
            "setting": dict(self.trial.setting),
            "seed": self.trial.seed,
            "test_accuracy": r.test_accuracy,
            "train_accuracy": r.train_accuracy,
            "train_seconds": r.train_seconds,
            "reused": r.reused,
            "deterministic": r.deterministic,
            "node": self.node,
            "node_id": self.node_id,
            "model_path": r.model_path,
        }


@dataclass(frozen=True)
class TrialError:
    """A trial that raised instead of training: the sweep reports it and goes on with the others."""

    trial: Trial
    error: str
    node: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.trial.model,
            "setting": dict(self.trial.setting),
            "seed": self.trial.seed,
            "error": self.error,
            "node": self.node,
        }


@dataclass(frozen=True)
class SweepGroup:
    """The runs of one (model, setting) over the seeds, and their statistics as compare --seeds shows them."""

    model: str
    setting: dict[str, Any]
    runs: tuple[TrialRun, ...]
    stats: ModelRuns

    @property
    def label(self) -> str:
        return self.runs[0].trial.label

    def to_dict(self) -> dict[str, Any]:
        summary = {k: v for k, v in self.stats.to_dict().items() if k not in ("name", "runs")}
        return {"model": self.model, "setting": dict(self.setting), **summary}


@dataclass(frozen=True)
class SweepResult:
    """Every trial that trained (or was reused) in grid order, the groups best first by mean test
    accuracy, and the trials that failed."""

    fields: dict[str, tuple[Any, ...]]
    seeds: tuple[int, ...]
    trials: tuple[TrialRun, ...]
    groups: tuple[SweepGroup, ...]
    failed: tuple[TrialError, ...] = ()

    @property
    def trained(self) -> int:
        """How many trials trained now (the rest came from the cache)."""
        return sum(not t.result.reused for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": {k: list(v) for k, v in self.fields.items()},
            "seeds": list(self.seeds),
            "trials": [t.to_dict() for t in self.trials],
            "groups": [g.to_dict() for g in self.groups],
            "failed": [f.to_dict() for f in self.failed],
        }


class Runner(Protocol):
    """Where trials run: ``run`` trains each trial and yields its :class:`TrialRun` (or
    :class:`TrialError`) as it ends, in any order; ``on_started(trial)`` is told as each begins."""

    def run(
        self,
        trials: Sequence[Trial],
        train_kwargs: Mapping[str, Any],
        callbacks: Callable[[Trial], Sequence[Any]] | None = None,
        on_started: Callable[[Trial], None] | None = None,
    ) -> Iterator[TrialRun | TrialError]: ...


class LocalRunner:
    """Trials one after another in this process, each with its own Keras callbacks (progress bars)."""

    def run(
        self,
        trials: Sequence[Trial],
        train_kwargs: Mapping[str, Any],
        callbacks: Callable[[Trial], Sequence[Any]] | None = None,
        on_started: Callable[[Trial], None] | None = None,
    ) -> Iterator[TrialRun | TrialError]:
        for trial in trials:
            if on_started is not None:
                on_started(trial)
            try:
                yield run_trial(trial, callbacks=callbacks(trial) if callbacks else (), **train_kwargs)
            except DigitzooError as exc:  # this trial's own problem (it diverged …): the others go on
                yield TrialError(trial, str(exc), platform.node())


def trial_options(trial: Trial, train_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The builder options of ``trial``: those the sweep was given, with the trial's own setting on top."""
    return {**(train_kwargs.get("options") or {}), **trial.train_arguments()["options"]}


def run_trial(trial: Trial, **train_kwargs: Any) -> TrialRun:
    """Train (or reuse) one trial in this process with :func:`digitzoo.training.train`."""
    kwargs = {k: v for k, v in train_kwargs.items() if k != "options"}
    result = train(trial.model, seed=trial.seed, options=trial_options(trial, train_kwargs), **kwargs)
    result.model = None  # the numbers travel back, not the network
    return TrialRun(trial=trial, result=result, node=platform.node())


def run_sweep(
    names: Sequence[str],
    sets: Mapping[str, Iterable[Any]] | Sequence[str] = (),
    seeds: str | Iterable[int] = (0,),
    *,
    on_trial: Callable[[TrialRun | TrialError], None] | None = None,
    on_started: Callable[[Trial], None] | None = None,
    callbacks: Callable[[Trial], Sequence[Any]] | None = None,
    runner: Runner | None = None,
    **train_kwargs: Any,
) -> SweepResult:
    """Train (or reuse) every trial of :func:`grid` and group the results.

    ``train_kwargs`` go to every :func:`digitzoo.training.train` call (``epochs``, ``data``,
    ``retrain`` …; not ``seed``, and not a field that is swept). ``callbacks(trial)`` gives one
    trial's Keras callbacks (where trials run in this process); ``on_started(trial)`` and
    ``on_trial(run)`` are told as each begins and ends. ``runner`` defaults to :class:`LocalRunner`.
    Everything is checked before the first training. A trial that raises ``DigitzooError`` (or, on
    Ray, any error) ends in :attr:`SweepResult.failed` and the others go on.
    """
    trials = grid(names, sets, seeds, given=train_kwargs)
    train_kwargs.setdefault("load", False)  # the numbers are compared, not the models
    ended: dict[int, TrialRun | TrialError] = {}
    order = {t.key: i for i, t in enumerate(trials)}
    for run in (runner or LocalRunner()).run(trials, train_kwargs, callbacks, on_started):
        ended[order[run.trial.key]] = run  # back in grid order, whatever order they ended in
        if on_trial is not None:
            on_trial(run)
    in_order = [ended[i] for i in sorted(ended)]
    done = tuple(r for r in in_order if isinstance(r, TrialRun))
    failed = tuple(r for r in in_order if isinstance(r, TrialError))
    seeds_run = tuple(dict.fromkeys(t.seed for t in trials))
    return SweepResult(_swept(trials), seeds_run, done, _groups(done), failed)


def _swept(trials: Sequence[Trial]) -> dict[str, tuple[Any, ...]]:
    fields: dict[str, dict[Any, None]] = {}
    for trial in trials:
        for k, v in trial.setting.items():
            fields.setdefault(k, {})[v] = None
    return {k: tuple(v) for k, v in fields.items()}


def _groups(runs: Sequence[TrialRun]) -> tuple[SweepGroup, ...]:
    by_key: dict[tuple, list[TrialRun]] = {}
    for run in runs:
        key = (run.trial.model, tuple(run.trial.setting.items()))
        by_key.setdefault(key, []).append(run)
    groups = [_group(group) for group in by_key.values()]
    return tuple(sorted(groups, key=lambda g: -g.stats.test.mean))  # stable: ties keep grid order


def _group(runs: list[TrialRun]) -> SweepGroup:
    first = runs[0].trial
    results = [r.result for r in runs]
    stats = ModelRuns(
        name=first.model,
        runs=tuple(results),
        test=summarize([r.test_accuracy for r in results]),
        train=summarize([r.train_accuracy for r in results]),
        seconds=summarize([r.train_seconds for r in results]),
    )
    return SweepGroup(model=first.model, setting=dict(first.setting), runs=tuple(runs), stats=stats)


# --- the grid and its checks -------------------------------------------------------------------


def grid(
    names: Sequence[str],
    sets: Mapping[str, Iterable[Any]] | Sequence[str] = (),
    seeds: str | Iterable[int] = (0,),
    *,
    given: Mapping[str, Any] | None = None,
) -> list[Trial]:
    """Every trial of the sweep: for each model, each combination of the ``sets`` values, each seed.

    ``sets`` is ``{"hidden": [64, 128]}`` or, as the command line gives it, ``["hidden=64,128"]``
    (strings parsed by the field's type). ``given`` are the other arguments of the training (a
    field fixed there cannot be swept). Unknown fields, bad values, a field named twice and a
    builder option that some model lacks raise ``DigitzooError`` naming the fields that can be set.
    """
    names = list(names)
    if not names:
        raise DigitzooError("a sweep needs at least one model name")
    if len(set(names)) != len(names):
        raise DigitzooError(f"model {next(n for n in names if names.count(n) > 1)!r} is named twice")
    for name in names:
        model_info(name)  # a typo fails before hours of training
    if given and "seed" in given:
        raise DigitzooError("give the seeds as seeds=, not seed=")
    seeds = parse_seeds(seeds)
    values = _parse_sets(names, sets, _fixed_fields(given or {}))
    combos = list(itertools.product(*values.values()))
    total = len(names) * len(combos) * len(seeds)
    if total > MAX_TRIALS:
        raise DigitzooError(f"at most {MAX_TRIALS} trials in one sweep, this grid has {total}")
    return [
        Trial(name, dict(zip(values, combo)), seed) for name in names for combo in combos for seed in seeds
    ]


def settable_fields(names: Sequence[str]) -> dict[str, type]:
    """The fields a sweep of ``names`` can set, with their types: the recipe's, then the builders' options."""
    fields = dict(_recipe_types())
    for name in names:
        for option, kind in _builder_types(name).items():
            fields.setdefault(option, kind)
    return fields


def _fixed_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    fixed = {k: given[k] for k in _TRAIN_ARGUMENTS if given.get(k) is not None}
    return {**fixed, **dict(given.get("options") or {})}


def _parse_sets(names: list[str], sets: Mapping[str, Iterable[Any]] | Sequence[str], fixed: Mapping[str, Any]) -> dict[str, list[Any]]:
    fields = settable_fields(names)
    pairs = _pairs(sets)
    values: dict[str, list[Any]] = {}
    for field, raw in pairs:
        if field not in fields:
            raise DigitzooError(f"unknown field {field!r}; fields that can be set: {', '.join(fields)}")
        if field in values:
            raise DigitzooError(f"{field} is set twice; give all its values at once ({field}=V1,V2)")
        if field in fixed:
            raise DigitzooError(f"{field} is both swept and fixed to {_text(fixed[field])}; give it one way")
        _check_every_model_has(field, names)
        parsed = [_value(field, fields[field], v) for v in raw]
        if not parsed:
            raise DigitzooError(f"{field} has no values")
        if len(set(map(repr, parsed))) != len(parsed):
            raise DigitzooError(f"{field} names a value twice: {', '.join(_text(v) for v in parsed)}")
        _check_recipe_values(field, parsed, names)
        values[field] = parsed
    return values


def _pairs(sets: Mapping[str, Iterable[Any]] | Sequence[str]) -> list[tuple[str, list[Any]]]:
    """``(field, values)`` pairs in the order given; ``"field=a,b"`` strings split into their parts."""
    if isinstance(sets, Mapping):
        return [(str(k), [v] if isinstance(v, (str, bytes)) else list(v)) for k, v in sets.items()]
    if isinstance(sets, str):
        sets = [sets]
    pairs = []
    for item in sets:
        field, equals, text = str(item).partition("=")
        if not equals or not field.strip():
            raise DigitzooError(f"a setting looks like FIELD=V1,V2, got {item!r}")
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or "" in parts:
            raise DigitzooError(f"{field.strip()} has an empty value in {item!r}")
        pairs.append((field.strip(), parts))
    return pairs


def _check_every_model_has(field: str, names: list[str]) -> None:
    if field in RECIPE_FIELDS:
        return
    having = [n for n in names if field in _builder_types(n)]
    lacking = [n for n in names if n not in having]
    if lacking:
        raise DigitzooError(
            f"model {lacking[0]!r} has no option {field!r} (it is an option of {', '.join(having)}); "
            "sweep it over those models alone"
        )


def _check_recipe_values(field: str, values: list[Any], names: list[str]) -> None:
    """The recipe's own rules (epochs >= 1, a known optimizer …), checked now rather than mid-sweep."""
    if field not in RECIPE_FIELDS:
        return
    for name in names:
        for value in values:
            try:
                dataclasses.replace(model_info(name).recipe, **{field: value})
            except ValueError as exc:
                raise DigitzooError(f"{field}={_text(value)}: {exc}") from None


def _value(field: str, kind: type, raw: Any) -> Any:
    """``raw`` (a string from the command line, or a Python value) as a value of type ``kind``."""
    value = _from_text(field, kind, raw) if isinstance(raw, str) and kind is not str else raw
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise DigitzooError(f"{field} takes {_KIND_NAMES[kind]}, got {raw!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DigitzooError(f"{field} must be a finite number, got {raw!r}")
    return value


_KIND_NAMES = {int: "whole numbers", float: "numbers", bool: "true or false", str: "strings"}


def _from_text(field: str, kind: type, text: str) -> Any:
    try:
        if kind is bool:
            return _BOOLS[text.lower()]
        return kind(text)
    except (KeyError, ValueError):
        raise DigitzooError(f"{field} takes {_KIND_NAMES[kind]}, got {text!r}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- the types of the fields -------------------------------------------------------------------

_MISSING = object()
_KINDS = (bool, int, float, str)


def _recipe_types() -> dict[str, type]:
    hints = typing.get_type_hints(Recipe)
    return {f.name: _kind(hints[f.name], f.default) for f in dataclasses.fields(Recipe)}


def _builder_types(name: str) -> dict[str, type]:
    """The builder's keyword-only options and their types (from the annotation, else the default)."""
    builder = model_info(name).builder
    try:
        parameters = inspect.signature(builder, eval_str=True).parameters
    except Exception:  # a plugin's annotation that does not evaluate: fall back to the defaults
        parameters = inspect.signature(builder).parameters
    return {
        p.name: _kind(p.annotation, p.default)
        for p in parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def _builder_defaults(name: str) -> dict[str, Any]:
    parameters = inspect.signature(model_info(name).builder).parameters
    return {p.name: p.default for p in parameters.values() if p.default is not inspect.Parameter.empty}


def _kind(annotation: Any, default: Any) -> type:
    """bool, int, float or str: the annotation's (``int | None`` is int), else the default's type, else str."""
    candidates = typing.get_args(annotation) or (annotation,)
    for kind in _KINDS:
        if kind in candidates:
            return kind
    return next((kind for kind in _KINDS if type(default) is kind), str)

"""``digitzoo train`` and ``digitzoo compare``."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from digitzoo.diagnosis import GENERALISES, OVERFITTING, UNDERFITTING
from digitzoo.recipe import MAX_SEED, MNIST_TRAIN_SIZE

from .fit_progress import fit_progress
from .output import stdout_console
from .params import figure_path, finite, model_names
from .progress import fetch_mnist_if_missing

__all__ = ["train", "compare", "training_options", "plot_option"]

_DIAGNOSIS_STYLE = {UNDERFITTING: "yellow", OVERFITTING: "red", GENERALISES: "green"}


def training_options(command: Callable) -> Callable:
    """The options ``train`` and ``compare`` share."""
    options = [
        click.option("--epochs", type=click.IntRange(min=1), help="Override the recipe's epochs."),
        click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True, help="Random seed."),
        click.option(
            "--train-size", type=click.IntRange(1, MNIST_TRAIN_SIZE), help="Train on a stratified subset of this many images."
        ),
        click.option("--batch-size", type=click.IntRange(min=1), help="Override the recipe's batch size."),
        click.option(
            "--learning-rate",
            type=click.FloatRange(min=0, min_open=True),
            callback=finite,
            help="Override the learning rate.",
        ),
        click.option("--data", type=click.Path(dir_okay=True), help="MNIST as an .npz or a folder of IDX files."),
        click.option("--retrain", is_flag=True, help="Train again even if a cached model matches."),
        click.option(
            "--deterministic",
            is_flag=True,
            help="Deterministic TensorFlow ops: the same seed gives the same weights on this machine (slower).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only."),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def plot_option(command: Callable) -> Callable:
    """``--plot FILE``: the learning curves as a figure, its path checked before any training."""
    return click.option(
        "--plot",
        type=click.Path(dir_okay=False, writable=True),
        callback=figure_path,
        metavar="FILE",
        help="Also write the learning curves (.png, .svg or .pdf).",
    )(command)


def _run(names: tuple[str, ...], *, title: str, as_json: bool, quiet: bool, plot: str | None = None, **kwargs) -> None:
    from digitzoo.training import train as train_model
    from digitzoo.zoo import cached

    err = Console(stderr=True, quiet=quiet, soft_wrap=True)
    _fetch_mnist_if_needed(names, kwargs, err)
    results = []
    for name in names:
        # A progress bar is a Keras callback, and Keras costs seconds to import: only for a training.
        training = not quiet and (kwargs.get("retrain") or cached(name, **kwargs) is None)
        callbacks = [fit_progress(err, name)] if training else []
        result = train_model(name, load=False, callbacks=callbacks, **kwargs)
        if result.reused:
            err.print(f"{name}: reusing the cached model {result.model_path}", highlight=False)
        results.append(result)
    if as_json:
        click.echo(_strict_json([r.to_dict() for r in results]))
    else:
        stdout_console().print(results_table(results, title))
    if plot is not None:
        from digitzoo.figures.curves import write_curves

        write_curves(results, plot, title=f"{title}: learning curves")
        err.print(f"wrote the learning curves to {plot}", highlight=False)


def _strict_json(rows: list[dict]) -> str:
    """JSON that every parser reads: NaN and Infinity are no JSON, so refuse them rather than print them."""
    try:
        return json.dumps(rows, indent=2, allow_nan=False)
    except ValueError:
        raise click.ClickException("a result holds a number that is not finite (NaN or infinity); JSON cannot carry it") from None


def _fetch_mnist_if_needed(names: tuple[str, ...], kwargs: dict, err: Console) -> None:
    """Download MNIST with a progress bar now rather than silently inside the first training.

    Only if some model must be trained: cached ones need no data, so they work offline.
    """
    fetch_mnist_if_missing(kwargs["data"], err, needed=lambda: _some_must_train(names, kwargs))


def _some_must_train(names: tuple[str, ...], kwargs: dict) -> bool:
    """Whether any of ``names`` has no cached model matching ``kwargs``; if so the cache must be writable."""
    from digitzoo.training import check_cache_writable
    from digitzoo.zoo import cached

    if all(cached(name, **kwargs) is not None for name in names):
        return False
    check_cache_writable()  # a home that cannot keep the model should fail before the download
    return True


def results_table(results, title: str = "digitzoo compare") -> Table:
    table = Table(title=title)
    table.add_column("model", style="bold cyan", no_wrap=True)
    table.add_column("params", justify="right")
    table.add_column("epochs", justify="right")
    table.add_column("train acc", justify="right")
    table.add_column("test acc", justify="right")
    table.add_column("gap", justify="right")
    table.add_column("train time", justify="right")
    table.add_column("diagnosis")
    for r in results:
        time_text = f"{r.train_seconds:.1f} s" + (" (cached)" if r.reused else "")
        size = "" if r.train_size == MNIST_TRAIN_SIZE else f" on {r.train_size:,}"
        table.add_row(
            r.name,
            f"{r.params:,}",
            f"{r.epochs}{size}",
            f"{r.train_accuracy:.2%}",
            f"{r.test_accuracy:.2%}",
            f"{r.gap * 100:+.2f} pt",
            time_text,
            f"[{_DIAGNOSIS_STYLE[r.diagnosis]}]{r.diagnosis}",
        )
    return table


@click.command()
@click.argument("name", callback=model_names)
@training_options
@plot_option
def train(name: str, **kwargs) -> None:
    """Train model NAME with its recipe (or reuse the cached result) and show its accuracy.

    \b
    Example:
        digitzoo train mlp --epochs 5 --plot mlp-curves.png
    """
    _run((name,), title="digitzoo train", **kwargs)


def _seed_spec(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    from digitzoo.errors import DigitzooError
    from digitzoo.stats import parse_seeds

    if value is None:
        return None
    try:
        return parse_seeds(value)
    except DigitzooError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.command()
@click.argument("names", nargs=-1, required=True, callback=model_names)
@training_options
@click.option(
    "--seeds",
    metavar="SPEC",
    callback=_seed_spec,
    help="Train each model once per seed (0-4, 0,3,7) and compare the means with 95% intervals.",
)
@plot_option
def compare(names: tuple[str, ...], seeds: tuple[int, ...] | None, **kwargs) -> None:
    """Train (or reuse) each model NAMES and compare train and test accuracy.

    The diagnosis: train accuracy below 95% is underfitting; test accuracy more than
    3 points below train accuracy is overfitting; otherwise the model generalises well.
    With --seeds every model is trained once per seed: the table shows each model's mean
    test accuracy with its spread, and every model after the first its difference from
    the first with a 95% interval (a paired t-test over the shared seeds) and a verdict:
    better, worse or within noise.

    \b
    Example:
        digitzoo compare tiny mlp overfit cnn --plot curves.png
        digitzoo compare mlp mlp-dropout mlp-l2 --seeds 0-4
    """
    if seeds is None:
        _run(names, title="digitzoo compare", **kwargs)
        return
    if click.get_current_context().get_parameter_source("seed") is not ParameterSource.DEFAULT:
        raise click.UsageError("--seed and --seeds cannot be used together")
    from .seeds_view import run_seeds

    kwargs.pop("seed")
    run_seeds(names, seeds, **kwargs)


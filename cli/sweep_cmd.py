"""``digitzoo sweep``: every model on every combination of settings and every seed, best first."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from .fit_progress import fit_progress
from .output import stdout_console
from .params import figure_path, model_names
from .train_cmd import _seed_spec, _strict_json, training_options

__all__ = ["sweep", "sweep_table"]


def _workers(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    from digitzoo.ray_runner import RAY_HINT, ray_installed

    if value is not None and value > 1 and not ray_installed():
        raise click.BadParameter(RAY_HINT, ctx=ctx, param=param)
    return value


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from digitzoo.ray_runner import RAY_HINT, ray_installed

    if value is not None and not value.strip():
        raise click.BadParameter("give the cluster's HOST:PORT", ctx=ctx, param=param)
    if value is not None and not ray_installed():
        raise click.BadParameter(RAY_HINT, ctx=ctx, param=param)
    return value


def _without_seed(command: click.Command) -> click.Command:
    # train's options but --seed: a sweep names its seeds with --seeds, and one option is clearer than two.
    command.params = [p for p in command.params if p.name != "seed"]
    return command


@_without_seed
@click.command()
@click.argument("names", nargs=-1, required=True, callback=model_names)
@click.option("--set", "sets", multiple=True, metavar="FIELD=V1,V2",
              help="Sweep a recipe field or builder option over these values (repeat for a grid).")
@click.option("--seeds", metavar="SPEC", default="0", show_default=True, callback=_seed_spec,
              help="Train every setting once per seed (0-4, 0,3,7).")
@training_options
@click.option("--workers", type=click.IntRange(min=1), callback=_workers,
              help="Trials at once, each on its share of the cores, on Ray (default: one per core "
                   "with the ray extra, else 1; 1 trains one after another in this process).")
@click.option("--address", metavar="HOST:PORT", callback=_address,
              help="Run the trials on the Ray cluster at HOST:PORT (default: $RAY_ADDRESS if set).")
@click.option("--plot", type=click.Path(dir_okay=False, writable=True), callback=figure_path, metavar="FILE",
              help="Also draw test accuracy against each swept field (.png, .svg or .pdf).")
def sweep(
    names: tuple[str, ...], sets: tuple[str, ...], seeds: tuple[int, ...], workers: int | None, address: str | None, **kwargs
) -> None:
    """Train (or reuse) every model NAMES on every combination of --set values and every seed.

    Each trial is an ordinary training, cached like 'digitzoo train': a sweep run again
    reuses the trials that finished and trains only the missing ones. Fields are the
    recipe's (epochs, learning_rate, batch_size, train_size, optimizer …) and the models'
    builder options (hidden for mlp); a bad field or value is refused before any training.
    The table groups the trials by model and setting, best mean test accuracy first, with
    the statistics of 'compare --seeds'; --plot draws test accuracy against each field.

    With the ray extra, trials run several at once on this machine, or on every machine of
    a Ray cluster with --address; each finished trial is saved in this machine's cache. A
    trial that fails is reported and the others go on (exit 1 at the end).

    \b
    Example:
        digitzoo sweep mlp --set hidden=64,128,256 --seeds 0-2
        digitzoo sweep tiny mlp --set learning_rate=0.01,0.05 --epochs 5 --plot lr.png
        digitzoo sweep mlp --seeds 0-9 --address 10.0.0.5:6379
    """
    from digitzoo.errors import DigitzooError
    from digitzoo.ray_runner import choose_runner
    from digitzoo.sweep import grid

    ctx = click.get_current_context()
    if kwargs["plot"] is not None and not sets:
        raise click.UsageError("--plot draws test accuracy against a swept field; give one with --set")
    try:
        trials = grid(names, sets, seeds, given=_train_kwargs(kwargs))
    except DigitzooError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=_param(ctx, "sets")) from None
    runner = choose_runner(workers, address)
    _run(names, sets, seeds, trials, runner, **kwargs)


def _param(ctx: click.Context, name: str) -> click.Parameter | None:
    return next((p for p in ctx.command.params if p.name == name), None)


def _train_kwargs(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k not in ("as_json", "quiet", "plot")}


def _run(names, sets, seeds, trials, runner, *, as_json: bool, quiet: bool, plot: str | None, **kwargs) -> None:
    """Train or reuse every trial with a line per trial on stderr, then the table (or JSON) and the plot."""
    from digitzoo.sweep import run_sweep

    from .progress import fetch_mnist_if_missing

    err = Console(stderr=True, quiet=quiet, soft_wrap=True)
    fetch_mnist_if_missing(kwargs["data"], err, needed=lambda: _some_must_train(trials, kwargs))
    told = _TrialLines(err, len(trials))
    result = run_sweep(
        names, sets, seeds, runner=runner, on_trial=told, on_started=told.started,
        callbacks=None if quiet else lambda t: [fit_progress(err, t.name)], **kwargs,
    )
    if as_json:
        click.echo(_strict_json(result.to_dict()))
    elif result.groups:
        stdout_console().print(sweep_table(result))
    reused = len(result.trials) - result.trained
    err.print(f"{result.trained} of {len(trials)} trials trained, {reused} reused, {len(result.failed)} failed",
              highlight=False)
    if plot is not None and result.groups:
        from digitzoo.figures import save_figure, sweep_figure

        save_figure(sweep_figure(result), plot)
        err.print(f"wrote test accuracy against the swept fields to {plot}", highlight=False)
    if result.failed:
        lines = "; ".join(f"{f.trial.name}: {f.error}" for f in result.failed)
        raise click.ClickException(f"{len(result.failed)} of {len(trials)} trials failed ({lines})")


def _some_must_train(trials, kwargs: dict) -> bool:
    """Whether any trial has no cached model; if so the cache must be writable (before a download)."""
    from digitzoo.training import check_cache_writable
    from digitzoo.zoo import cached

    if all(cached(t.model, **t.train_arguments(), **kwargs) is not None for t in trials):
        return False
    check_cache_writable()
    return True


class _TrialLines:
    """``on_trial``: one line per trial as it ends, with how many run and are left, and the best so far."""

    def __init__(self, console: Console, total: int) -> None:
        self.console, self.total, self.started_count, self.done, self.best = console, total, 0, 0, None

    def started(self, trial) -> None:
        self.started_count += 1

    def __call__(self, run) -> None:
        self.done += 1
        counts = f"{self.started_count - self.done} running, {self.total - self.started_count} left"
        if not hasattr(run, "result"):  # a TrialError
            self.console.print(f"trial {self.done}/{self.total} {run.trial.name} failed: {run.error} ({counts})",
                               highlight=False)
            return
        accuracy = run.result.test_accuracy
        if self.best is None or accuracy > self.best[0]:
            self.best = (accuracy, run.trial.name)
        cached = "cached; " if run.result.reused else ""
        self.console.print(
            f"trial {self.done}/{self.total} {run.trial.name}: test {accuracy:.1%} "
            f"({cached}{counts}; best so far: {self.best[0]:.1%}, {self.best[1]})",
            highlight=False,
        )


def sweep_table(result) -> Table:
    """One row per (model, setting), best mean test accuracy first."""
    from .seeds_view import STATS_COLUMNS, _seed_text, stats_cells

    table = Table(title=f"digitzoo sweep, seeds {_seed_text(result.seeds)}: means over the seeds, best first")
    table.add_column("model", style="bold cyan")
    table.add_column("setting", overflow="fold")  # the setting is what the row is about: never cut short
    for column, justify in STATS_COLUMNS:
        table.add_column(column, justify=justify)
    for g in result.groups:
        table.add_row(g.model, g.label or "—", *stats_cells(g.stats))
    return table

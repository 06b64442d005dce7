"""``digitzoo compare --seeds``: every model over several seeds, shown as means with spread and verdicts."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from .fit_progress import fit_progress
from .output import stdout_console

__all__ = ["run_seeds", "seeds_tables", "STATS_COLUMNS", "stats_cells"]

_VERDICT_STYLE = {"better": "green", "worse": "red", "within noise": "yellow"}


def run_seeds(
    names: tuple[str, ...], seeds: tuple[int, ...], *, as_json: bool, quiet: bool, plot: str | None = None, **kwargs
) -> None:
    """Train or reuse every model on every seed, then print the tables (or JSON) and draw ``plot``."""
    from digitzoo.experiments import compare_seeds

    from .progress import fetch_mnist_if_missing
    from .train_cmd import _some_must_train, _strict_json

    err = Console(stderr=True, quiet=quiet, soft_wrap=True)
    # MNIST with a progress bar now, and only if some run must train.
    fetch_mnist_if_missing(
        kwargs["data"], err, needed=lambda: any(_some_must_train(names, {**kwargs, "seed": s}) for s in seeds)
    )

    def progress(name: str, seed: int) -> list:
        return [] if quiet else [fit_progress(err, f"{name} seed {seed}")]

    def said(result) -> None:
        if result.reused:
            err.print(f"{result.name} seed {result.seed}: reusing the cached model", highlight=False)

    comparison = compare_seeds(names, seeds, callbacks=progress, on_run=said, **kwargs)
    if as_json:
        click.echo(_strict_json(comparison.to_dict()))
    else:
        out = stdout_console()
        for table in seeds_tables(comparison):
            out.print(table)
        if len(seeds) == 1:
            out.print("One seed: no interval, so no verdict; name several (--seeds 0-4).", highlight=False)
    if plot is not None:
        from digitzoo.figures import save_figure, seeds_figure

        save_figure(seeds_figure(comparison), plot)
        err.print(f"wrote the test accuracy over seeds to {plot}", highlight=False)


#: The columns of one model's (or one setting's) runs over seeds, as compare --seeds and sweep show them.
STATS_COLUMNS = [("seeds", "right"), ("test acc ± sd", "right"), ("min–max", "right"), ("train acc", "right"),
                 ("gap", "right"), ("time per run", "right"), ("diagnosis", "left")]


def stats_cells(m) -> list[str]:
    """The cells of :data:`STATS_COLUMNS` for ``m``, a :class:`digitzoo.experiments.ModelRuns`."""
    return [
        str(m.test.n),
        f"{m.test.mean:.2%} ± {100 * m.test.std:.2f}",
        f"{m.test.min:.2%}–{m.test.max:.2%}",
        f"{m.train.mean:.2%}",
        f"{m.gap * 100:+.2f} pt",
        f"{m.seconds.mean:.1f} s",
        m.diagnosis,
    ]


def seeds_tables(comparison) -> list[Table]:
    """The per-model table and, with two models or more, the table of differences from the first."""
    seeds = _seed_text(comparison.seeds)
    models = Table(title=f"digitzoo compare, seeds {seeds}")
    models.add_column("model", style="bold cyan")
    for column, justify in STATS_COLUMNS:
        models.add_column(column, justify=justify)
    for m in comparison.models:
        models.add_row(m.name, *stats_cells(m))
    if not comparison.comparisons:
        return [models]
    first = comparison.models[0].name
    against = Table(title=f"against {first}: test accuracy, 95% interval of the difference")
    for column in ("model", "difference", "95% interval", "test", "verdict"):
        against.add_column(column, justify="right" if column in ("difference", "95% interval") else "left")
    for c in comparison.comparisons:
        d = c.difference
        interval = "—" if d.low is None else f"{100 * d.low:+.2f} to {100 * d.high:+.2f} pt"
        test = f"{d.test}, n={d.n}" if d.test else "none"
        style = _VERDICT_STYLE.get(d.verdict)
        against.add_row(c.model, f"{100 * d.mean:+.2f} pt", interval, test, f"[{style}]{d.verdict}" if style else d.verdict)
    return [models, against]


def _seed_text(seeds: tuple[int, ...]) -> str:
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))

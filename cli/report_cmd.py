"""``digitzoo report``: a folder of figures and markdown on one trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .output import stderr_console, stdout_console
from .params import model_names
from .train_cmd import training_options

if TYPE_CHECKING:
    from rich.table import Table

    from digitzoo.report import Report

__all__ = ["report"]


@click.command()
@click.argument("name", callback=model_names)
@training_options
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the report in.  [default: report-NAME]",
)
@click.option(
    "--mistakes",
    type=click.IntRange(0, 200),
    default=24,
    show_default=True,
    help="Show this many of the most confident wrong predictions.",
)
def report(name: str, output: Path | None, mistakes: int, as_json: bool, quiet: bool, **kwargs) -> None:
    """Write a report on model NAME: learning curves, confusion matrix, mistakes, per-digit metrics, calibration.

    The model is trained with its recipe and the training options given, or the cached one is
    reused. The folder gets curves.png, confusion.png, mistakes.png, reliability.png and report.md, which shows
    them under a table of the metrics; the terminal gets the confusion matrix, the
    precision and recall of each digit, and the expected calibration error (ECE) of its
    probabilities before and after calibration.

    \b
    Example:
        digitzoo report cnn -o assets/report-cnn
    """
    from digitzoo.report import model_report, prepare_report_folder, write_report

    from .fit_progress import fit_progress
    from .progress import fetch_mnist_if_missing

    err = stderr_console(quiet=quiet, soft_wrap=True)
    # A folder that cannot hold the report fails now, not after the training.
    folder = prepare_report_folder(output if output is not None else Path(f"report-{name}"))
    fetch_mnist_if_missing(kwargs["data"], err)  # the test set is needed even for a cached model
    callbacks = [] if quiet else [fit_progress(err, name)]
    numbers = model_report(name, mistakes=mistakes, callbacks=callbacks, **kwargs)
    if numbers.result.reused:
        err.print(f"{name}: reusing the cached model {numbers.result.model_path}", highlight=False)
    paths = write_report(numbers, folder)
    if as_json:
        _echo_json({**numbers.to_dict(), "files": {kind: str(path) for kind, path in paths.items()}})
        return
    from .train_cmd import results_table

    out = stdout_console()
    out.print(results_table([numbers.result], "digitzoo report"))
    out.print(confusion_table(numbers))
    out.print(digits_table(numbers))
    out.print(calibration_table(numbers))
    figures = ", ".join(path.name for kind, path in paths.items() if kind != "markdown")
    out.print(f"report written to {paths['markdown']}, with {figures}", highlight=False)


def _echo_json(data: dict) -> None:
    try:
        click.echo(json.dumps(data, indent=2, allow_nan=False))
    except ValueError:
        message = "the report holds a number that is not finite (NaN or infinity); JSON cannot carry it"
        raise click.ClickException(message) from None


def confusion_table(numbers: Report) -> Table:
    """The confusion matrix: a row per true digit, a column per predicted digit, hits in green."""
    from rich.table import Table

    table = Table(title="confusion matrix: rows true digit, columns predicted")
    table.add_column("true", style="bold cyan", justify="right")
    for digit in range(len(numbers.confusion)):
        table.add_column(str(digit), justify="right")
    for true, row in enumerate(numbers.confusion):
        cells = []
        for predicted, count in enumerate(row):
            style = "bold green" if predicted == true else ("dim" if count == 0 else "red")
            cells.append(f"[{style}]{count}")
        table.add_row(str(true), *cells)
    return table


def digits_table(numbers: Report) -> Table:
    """Precision, recall and number of test images per digit."""
    from rich.table import Table

    table = Table(title="per digit")
    table.add_column("digit", style="bold cyan", justify="right")
    table.add_column("precision", justify="right")
    table.add_column("recall", justify="right")
    table.add_column("test images", justify="right")
    for row in numbers.digits():
        table.add_row(str(row["digit"]), f"{row['precision']:.2%}", f"{row['recall']:.2%}", f"{row['support']:,}")
    return table


def calibration_table(numbers: Report) -> Table:
    """The temperature and the test set's expected calibration error before and after it."""
    from rich.table import Table

    calibration = numbers.calibration()
    held_out = calibration["held_out_size"]
    table = Table(
        title="calibration on the test set",
        caption=f"temperature fitted on {held_out:,} held-out training images" if held_out else "no images held out: not calibrated",
    )
    table.add_column("probabilities", style="bold cyan")
    table.add_column("ECE (15 bins)", justify="right")
    table.add_column("clean digit, median", justify="right")
    table.add_row("uncalibrated", f"{calibration['ece_before']:.2%}", "")
    clean = calibration["clean_confidence"]
    table.add_row(
        f"calibrated (T = {calibration['temperature']:g})", f"{calibration['ece_after']:.2%}",
        f"{clean:.2%}" if clean is not None else "—",
    )
    return table

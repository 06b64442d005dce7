"""``digitzoo predict``: read handwritten digits in photos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .output import stderr_console, stdout_console
from .params import model_names

if TYPE_CHECKING:
    from rich.console import Console

    from digitzoo.predict import Prediction

__all__ = ["predict"]


def _best_shipped() -> str:
    """`` (NAME)``: the model ``predict`` uses by default, for ``--help``; read from the manifest only."""
    from digitzoo.errors import DigitzooError
    from digitzoo.weights import best_pretrained

    try:
        return f" ({best_pretrained()})"
    except DigitzooError:
        return ""


@click.command()
# A folder or a missing file is not a usage error: like any unreadable image it gets its own
# error entry (and line) while the other images are read.
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model",
    "-m",
    callback=model_names,
    help="Zoo model to recognise with: the one you trained (digitzoo train NAME) if it is in the cache, else "
    "its shipped weights, else it is trained first. Default: the most accurate shipped model"
    f"{_best_shipped()}, pretrained, never trained.",
)
@click.option(
    "--model-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own Keras model file (.keras only, loaded in safe mode): 28×28 pixels in, 10 probabilities out.",
)
@click.option("--top", type=click.IntRange(1, 10), default=3, show_default=True, help="Show the K likeliest digits.")
@click.option(
    "--multi", is_flag=True, help="Read each image as a row of digits, left to right (default: when it clearly is one)."
)
@click.option("--single", is_flag=True, help="Read all the ink of each image as one digit.")
@click.option(
    "--uncalibrated",
    is_flag=True,
    help="Show the model's own probabilities. By default they are calibrated on images held out from training, "
    "so that digits read at 90 % are right about 9 times in 10.",
)
@click.option(
    "--debug",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save every stage (gray, ink, binary, crop, 28×28) as PNG in this folder, and NAME-stages.png: "
    "all of them in one figure with the digits read.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def predict(
    images: tuple[Path, ...],
    model: str | None,
    model_file: Path | None,
    top: int,
    multi: bool,
    single: bool,
    uncalibrated: bool,
    debug: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Recognise the handwritten digit in each IMAGE (a photo, scan or drawing).

    Dark ink on light paper and chalk on a dark board both work. An image whose ink holds several
    digit-sized marks side by side, at any height, is read as a row; where its pieces could also be
    one broken digit, the more probable reading wins (--single or --multi decide instead). The
    model is the most accurate one shipped with digitzoo unless --model or --model-file names
    another. An image that cannot be read is reported (with --json, as an entry with an "error")
    and the exit code is 1.

    \b
    Example:
        digitzoo predict assets/digits/seven.jpg
        digitzoo predict assets/digits/row.jpg --model cnn --debug /tmp/why
    """
    from digitzoo.predict import predict_stages, read_images, save_stages

    _check_before_reading(model, model_file, multi, single, debug)
    err = stderr_console(quiet=quiet, soft_wrap=True)
    stages = read_images(images, multi=True if multi else False if single else None)
    _report_errors(images, stages)
    read = [s for s in stages if not isinstance(s, Exception)]
    # The model is loaded (or trained) only once some image has been read.
    reader = _reader(model, model_file, err, quiet, calibrated=not uncalibrated) if read else None
    predictions = predict_stages(reader, stages, top=top, sources=images)
    if not multi and not single:
        _hint_rows(predictions, err)
    _show(predictions, as_json, top, calibrated=getattr(reader, "temperature", 1.0) != 1.0)
    if debug is not None:
        # After the results are shown: a write that fails now (a full disk) loses no prediction.
        save_stages(predictions, debug)
    if len(read) < len(stages):
        raise SystemExit(1)


def _check_before_reading(
    model: str | None, model_file: Path | None, multi: bool, single: bool, debug: Path | None
) -> None:
    """Options that cannot work fail now, before any image is read or model trained."""
    from digitzoo.predict import check_model_file, prepare_stage_folder

    if multi and single:
        raise click.UsageError("--single and --multi cannot be used together")
    if model is not None and model_file is not None:
        raise click.UsageError("--model and --model-file cannot be used together")
    if model_file is not None:
        check_model_file(model_file)  # a wrong or missing file
    if debug is not None:
        prepare_stage_folder(debug)  # a folder that cannot be written


def _reader(model: str | None, model_file: Path | None, err: Console, quiet: bool, *, calibrated: bool):
    """The model that reads the digits: the user's file, or the zoo model ``--model`` names."""
    from digitzoo.predict import load_model_file

    if model_file is not None:
        return load_model_file(model_file)  # a file of the user's carries no temperature
    found = _model(model, err, quiet)
    return found.calibrated() if calibrated else found.model


def _model(name: str | None, err: Console, quiet: bool):
    """The model to read with (its ``ModelSource``): see ``--model``. Only a zoo model without cache or weights is trained."""
    from digitzoo.errors import NoModelError
    from digitzoo.training import check_cache_writable
    from digitzoo.zoo import resolve

    from .fit_progress import fit_progress
    from .progress import fetch_mnist_if_missing

    try:
        return resolve(name, runtime="auto")  # the cached model the user trained, else the shipped weights
    except NoModelError:
        pass
    err.print(f"no trained {name!r} model in the cache yet: training it first", highlight=False)
    check_cache_writable()  # a home that cannot keep the model fails before the download
    fetch_mnist_if_missing(None, err)
    return resolve(name, train=True, callbacks=[] if quiet else [fit_progress(err, name)])


def _report_errors(images: tuple[Path, ...], stages: list) -> None:
    """One ``Error:`` line per image that cannot be read, at once rather than after any training."""
    for path, stage in zip(images, stages):
        if isinstance(stage, Exception):
            message = str(stage) if str(path) in str(stage) else f"{path}: {stage}"
            click.echo(f"Error: {message}", err=True)


def _hint_rows(predictions: list[Prediction], err: Console) -> None:
    """Images read as one digit although their ink falls into columns: the reading might be wrong."""
    for p in predictions:
        if p.stages is not None and p.reading == "single" and p.stages.columns > 1:
            message = f"{p.source}: read as one digit ({p.why}); --multi reads its {p.stages.columns} marks as a row"
            err.print(message, highlight=False, markup=False)


def _show(predictions: list[Prediction], as_json: bool, top: int, *, calibrated: bool) -> None:
    if as_json:
        entries = [p.to_dict() if p.error else {**p.to_dict(), "calibrated": calibrated} for p in predictions]
        click.echo(json.dumps(entries, indent=2))
        return
    read = [p for p in predictions if not p.error]
    if not read:
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title="digitzoo predict",
        caption="calibrated probabilities" if calibrated else "the model's own (uncalibrated) probabilities",
    )
    table.add_column("image", style="bold cyan", overflow="fold")
    table.add_column("read", style="bold", justify="center")
    table.add_column("confidence", justify="right")
    table.add_column(f"top {top} per digit")
    for p in read:
        alternatives = "\n".join("  ".join(f"{d} {q:.1%}" for d, q in g.top) for g in p.guesses)
        # Text, not str: a file name such as "[draft].png" is not rich markup.
        table.add_row(Text(p.source), p.digits, f"{p.confidence:.1%}", alternatives)
    stdout_console().print(table)

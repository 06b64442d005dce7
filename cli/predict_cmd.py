"""``digitzoo predict``: read handwritten digits in photos."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typing import TYPE_CHECKING

import click

from digitzoo.errors import DigitzooError

from .output import stderr_console, stdout_console
from .params import model_names

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["predict"]


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--model", "-m", default="cnn", show_default=True, callback=model_names, help="Zoo model to recognise with."
)
@click.option("--top", type=click.IntRange(1, 10), default=3, show_default=True, help="Show the K likeliest digits.")
@click.option("--multi", is_flag=True, help="Each image holds a row of digits: read them all, left to right.")
@click.option(
    "--debug",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save every stage (gray, ink, binary, crop, 28×28) as PNG in this folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def predict(
    images: tuple[Path, ...], model: str, top: int, multi: bool, debug: Path | None, as_json: bool, quiet: bool
) -> None:
    """Recognise the handwritten digit in each IMAGE (a photo, scan or drawing).

    Dark ink on light paper and chalk on a dark board both work. The model is the cached
    trained one; if there is none it is trained first.

    \b
    Example:
        digitzoo predict assets/digits/seven.jpg
        digitzoo predict --multi assets/digits/row.jpg --debug /tmp/why
    """
    from digitzoo.predict import predict_stages, read_digits

    err = stderr_console(quiet=quiet, soft_wrap=True)
    stages, failed = [], []
    for path in images:
        try:
            stage = read_digits(path, multi=multi)
            stages.append((path, stage))
            if not multi and stage.columns > 1:
                err.print(f"{path}: looks like {stage.columns} digits side by side; --multi reads each", highlight=False)
        except DigitzooError as exc:
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            failed.append(message)
            click.echo(f"Error: {message}", err=True)
    if stages:
        keras_model = _trained_model(model, err)
        results = predict_stages(keras_model, [s for _, s in stages], top=top, sources=[str(p) for p, _ in stages])
        if debug is not None:
            _save_debug(debug, stages)
        _show(results, as_json, top)
    if failed:
        raise SystemExit(1)


def _trained_model(model: str, err: Console):
    """The cached trained model, or a newly trained one (with a notice and progress)."""
    from digitzoo.training import train

    from .fit_progress import fit_progress

    cached = train(model, only_cached=True)
    if cached is not None:
        return cached.model
    err.print(f"no trained {model!r} model in the cache yet: training it first", highlight=False)
    return train(model, callbacks=[fit_progress(err, model)]).model


def _save_debug(folder: Path, stages) -> None:
    from digitzoo.image.io import write_image

    for path, stage in stages:
        stem = re.sub(r"[^\w.-]+", "_", path.stem)
        write_image(folder / f"{stem}-1-gray.png", stage.gray)
        write_image(folder / f"{stem}-2-ink.png", stage.ink)
        write_image(folder / f"{stem}-3-binary.png", stage.binary)
        for i, (crop, digit) in enumerate(zip(stage.crops, stage.digits), start=1):
            write_image(folder / f"{stem}-4-crop-{i}.png", crop)
            write_image(folder / f"{stem}-5-mnist-{i}.png", digit)


def _show(results, as_json: bool, top: int) -> None:
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    from rich.table import Table

    table = Table(title="digitzoo predict")
    table.add_column("image", style="bold cyan", overflow="fold")
    table.add_column("read", style="bold", justify="center")
    table.add_column("confidence", justify="right")
    table.add_column(f"top {top} per digit")
    for r in results:
        alternatives = "\n".join(
            "  ".join(f"{d} {p:.1%}" for d, p in g.top) for g in r.guesses
        )
        table.add_row(r.source, r.digits, f"{r.confidence:.1%}", alternatives)
    stdout_console().print(table)

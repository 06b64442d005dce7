"""``digitzoo show``: look at MNIST digits in the terminal, as numbers, or as a picture.

The library gives the pixels (``load_mnist``, ``sample_per_class``) and draws the picture
(``digits_figure``); the terminal drawing is rich's, so it lives here.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .output import stderr_console, stdout_console
from .params import figure_path

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console, RenderableType
    from rich.text import Text

__all__ = ["show", "terminal_text", "half_blocks", "pixel_values", "digits_drawing"]

#: A digit drawn with half blocks is as wide as it has pixels; two columns between digits.
_GAP = 2
#: Without colours a half block is on where its pixel is at least this bright.
_INK = 128
#: With no INDEX: random digits of each class on the terminal, and in a picture (rows by class).
_SAMPLE_TERMINAL, _SAMPLE_PICTURE = 1, 10
#: Digits side by side in an SVG of the terminal drawing at most.
_SVG_ACROSS = 5


@click.command()
@click.argument("indices", metavar="[INDEX]...", nargs=-1, type=click.IntRange(min=0))
@click.option("--test", is_flag=True, help="Digits of the test set (default: the training set).")
@click.option(
    "--values", is_flag=True, help="Print each digit's 28×28 bytes (0 black … 255 white) instead of drawing it."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=figure_path,
    help="Write the digits as a captioned grid to this .png, .svg or .pdf file.",
)
@click.option(
    "--svg",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=lambda ctx, param, value: _suffix(value, param, (".svg",)),
    help="Also save what is shown on the terminal, in grey levels, as this .svg file.",
)
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1),
    help=f"With no INDEX: random digits of each class  [default: {_SAMPLE_TERMINAL}; {_SAMPLE_PICTURE} with -o]",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed of the sample.")
@click.option("--data", type=click.Path(dir_okay=True), help="MNIST as an .npz or a folder of IDX files.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (indices, labels, pixels).")
def show(
    indices: tuple[int, ...],
    test: bool,
    values: bool,
    output: Path | None,
    svg: Path | None,
    count: int | None,
    seed: int,
    data: str | None,
    as_json: bool,
) -> None:
    """Show MNIST digits in the terminal with their labels, or write them as a PNG.

    INDEX counts from 0 in the training set (the test set with --test); with no INDEX, --count
    random digits of each class are shown. On a terminal each digit is drawn in its grey levels,
    two pixel rows to a character; piped, a pixel is ink where it is at least 128.

    \b
    Example:
        digitzoo show 0
        digitzoo show 0 1 2 --values
        digitzoo show --test -o digits.png
    """
    which = "test" if test else "train"
    _check_indices(indices, which)
    if indices and (count is not None or seed != 0):
        raise click.UsageError("--count and --seed choose a random sample; they cannot be combined with INDEX")
    if as_json and (values or svg is not None):
        raise click.UsageError("--json prints only JSON; it cannot be combined with --values or --svg")
    x, y = _load_set(data, which)
    if not indices:
        count = count or (_SAMPLE_PICTURE if output is not None else _SAMPLE_TERMINAL)
    chosen = list(indices) if indices else _sample(y, count, seed)
    images, labels = x[chosen], [int(label) for label in y[chosen]]
    if output is not None:
        _write_picture(output, images, labels, chosen, which, None if indices else count, seed)
    if as_json:
        click.echo(json.dumps(_json_result(which, chosen, labels, images, output)))
        return
    _show_on_terminal(images, labels, chosen, values=values, output=output, svg=svg)


def _check_indices(indices: tuple[int, ...], which: str) -> None:
    """Every INDEX is in the set, checked from its known size before MNIST is loaded."""
    from digitzoo.data.verify import SHAPES

    available = SHAPES[f"y_{which}"][0]
    for index in indices:
        if index >= available:
            raise click.BadParameter(
                f"{index} is not in the {_SET_NAME[which]} (indices 0 to {available - 1})", param_hint="INDEX"
            )


def _load_set(data: str | None, which: str) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of the ``which`` set, downloading MNIST first (with progress) if need be."""
    from digitzoo.data import load_mnist

    from .progress import fetch_mnist_if_missing

    fetch_mnist_if_missing(data, stderr_console())
    (x_train, y_train), (x_test, y_test) = load_mnist(data)
    return (x_test, y_test) if which == "test" else (x_train, y_train)


def _sample(labels: np.ndarray, count: int, seed: int) -> list[int]:
    """Indices of ``count`` random digits of each class."""
    from digitzoo.data.subset import sample_per_class

    return [int(i) for i in sample_per_class(labels, count, seed=seed)]


def _json_result(
    which: str, chosen: list[int], labels: list[int], images: np.ndarray, output: Path | None
) -> dict[str, Any]:
    """What --json prints: the set, each digit's index, label and 28×28 bytes, and the picture written."""
    digits = [{"index": i, "label": label, "pixels": image.tolist()} for i, label, image in zip(chosen, labels, images)]
    return {"set": which, "digits": digits, "output": None if output is None else str(output)}


def _show_on_terminal(
    images: np.ndarray, labels: list[int], chosen: list[int], *, values: bool, output: Path | None, svg: Path | None
) -> None:
    """Draw the digits (or their bytes) unless a picture was asked for; say which files were written."""
    console = stdout_console()
    if svg is not None:
        _write_svg(svg, images, labels, chosen, values=values)
    if output is None or values:
        text = terminal_text(images, labels, chosen, values=values, width=console.width, color=_has_color(console))
        console.print(text, soft_wrap=True)
    for path in (output, svg):
        if path is not None:
            console.print(f"Wrote {path}", highlight=False, markup=False, soft_wrap=True)


_SET_NAME = {"train": "training set", "test": "test set"}


def _suffix(value: Path | None, param: click.Parameter, suffixes: tuple[str, ...]) -> Path | None:
    """An output file's kind is checked before MNIST is loaded, not after."""
    if value is not None and value.suffix.lower() not in suffixes:
        kinds = " or ".join(", ".join(suffixes).rsplit(", ", 1))
        raise click.BadParameter(f"cannot write {value.name!r}: use a {kinds} file name", param=param)
    return value


def _has_color(console: Console) -> bool:
    return console.color_system is not None and not console.no_color


def _header(index: int, label: int) -> str:
    return f"#{index}  label {label}"


def half_blocks(image: np.ndarray, *, color: bool = True) -> Text:
    """Draw a gray uint8 ``image`` two pixel rows to a line with the upper half block "▀".

    With ``color`` the block's foreground is the upper pixel's grey and its background the lower
    one's (a missing lower row of an odd height keeps the terminal's background). Without, each
    character is " ", "▀", "▄" or "█": which of its two pixels are at least 128 (ink).
    """
    import numpy as np
    from rich.color import Color
    from rich.style import Style
    from rich.text import Text

    pixels = np.asarray(image)
    if pixels.ndim != 2:
        raise ValueError(f"image must be 2-D (height × width), got shape {pixels.shape}")
    text = Text(no_wrap=True, overflow="crop")
    for top_row in range(0, pixels.shape[0], 2):
        if top_row:
            text.append("\n")
        upper = pixels[top_row].tolist()
        lower = pixels[top_row + 1].tolist() if top_row + 1 < pixels.shape[0] else None
        for column, up in enumerate(upper):
            down = None if lower is None else lower[column]
            if color:
                style = Style(
                    color=Color.from_rgb(up, up, up),
                    bgcolor=None if down is None else Color.from_rgb(down, down, down),
                )
                text.append("▀", style)
            else:
                text.append(" ▀▄█"[(up >= _INK) + 2 * (down is not None and down >= _INK)])
    return text


def pixel_values(image: np.ndarray, *, color: bool = False) -> Text:
    """The bytes of ``image``, one line per pixel row, each number right-aligned in 3 columns.

    With ``color`` a non-zero number is shown on its own grey, as the pixel looks.
    """
    from rich.color import Color
    from rich.style import Style
    from rich.text import Text

    text = Text(no_wrap=True)
    for r, row in enumerate(image.tolist()):
        if r:
            text.append("\n")
        for c, value in enumerate(row):
            if c:
                text.append(" ")
            if not color:
                text.append(f"{value:3d}")
            elif value == 0:
                text.append(f"{value:3d}", "bright_black")
            else:
                ink = Color.from_rgb(0, 0, 0) if value >= _INK else Color.from_rgb(255, 255, 255)
                text.append(f"{value:3d}", Style(color=ink, bgcolor=Color.from_rgb(value, value, value)))
    return text


def terminal_text(
    images: np.ndarray, labels: list[int], indices: list[int], *, values: bool, width: int, color: bool
) -> Text:
    """What ``show`` prints: the digits drawn side by side, or (``values``) each one's bytes under its label."""
    from rich.text import Text

    if not values:
        return digits_drawing(images, labels, indices, width=width, color=color)
    parts = []
    for index, label, image in zip(indices, labels, images):
        parts.append(Text(_header(index, label), style="bold") + Text("\n") + pixel_values(image, color=color))
    return Text("\n\n", no_wrap=True).join(parts)


def digits_drawing(
    images: np.ndarray, labels: list[int], indices: list[int], *, width: int, color: bool
) -> Text:
    """The digits with their index and label above each, side by side as ``width`` columns allow.

    Rows of digits are a blank line apart; lines carry no trailing spaces, so piped output can be
    pasted as it is.
    """
    from rich.text import Text

    digit_width = images.shape[2]
    across = max(1, (width + _GAP) // (digit_width + _GAP))
    lines: list[Text] = []
    for start in range(0, len(indices), across):
        if start:
            lines.append(Text())
        group = range(start, min(start + across, len(indices)))
        headers = [Text(_header(indices[k], labels[k])[:digit_width], style="bold") for k in group]
        drawings = [half_blocks(images[k], color=color).split("\n") for k in group]
        for cells in [headers, *zip(*drawings)]:
            line = Text(no_wrap=True, overflow="crop")
            for n, cell in enumerate(cells):
                if n:
                    line.append(" " * _GAP)
                line.append_text(cell)
                line.pad_right(digit_width - cell.cell_len)
            line.rstrip()
            lines.append(line)
    return Text("\n", no_wrap=True, overflow="crop").join(lines)


def _write_picture(
    path: Path, images: np.ndarray, labels: list[int], indices: list[int], which: str, count: int | None, seed: int
) -> None:
    from digitzoo.figures import digits_figure, save_figure

    captions = [f"{label} · #{index}" for label, index in zip(labels, indices)]
    title = f"MNIST {_SET_NAME[which]}"
    if count is not None:
        title += f": {count} random digit{'s' if count > 1 else ''} of each class (seed {seed})"
    figure = digits_figure(images, labels, captions=captions, columns=count, title=title)
    save_figure(figure, path)


def _write_svg(path: Path, images: np.ndarray, labels: list[int], indices: list[int], *, values: bool) -> None:
    """What ``show`` prints, in colour as a true-colour terminal shows it, saved by rich as SVG."""
    from rich.console import Console

    from digitzoo.files import atomic_path

    digit_width = images.shape[2]
    if values:
        width = 4 * digit_width - 1
    else:
        width = min(len(indices), _SVG_ACROSS) * (digit_width + _GAP) - _GAP
    recorder = Console(record=True, file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor")
    recorder.print(terminal_text(images, labels, indices, values=values, width=width, color=True), soft_wrap=True)
    title = "digitzoo show" + "".join(f" {i}" for i in indices[:10]) + (" …" if len(indices) > 10 else "")
    try:
        with atomic_path(path, suffix=".svg") as tmp:
            recorder.save_svg(str(tmp), title=title + (" --values" if values else ""))
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None

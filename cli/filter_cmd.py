"""``digitzoo filter`` and ``digitzoo kernels``: convolution kernels on photos and on the tutorial's 8×8."""

from __future__ import annotations

import json
import math
import os
from fractions import Fraction
from pathlib import Path

from typing import TYPE_CHECKING

import click
import numpy as np

from digitzoo.errors import KernelError
from digitzoo.image.filters import BORDERS, DISPLAYS, MODES, FilterResult  # numpy, which every path here needs anyway

from .output import stdout_console

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["filter_", "kernels"]

_CORRELATION_NOTE = {
    "correlate": "correlation: the kernel as written, as Keras Conv2D and cv2.filter2D compute it",
    "convolve": "convolution: the kernel flipped both ways first (Keras Conv2D and cv2.filter2D do not flip)",
}


@click.command("filter")
@click.argument("image", required=False, type=click.Path(path_type=Path))
@click.option(
    "--kernel",
    "-k",
    "kernel_spec",
    metavar="NAME|MATRIX|FILE",
    help="A name from 'digitzoo kernels', a matrix such as '1,0,-1;2,0,-2;1,0,-1', or a .npy/text file.",
)
@click.option(
    "--mode", type=click.Choice(MODES), default="correlate", show_default=True, help="convolve flips the kernel."
)
@click.option("--border", type=click.Choice(BORDERS), help="Edge handling  [default: reflect101; valid for --demo]")
@click.option(
    "--display",
    type=click.Choice(DISPLAYS),
    help="abs: edge strength; signed: gray = 0, bright > 0, dark < 0; clip: [0, 1]. "
    "[default: clip for kernels summing to 1, else abs]",
)
@click.option("--color", is_flag=True, help="Filter B, G and R separately instead of the gray image.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=lambda ctx, param, value: _writable(value),
    help="PNG (or .jpg, .bmp, .tif, .webp) to write  [default: IMAGE-KERNEL.png beside IMAGE]",
)
@click.option(
    "--side-by-side",
    is_flag=True,
    help="Write a figure instead: the input and the result next to each other, titled, with the kernel.",
)
@click.option("--demo", is_flag=True, help="Show the tutorial's 8×8 edge example in the terminal instead.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
def filter_(
    image: Path | None,
    kernel_spec: str | None,
    mode: str,
    border: str | None,
    display: str | None,
    color: bool,
    output: Path | None,
    side_by_side: bool,
    demo: bool,
    as_json: bool,
) -> None:
    """Slide a convolution kernel over IMAGE and write the response as a PNG.

    The response is signed (for 'vertical': positive where the left is brighter), computed on
    the gray image with pixels in [0, 1]. By default this is correlation, the operation Keras
    Conv2D and OpenCV filter2D perform; --mode convolve flips the kernel first. Images over
    16.8 megapixels (4096×4096) are shrunk to that size first; photos are turned upright as
    their EXIF orientation says.

    \b
    Example:
        digitzoo filter assets/cup.jpg --kernel vertical
        digitzoo filter photo.png -k '1,0,-1;2,0,-2;1,0,-1' --display signed --side-by-side
        digitzoo filter --demo
    """
    if demo:
        _refuse_with_demo(image, output, side_by_side, color, display)
        _demo(_kernel(kernel_spec or "vertical")[1], mode, border or "valid", as_json)
        return
    _require(image, kernel_spec)
    label, kernel = _kernel(kernel_spec)
    border = border or "reflect101"
    output = _output_path(image, output, label, side_by_side)
    summary = _filter_file(
        image, output, label, kernel, mode=mode, border=border, display=display, color=color, side_by_side=side_by_side
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _show_summary(summary, kernel)


def _refuse_with_demo(
    image: Path | None, output: Path | None, side_by_side: bool, color: bool, display: str | None
) -> None:
    """--demo filters the tutorial's 8×8 in the terminal: options about files and pictures mean nothing there."""
    if image is not None or output is not None or side_by_side or color or display:
        raise click.UsageError("--demo takes only --kernel, --mode, --border and --json")


def _require(image: Path | None, kernel_spec: str | None) -> None:
    """IMAGE and --kernel are optional to click only because --demo needs neither."""
    if image is None:
        raise click.UsageError("Missing argument 'IMAGE' (or use --demo).")
    if kernel_spec is None:
        raise click.UsageError("Missing option '--kernel' (see 'digitzoo kernels').")


def _output_path(image: Path, output: Path | None, label: str, side_by_side: bool) -> Path:
    """``output``, or IMAGE-KERNEL[-side-by-side].png beside IMAGE; never the input image itself."""
    if output is None:
        suffix = "-side-by-side" if side_by_side else ""
        output = image.with_name(f"{image.stem}-{label}{suffix}.png")
    if _same_file(image, output):
        raise click.BadParameter(f"{output} is the input image; choose another file", param_hint="'--output'")
    return output


def _filter_file(
    image: Path,
    output: Path,
    label: str,
    kernel: np.ndarray,
    *,
    mode: str,
    border: str,
    display: str | None,
    color: bool,
    side_by_side: bool,
) -> dict:
    """Filter IMAGE, write the picture (or the side-by-side figure) to ``output``; what was done, as JSON-ready data."""
    from digitzoo.image.filters import filter_image
    from digitzoo.image.io import load_image, write_image

    loaded = load_image(image)
    pixels = loaded.pixels
    result = filter_image(pixels, kernel, mode=mode, border=border, display=display, color=color)
    picture = result.picture
    if side_by_side:
        picture = _side_by_side(pixels, result, image_name=image.name, label=label, kernel=kernel, color=color)
    write_image(output, picture)
    return {
        "input": str(image),
        "input_size": list(loaded.size),
        "read_size": list(pixels.shape[:2][::-1]),
        "output": str(output),
        "output_size": list(picture.shape[:2][::-1]),
        "kernel": label,
        "matrix": kernel.tolist(),
        "mode": mode,
        "border": border,
        "display": result.display,
        "color": color,
        "response_size": list(result.response.shape[:2][::-1]),
        "response_min": result.min,
        "response_max": result.max,
    }


def _side_by_side(
    pixels: np.ndarray, result: FilterResult, *, image_name: str, label: str, kernel: np.ndarray, color: bool
) -> np.ndarray:
    """The input and the result next to each other, titled, as pixels: written as any other picture,
    so every format -o takes."""
    from digitzoo.figures import figure_pixels, filter_figure
    from digitzoo.image.filters import show_image

    figure = filter_figure(show_image(pixels, color=color), result.picture, kernel_name=label, kernel=kernel,
                           display=result.display, image_name=image_name)
    return figure_pixels(figure)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
def kernels(as_json: bool) -> None:
    """List the named kernels of 'digitzoo filter' with their matrices.

    \b
    Example:
        digitzoo kernels
    """
    from digitzoo.image.kernels import DESCRIPTIONS, KERNELS

    if as_json:
        listed = [
            {"name": name, "matrix": kernel.tolist(), "description": DESCRIPTIONS[name]}
            for name, kernel in KERNELS.items()
        ]
        click.echo(json.dumps(listed, indent=2))
        return
    from rich.table import Table

    table = Table(title="digitzoo kernels", show_lines=True, caption=_CORRELATION_NOTE["correlate"])
    table.add_column("kernel", style="bold cyan", no_wrap=True)
    table.add_column("matrix", no_wrap=True)
    table.add_column("what it does")
    for name, kernel in KERNELS.items():
        table.add_row(name, _matrix_text(kernel), DESCRIPTIONS[name])
    stdout_console().print(table)


def _kernel(spec: str) -> tuple[str, np.ndarray]:
    from digitzoo.image.kernels import resolve_kernel

    try:
        return resolve_kernel(spec)
    except KernelError as exc:
        raise click.BadParameter(str(exc), param_hint="'--kernel'") from None


def _writable(output: Path | None) -> Path | None:
    """Refuse an output format before any work, rather than after filtering."""
    from digitzoo.errors import ImageError
    from digitzoo.image.io import check_write_format

    if output is not None:
        try:
            check_write_format(output)
        except ImageError as exc:
            raise click.BadParameter(str(exc)) from None
    return output


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _number(value: float) -> str:
    """Short text for a kernel weight or response: integers without '.0', others to 4 digits."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def _matrix_text(matrix: np.ndarray) -> str:
    """Rows of right-aligned numbers; a blur like 1/16·[[1, 2, 1], …] is shown as '1/16 ×' and integers."""
    scale = _common_denominator(matrix)
    cells = [[_number(v) for v in row] for row in matrix * scale]
    width = max(len(cell) for row in cells for cell in row)
    rows = "\n".join(" ".join(cell.rjust(width) for cell in row) for row in cells)
    return rows if scale == 1 else f"1/{scale} ×\n{rows}"


def _common_denominator(matrix: np.ndarray, largest: int = 1024) -> int:
    """The smallest d <= ``largest`` that makes every weight whole, or 1 if there is none."""
    # The least common multiple of each weight's own denominator: one pass, where trying
    # every d in turn cost a visible share of `digitzoo kernels`' run time.
    denominator = 1
    for value in matrix.flat:
        denominator = math.lcm(denominator, Fraction(float(value)).limit_denominator(largest).denominator)
        if denominator > largest:
            return 1
    scaled = matrix * denominator
    return denominator if np.allclose(scaled, np.rint(scaled), rtol=0, atol=1e-9) else 1


def _matrix_table(title: str, matrix: np.ndarray, *, signed: bool = False) -> Table:
    """A matrix as a rich table; with ``signed``, positive values green, negative red, zeros dim."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_header=False, box=None, padding=(0, 1))
    for _ in range(matrix.shape[1]):
        table.add_column(justify="right")
    for row in matrix:
        cells = []
        for value in row:
            style = ""
            if signed:
                style = "bold green" if value > 0 else "bold red" if value < 0 else "dim"
            cells.append(Text(_number(value), style=style))
        table.add_row(*cells)
    return table


def _show_summary(summary: dict, kernel: np.ndarray) -> None:
    from rich.table import Table

    console = stdout_console()
    table = Table(title=f"digitzoo filter {summary['input']}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    width, height = summary["input_size"]
    shrunk = ""
    if summary["read_size"] != summary["input_size"]:
        shrunk = ", shrunk to {}×{}".format(*summary["read_size"])
    table.add_row("input", f"{summary['input']} ({width}×{height}{shrunk})")
    table.add_row("kernel", f"{summary['kernel']} ({kernel.shape[0]}×{kernel.shape[1]})")
    table.add_row("matrix", _matrix_text(kernel))
    table.add_row("operation", _CORRELATION_NOTE[summary["mode"]])
    table.add_row("border", summary["border"])
    width, height = summary["response_size"]
    channels = "B, G, R" if summary["color"] else "gray, pixels in [0, 1]"
    table.add_row("response", f"{width}×{height} ({channels})")
    table.add_row("min / max", f"{summary['response_min']:.4g} / {summary['response_max']:.4g}")
    table.add_row("display", summary["display"])
    width, height = summary["output_size"]
    table.add_row("written", f"{summary['output']} ({width}×{height})")
    console.print(table)


def _demo(kernel: np.ndarray, mode: str, border: str, as_json: bool) -> None:
    from rich.columns import Columns

    from digitzoo.image.filters import demo_cases

    cases = demo_cases(kernel, mode=mode, border=border)
    if as_json:
        listed = [
            {
                "title": c.title,
                "image": c.image.tolist(),
                "kernel": c.kernel.tolist(),
                "mode": mode,
                "border": border,
                "response": c.response.tolist(),
                "responding_columns": c.responding_columns,
            }
            for c in cases
        ]
        click.echo(json.dumps(listed, indent=2))
        return
    console = stdout_console()
    console.print(f"[bold]{_CORRELATION_NOTE[mode]}[/]; border {border}", highlight=False)
    for case in cases:
        console.print()
        console.rule(case.title)
        size = f"{case.response.shape[0]}×{case.response.shape[1]}"
        console.print(
            Columns(
                [
                    _matrix_table("image", case.image),
                    _matrix_table("kernel", case.kernel, signed=True),
                    _matrix_table(f"response ({size})", case.response, signed=True),
                ],
                padding=(0, 4),
            )
        )
        console.print(_explain(case), highlight=False)


def _explain(case) -> str:
    columns = case.responding_columns
    if not columns:
        return "No response anywhere: this kernel does not see this edge."
    names = ", ".join(str(c + 1) for c in columns)
    peak = _number(float(np.abs(case.response).max()))
    text = f"Nonzero only in response column{'s' if len(columns) > 1 else ''} {names} (from 1); largest |value| {peak}."
    if abs(float(case.kernel.sum())) < 1e-9:
        text += " The kernel's weights sum to 0, so wherever the image under it is flat they cancel to 0."
    return text

"""``digitzoo export``: a zoo model as a SavedModel, a LiteRT (TFLite) file or ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.core import ParameterSource

from .output import stderr_console, stdout_console
from .params import model_names
from .train_cmd import training_options

__all__ = ["export"]

_FORMATS = ("savedmodel", "tflite", "onnx")  # digitzoo.export.FORMATS, without importing numpy for --help
_WHERE = {
    "cached": "your trained model from the cache",
    "pretrained": "the shipped pretrained weights",
    "trained": "trained just now",
}


@click.command()
@click.argument("name", callback=model_names)
@click.option("--format", "-f", "format_", type=click.Choice(_FORMATS), required=True, help="What to write.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="File (folder for savedmodel) to write; default NAME.onnx, NAME.tflite, NAME-int8.tflite or "
    "NAME-savedmodel, with the training options given in the name (NAME-epochs5-seed3.onnx).",
)
@click.option(
    "--quantize", type=click.Choice(["int8"]), help="tflite only: int8 weights and activations (about 4× smaller)."
)
@click.option(
    "--uncalibrated",
    is_flag=True,
    help="Export the model's own probabilities; by default its calibration temperature is part of the file.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing folder that is not a SavedModel digitzoo wrote (all it holds is deleted).",
)
@training_options
def export(
    name: str,
    format_: str,
    output: Path | None,
    quantize: str | None,
    uncalibrated: bool,
    force: bool,
    as_json: bool,
    quiet: bool,
    **kwargs,
) -> None:
    """Export model NAME (shipped or trained) as a TensorFlow SavedModel, a LiteRT (TFLite) file or ONNX.

    The model is your trained one if the cache holds it, else the shipped pretrained weights,
    else it is trained first. With training options (--epochs, --seed, --train-size …, as for
    train) it is your model trained so, from the cache or trained now; the shipped weights
    (default recipe, seed 0) are then never used. Every format takes a batch of 28×28 images of
    raw pixels 0–255 (float32, white digit on black) and gives 10 probabilities; the file
    records this. The probabilities are calibrated (the model's temperature is part of the
    file) unless --uncalibrated. With --quantize int8 the test accuracy of the int8 file is measured against
    the float model. The output path is checked before any work: a file's name has its
    format's suffix, and an existing folder is replaced only when it holds a SavedModel digitzoo
    wrote (or with --force). ONNX and running the files need the export extra:
    pip install "digitzoo[export]".

    \b
    Example:
        digitzoo export cnn --format onnx -o cnn.onnx
        digitzoo export cnn --epochs 5 --seed 3 --format tflite --quantize int8
    """
    from digitzoo._tensorflow import import_quietly

    if quantize is not None and format_ != "tflite":
        raise click.BadParameter(f"applies to --format tflite only, not {format_}", param_hint="--quantize")
    given = _typed_options(kwargs)
    err = stderr_console(quiet=quiet, soft_wrap=True)
    dest = _checked_output(name, format_, quantize, given, output, force)
    import_quietly()
    chosen = _model(name, given, err, quiet)
    what = f"{format_}{' int8' if quantize else ''}"
    err.print(f"exporting {name} ({_WHERE[chosen.source]}) as {what}…", highlight=False)
    result = _write(chosen, dest, format_, quantize, given, force, calibrated=not uncalibrated)
    if quantize is not None:
        err.print("measuring the test accuracy of the float model and of the int8 file…", highlight=False)
        result.update(_int8_accuracy(chosen.model, dest, given))
    _show(result, as_json)


def _typed_options(kwargs: dict) -> dict:
    """Only the training options the user typed: --seed 0 given on purpose is a request for their own model."""
    ctx = click.get_current_context()
    return {k: v for k, v in kwargs.items() if ctx.get_parameter_source(k) is not ParameterSource.DEFAULT}


def _checked_output(
    name: str, format_: str, quantize: str | None, given: dict, output: Path | None, force: bool
) -> Path:
    """The path to write, refused before any work if its suffix, kind or folder will not do."""
    from digitzoo.export import ExportError, check_output, check_suffix, default_path

    dest = output if output is not None else default_path(name, format_, quantize, given)
    try:
        check_suffix(dest, format_)
    except ExportError as exc:
        raise click.BadParameter(str(exc), param_hint="--output") from None
    return check_output(dest, format_, force=force)  # a folder the user keeps is refused too


def _write(
    chosen, dest: Path, format_: str, quantize: str | None, given: dict, force: bool, *, calibrated: bool
) -> dict:
    """Export ``chosen`` to ``dest`` and say what was written (the JSON the command prints)."""
    import time

    from digitzoo.export import INPUT_CONTRACT, calibration_images, export_model

    start = time.perf_counter()
    # An int8 file calibrates on the digits the model was trained on.
    representative = calibration_images(given["data"]) if quantize and given.get("data") is not None else None
    model = chosen.calibrated() if calibrated else chosen.model
    path = export_model(model, dest, format=format_, quantize=quantize, representative=representative, force=force)
    return {
        "model": chosen.name,
        "source": chosen.source,
        "origin": chosen.to_dict(),
        "format": format_,
        "quantize": quantize,
        "temperature": getattr(model, "temperature", 1.0),  # baked into the file; 1: uncalibrated
        "path": str(path),
        "bytes": _size(path),
        "seconds": round(time.perf_counter() - start, 2),
        "input_contract": INPUT_CONTRACT,
    }


def _int8_accuracy(model, path: Path, given: dict) -> dict:
    """The float model's and the int8 file's test accuracy, on the test set the model was trained beside."""
    from digitzoo.export import quantization_accuracy

    test = None
    if given.get("data") is not None:
        from digitzoo.data import load_mnist

        test = load_mnist(given["data"])[1]
    return quantization_accuracy(model, path, test)


def _model(name: str, given: dict, err, quiet: bool):
    """The model to export (a ``ModelSource``); trained with progress when there is none yet."""
    from digitzoo.errors import NoModelError
    from digitzoo.training import check_cache_writable
    from digitzoo.zoo import resolve

    from .fit_progress import fit_progress
    from .progress import fetch_mnist_if_missing

    try:
        return resolve(name, **given)
    except NoModelError:
        pass
    if given.get("retrain"):
        err.print(f"training {name} again, as asked", highlight=False)
    elif given:
        err.print(f"no cached {name!r} model trained with these options: training it first", highlight=False)
    else:
        err.print(f"no trained or shipped {name!r} model: training it first", highlight=False)
    check_cache_writable()
    fetch_mnist_if_missing(given.get("data"), err)
    return resolve(name, train=True, callbacks=[] if quiet else [fit_progress(err, name)], **given)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _show(result: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    out = stdout_console()
    contract = result["input_contract"]
    out.print(f"wrote {result['path']} ({result['bytes'] / 1e6:.2f} MB, {result['seconds']:.1f} s)", highlight=False)
    model = f"model  {result['model']}: {_WHERE[result['source']]}, {_trained_with(result['origin'])}"
    out.print(model, highlight=False, soft_wrap=True)
    out.print(
        f"input  {contract['input']}: float32 (N, 28, 28), raw pixels 0–255, white digit on black\n"
        f"output {contract['output']}: float32 (N, 10), the probability of each digit 0–9",
        highlight=False,
    )
    if "exported_accuracy" in result:
        change = 100 * (result["exported_accuracy"] - result["float_accuracy"])
        out.print(
            f"test accuracy on {result['images']} MNIST digits: float {result['float_accuracy']:.2%}, "
            f"int8 {result['exported_accuracy']:.2%} ({change:+.2f} points)",
            highlight=False,
        )


def _trained_with(info: dict) -> str:
    """The recipe and seed in a few words: "adam lr 0.02 (cosine), batch 512, 5 epochs on 600 images, seed 3 …"."""
    recipe = info["recipe"]
    schedule = "" if recipe.get("schedule", "constant") == "constant" else f" ({recipe['schedule']})"
    epochs = f"{recipe['epochs']} epoch{'s' if recipe['epochs'] != 1 else ''}"
    return (
        f"{recipe['optimizer']} lr {recipe['learning_rate']:g}{schedule}, batch {recipe['batch_size']}, "
        f"{epochs} on {info['train_size']:,} images, seed {info['seed']}; test accuracy {info['test_accuracy']:.2%}"
    )

"""The zoo's contract, declared once: 28×28 raw pixels in, 10 probabilities out.

Every model digitzoo builds, trains, caches, ships, reads from a user's file or exports keeps it,
and every way a model enters the library is checked here the same way: :func:`check_model` reads
the shapes, :func:`check_probabilities` runs the model once, and :func:`load_keras_file` is the one
safe reader of a ``.keras`` file. The names of the serving signature, its input and its output are
those every exported file and the shipped LiteRT files use. Nothing here imports Keras until a
model is checked.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

from .errors import ModelError, ModelFileError, describe_exception
from .files import file_kind

__all__ = [
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "SIGNATURE",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "METADATA_KEY",
    "INPUT_CONTRACT",
    "check_model",
    "check_probabilities",
    "check_shapes",
    "check_outputs",
    "check_keras_archive",
    "load_keras_file",
]

#: The shape of one image as digitzoo trains and predicts on it: MNIST's, without a channel axis.
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
#: The serving signature of a SavedModel and a LiteRT file, and the input and output names in every format.
SIGNATURE = "serving_default"
INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"
#: Key of the contract in ONNX ``metadata_props`` and in LiteRT metadata.
METADATA_KEY = "digitzoo.input_contract"
INPUT_CONTRACT = {
    "input": INPUT_NAME,
    "input_shape": [None, *IMAGE_SHAPE],
    "input_dtype": "float32",
    "input_range": "raw pixels 0-255, white digit on black background (as MNIST), not rescaled",
    "output": OUTPUT_NAME,
    "output_shape": [None, NUM_CLASSES],
    "output_dtype": "float32",
    "output_meaning": "probability of each digit 0-9 (softmax, sums to 1)",
}
# A probability row may sum to 1 only up to float32 rounding of its ten terms.
_SUM_TOLERANCE = 1e-3


def check_model(model: Any, name: str, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> None:
    """Refuse anything but a ``keras.Model`` from ``input_shape`` pixels to NUM_CLASSES outputs.

    The shapes are read from the model, nothing is run: a built model, a cached one and a
    user's file are all checked the same way before they are trained or trusted.
    """
    check_shapes(model, f"model {name!r}", input_shape)


def check_probabilities(model: Any, name: str, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> None:
    """Refuse a model whose outputs are not probabilities: it is run once on three fixed images.

    A model that ends in raw scores (``Dense(10)`` without softmax) trains without an error and
    learns nothing, since the loss reads its outputs as probabilities. The run costs about 30 ms
    the first time in a process and 7–20 ms after, draws no random numbers and changes no weights.
    Call it after :func:`check_model`.
    """
    check_outputs(model, f"model {name!r}", input_shape)


def check_shapes(model: Any, label: str, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> None:
    """:func:`check_model` with ``label`` naming the model in messages ("model 'x' (from DIST)")."""
    from ._tensorflow import import_keras

    keras = import_keras()
    if not isinstance(model, keras.Model):
        raise ModelError(f"{label} is a {type(model).__name__}, not a keras.Model")
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None  # a subclassed model that was never called has no shapes yet
    if not inputs or not outputs:
        raise ModelError(f"{label} has no defined input and output (start it with keras.Input(shape={input_shape}))")
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{label} must have one input and one output, has {len(inputs)} and {len(outputs)}")
    got_in, got_out = tuple(inputs[0].shape[1:]), tuple(outputs[0].shape[1:])
    if got_in != tuple(input_shape):
        raise ModelError(f"{label} takes input of shape {_shape(got_in)}, expected {_shape(input_shape)}")
    if got_out != (NUM_CLASSES,):
        raise ModelError(f"{label} has output of shape {_shape(got_out)}, expected ({NUM_CLASSES},): one per digit")


def check_outputs(model: Any, label: str, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> None:
    """:func:`check_probabilities` with ``label`` naming the model in messages."""
    import keras
    import numpy as np

    try:
        rows = np.asarray(keras.ops.convert_to_numpy(model(_probe_images(input_shape), training=False)), np.float64)
    except Exception as exc:  # whatever a stranger's layer raises, the model is unusable
        raise ModelError(f"{label} fails on a batch of images: {describe_exception(exc)}") from exc
    if not np.isfinite(rows).all():
        raise ModelError(f"{label} outputs NaN or infinite values on plain images")
    sums = rows.sum(axis=1)
    if rows.min() < 0 or rows.max() > 1 or np.abs(sums - 1).max() > _SUM_TOLERANCE:
        raise ModelError(
            f"{label} outputs scores from {rows.min():.3g} to {rows.max():.3g} summing to "
            f"{sums.min():.3g}–{sums.max():.3g} per image, not probabilities: "
            'end it with a softmax, as in Dense(10, activation="softmax")'
        )


def _probe_images(shape: tuple[int, ...]):
    """Three images of raw 0–255 pixels: blank, a left-to-right ramp, and fixed noise."""
    import numpy as np

    blank = np.zeros(shape, np.float32)
    ramp = np.broadcast_to(np.linspace(0, 255, shape[-1], dtype=np.float32), shape)
    noise = np.random.default_rng(0).integers(0, 256, size=shape).astype(np.float32)  # no global seed touched
    return np.stack([blank, ramp, noise])


def _shape(shape: tuple[Any, ...]) -> str:
    dims = ["any" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def load_keras_file(path: str | os.PathLike, name: str, input_shape: tuple[int, ...] = IMAGE_SHAPE):
    """The model in the ``.keras`` file ``path``, uncompiled, once it passed every check a model file gets.

    The one way digitzoo reads a model file (the cache, a user's file, the shipped weights): first
    :func:`check_keras_archive` (``ModelFileError`` for an empty, truncated or foreign file, before
    Keras reads a byte); then Keras loads it with ``safe_mode=True`` (no code in the file runs,
    ``ModelFileError`` if it cannot); then ``ModelError`` unless it maps ``input_shape`` pixels to
    10 outputs (:func:`check_model`) that are probabilities — non-negative, each row summing to 1
    (:func:`check_probabilities`, one run on three fixed images). ``name`` names the model in
    those messages. ``FileNotFoundError`` if ``path`` does not exist.
    """
    from ._tensorflow import import_keras

    path = check_keras_archive(path)
    keras = import_keras()
    try:
        # safe_mode refuses to deserialise arbitrary code (lambdas) from a file of unknown origin.
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # unknown layers, a lambda, a damaged part: all unusable files
        if not path.exists():
            raise FileNotFoundError(path) from None
        lines = str(exc).strip().splitlines()
        raise ModelFileError(f"{path}: Keras cannot load the model ({lines[0] if lines else type(exc).__name__})") from None
    check_model(model, name, input_shape)
    check_probabilities(model, name, input_shape)
    return model


def check_keras_archive(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` if it holds a complete Keras 3 archive; else ``ModelFileError`` saying why.

    A ``.keras`` file is a zip archive with a ``config.json``. Keras itself calls anything else
    "File not found", even an existing file; this says what the file is instead: a folder, empty,
    a pickle or HDF5 file, a zip cut short or with a damaged part (every part's CRC is checked).
    ``FileNotFoundError`` if it does not exist. Nothing in the file is run or unpickled.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ModelFileError(f"{path}: is a folder, not a .keras file")
        if not stat.S_ISREG(mode):
            raise ModelFileError(f"{path}: is {file_kind(mode)}, not a .keras file")
        with open(path, "rb") as f:
            head = f.read(8)
        if not head:
            raise ModelFileError(f"{path}: is empty (0 bytes), not a Keras model")
        if not head.startswith(b"PK"):
            raise ModelFileError(f"{path}: {_content_kind(head)}, not a Keras 3 model file (a .keras file is a zip archive)")
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            parts = set(archive.namelist())
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise ModelFileError(f"{path}: is truncated or damaged, not a complete zip archive ({exc})") from None
    if damaged is not None:
        raise ModelFileError(f"{path}: is damaged: its part {damaged} fails its checksum")
    if "config.json" not in parts:
        raise ModelFileError(f"{path}: is a zip archive but not a Keras model (it has no config.json)")
    return path


def _content_kind(head: bytes) -> str:
    """What a file that is not a zip archive holds, from its first bytes."""
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "is a Python pickle"
    if head.startswith(b"\x89HDF"):
        return "is an HDF5 file (the older .h5 format)"
    return "is no zip archive"

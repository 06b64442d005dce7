"""Running a LiteRT (TFLite) file without TensorFlow: the light runtime of the shipped weights.

Importing TensorFlow costs about 3 s of every ``digitzoo predict``; ``ai_edge_litert``'s
interpreter imports in about 0.1 s and runs the shipped models' LiteRT files (made from their
``.keras`` files by :func:`digitzoo.export.export_model`) with the same results: the same digits and
probabilities within 1e-4, which the tests check. Models trained by the user run in Keras.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ._tensorflow import LITERT_NOISE, filtered_stderr
from .contract import IMAGE_SHAPE, INPUT_NAME, NUM_CLASSES, OUTPUT_NAME, SIGNATURE
from .errors import ModelError
from .image.convert import check_finite

__all__ = ["LiteModel", "available"]

_delegate_announced = False  # whether this process's first run (and its stderr line) is past


def available() -> bool:
    """Whether the LiteRT runtime (the ``ai-edge-litert`` package) can be imported here."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class LiteModel:
    """A LiteRT file with the zoo's contract, called like a model: images → probabilities.

    ``model(images)`` takes (N, 28, 28) raw pixels 0–255 (any number type; NaN and infinities are
    refused with ``ImageError``, as :class:`digitzoo.inference.Predictor` refuses them) and returns float32
    probabilities of shape (N, 10). ``name``, ``input_shape`` and ``output_shape`` read as a Keras
    model's do, so :class:`digitzoo.inference.Predictor` and :func:`digitzoo.predict.classify` take
    either. Calls from several threads take turns: one interpreter runs one call at a time.
    """

    input_shape = (None, *IMAGE_SHAPE)
    output_shape = (None, NUM_CLASSES)

    def __init__(self, path: str | os.PathLike, *, name: str | None = None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError('the LiteRT runtime is not installed: pip install "ai-edge-litert>=2.3"') from exc
        self.path = Path(path)
        self.name = name or self.path.stem
        try:
            self._interpreter = Interpreter(model_path=str(self.path))
            self._runner = self._interpreter.get_signature_runner(SIGNATURE)
        except Exception as exc:  # a truncated flatbuffer, a file without the zoo's signature
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"{self.path}: cannot load the LiteRT model ({first})") from None
        self._check_signature()
        self._lock = threading.Lock()
        # The first run sets up the XNNPACK delegate (4× the throughput of the plain kernels on the
        # cnn-best) and announces it on stderr; it happens here, with that line filtered out.
        # LiteRT prints the line once per process: later models need no filter (a process each).
        global _delegate_announced
        with contextlib.nullcontext() if _delegate_announced else filtered_stderr(LITERT_NOISE):
            self(np.zeros((1, *IMAGE_SHAPE), np.float32))
        _delegate_announced = True

    def _check_signature(self) -> None:
        inputs, outputs = self._runner.get_input_details(), self._runner.get_output_details()
        shape_in = tuple(int(d) for d in inputs.get(INPUT_NAME, {}).get("shape", ()))[1:]
        shape_out = tuple(int(d) for d in outputs.get(OUTPUT_NAME, {}).get("shape", ()))[1:]
        if shape_in != IMAGE_SHAPE or shape_out != (NUM_CLASSES,):
            raise ModelError(
                f"{self.path}: the LiteRT model must map {INPUT_NAME!r} (N, 28, 28) to {OUTPUT_NAME!r} (N, 10), "
                f"got {shape_in} to {shape_out}"
            )

    def __call__(self, images: Any) -> np.ndarray:
        pixels = np.asarray(images, dtype=np.float32)
        if pixels.ndim != 3 or pixels.shape[1:] != IMAGE_SHAPE:
            raise ModelError(f"images must have shape (N, 28, 28), got {pixels.shape}")
        check_finite(pixels, batch=True)  # values beyond float32's range became infinities above
        if len(pixels) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        with self._lock:  # the runner resizes its input to each batch and owns the output buffer
            return np.array(self._runner(**{INPUT_NAME: pixels})[OUTPUT_NAME], dtype=np.float32)

    def __repr__(self) -> str:
        return f"LiteModel({self.name!r}, {str(self.path)!r})"

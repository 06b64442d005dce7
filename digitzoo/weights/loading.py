"""Loading the shipped weights: each file's sha256 checked against the manifest before it is read.

Keras reads a ``.keras`` file as every model file is read (:func:`digitzoo.contract.load_keras_file`);
LiteRT runs the ``.tflite`` copy without TensorFlow (:class:`digitzoo.litert.LiteModel`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from ..contract import load_keras_file
from ..errors import ModelError, ModelFileError
from ..files import sha256_file
from .manifest import REINSTALL, RUNTIMES, weights_info

__all__ = ["load_pretrained"]


def load_pretrained(
    name: str, *, folder: str | os.PathLike | None = None, runtime: Literal["keras", "litert"] = "keras"
):
    """The shipped trained model of ``name``: an uncompiled ``keras.Model``, or with
    ``runtime="litert"`` a :class:`digitzoo.litert.LiteModel` of its LiteRT file (no TensorFlow).

    The file's sha256 is checked against the manifest before Keras or LiteRT reads it; Keras loads
    it as every model file is loaded (:func:`digitzoo.contract.load_keras_file`: ``safe_mode=True``,
    so no code in the file runs; its shapes checked, and that it outputs probabilities). A
    missing or changed file is one ``ModelError``. ``folder`` reads another copy of the weights
    folder (a manifest and its files) instead of the installed one.
    """
    if runtime not in RUNTIMES:
        raise ModelError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    info = weights_info(name, folder)
    if runtime == "litert":
        if info.litert is None:
            raise ModelError(f"model {name!r} ships no LiteRT file; {REINSTALL}")
        from ..litert import LiteModel  # numpy and LiteRT: only when a model is run

        return LiteModel(_verified(name, info.litert_path, info.litert["sha256"]), name=name)
    path = _verified(name, info.path, info.sha256)
    # Checked as every model file is, cached or the user's: shapes, and probabilities out.
    try:
        return load_keras_file(path, name)
    except ModelFileError as exc:
        raise ModelError(f"the installed weights of {name!r} cannot be loaded ({exc}); {REINSTALL}") from None
    except FileNotFoundError as exc:
        raise ModelError(f"the installed weights of {name!r} are missing ({exc}); {REINSTALL}") from None


def _verified(name: str, path: Path, sha256: str) -> Path:
    """``path`` once its sha256 is ``sha256``; ``ModelError`` if it is missing or differs."""
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise ModelError(f"the installed weights of {name!r} are missing ({path}: {exc.strerror or exc}); {REINSTALL}") from None
    if digest != sha256:
        raise ModelError(
            f"the installed weights of {name!r} are damaged ({path.name}: sha256 {digest[:12]}…, expected "
            f"{sha256[:12]}…); {REINSTALL}"
        )
    return path

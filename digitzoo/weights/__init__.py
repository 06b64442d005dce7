"""Pretrained weights shipped inside the package, and the manifest that vouches for them.

``manifest.json`` beside the ``.keras`` files records, for each model, the file's sha256 and size,
the accuracy and loss it measured on MNIST, and how it was made (recipe, seed, library versions,
date, the command that remakes it: ``tools/make_weights.py``). Beside each ``.keras`` file is the
same model as a LiteRT file (``NAME.tflite``, its own sha256 and size in the entry's ``litert``),
which :mod:`digitzoo.litert` runs without TensorFlow. Reading the manifest imports no Keras, so
listing the zoo stays fast; loading a file checks its sha256 before Keras or LiteRT reads a byte.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from ..errors import ModelError, ModelFileError
from ..files import sha256_file

__all__ = [
    "RUNTIMES",
    "WEIGHTS_TAG",
    "MANIFEST_NAME",
    "WEIGHTS_DIR",
    "WeightsInfo",
    "shipped",
    "weights_info",
    "load_pretrained",
    "best_pretrained",
]

#: The one set of weights shipped: trained on MNIST (``build_model(name, weights="mnist")``).
WEIGHTS_TAG = "mnist"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
#: The installed weights: this package's own folder.
WEIGHTS_DIR = Path(__file__).resolve().parent
_REINSTALL = "reinstall digitzoo"
#: How a shipped model can run: as a Keras model, or its LiteRT file without TensorFlow.
RUNTIMES = ("keras", "litert")


@dataclass(frozen=True)
class WeightsInfo:
    """One shipped model's entry in the manifest. Accuracies are fractions in [0, 1]."""

    name: str
    file: str
    sha256: str
    size: int
    train_accuracy: float
    train_loss: float
    test_accuracy: float
    test_loss: float
    recipe: dict[str, Any]
    seed: int
    train_seconds: float
    versions: dict[str, str]
    date: str
    data: str
    command: str
    #: ``{"file", "sha256", "size"}`` of the LiteRT copy, or None when none is shipped.
    litert: dict[str, Any] | None = None
    folder: Path = field(default=WEIGHTS_DIR, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def litert_path(self) -> Path | None:
        return self.folder / self.litert["file"] if self.litert else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weights": WEIGHTS_TAG,
            "file": self.file,
            "sha256": self.sha256,
            "size": self.size,
            "train_accuracy": self.train_accuracy,
            "train_loss": self.train_loss,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "recipe": self.recipe,
            "seed": self.seed,
            "train_seconds": self.train_seconds,
            "versions": self.versions,
            "date": self.date,
            "data": self.data,
            "command": self.command,
            "litert": self.litert,
        }


_FIELDS = [name for name in WeightsInfo.__dataclass_fields__ if name not in ("name", "folder", "litert")]


def shipped(folder: str | os.PathLike | None = None) -> dict[str, WeightsInfo]:
    """The models with weights in ``folder`` (default: the installed ones), by name, from the manifest.

    No Keras is imported and no file hashed: this is what listing the zoo costs. A package
    without a manifest ships no weights (``{}``); a manifest that cannot be read is ``ModelError``.
    """
    return dict(_read_manifest(Path(folder).resolve() if folder is not None else WEIGHTS_DIR))


@lru_cache(maxsize=8)
def _read_manifest(folder: Path) -> tuple[tuple[str, WeightsInfo], ...]:
    path = folder / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise ModelError(f"cannot read the weights manifest {path}: {exc.strerror or exc}; {_REINSTALL}") from None
    try:
        manifest = json.loads(text)
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("weights") != WEIGHTS_TAG:
            raise ValueError(f"format {manifest.get('format')!r}, weights {manifest.get('weights')!r}")
        entries = tuple(
            (name, WeightsInfo(name=name, folder=folder, litert=_litert_entry(entry), **{k: entry[k] for k in _FIELDS}))
            for name, entry in sorted(manifest["models"].items())
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"the weights manifest {path} is damaged ({exc}); {_REINSTALL}") from None
    return entries


def _litert_entry(entry: dict[str, Any]) -> dict[str, Any] | None:
    litert = entry.get("litert")
    if litert is None:
        return None
    if not (isinstance(litert.get("file"), str) and isinstance(litert.get("sha256"), str)):
        raise ValueError(f"litert entry {litert!r}")
    return litert


def weights_info(name: str, folder: str | os.PathLike | None = None) -> WeightsInfo:
    """The manifest entry of ``name``; ``ModelError`` naming the models that have weights if it has none."""
    available = shipped(folder)
    if name not in available:
        have = ", ".join(available) or "none (this installation ships no weights; reinstall digitzoo)"
        raise ModelError(f"model {name!r} has no pretrained weights; models with weights: {have}")
    return available[name]


def load_pretrained(
    name: str, *, folder: str | os.PathLike | None = None, runtime: Literal["keras", "litert"] = "keras"
):
    """The shipped trained model of ``name``: an uncompiled ``keras.Model``, or with
    ``runtime="litert"`` a :class:`digitzoo.litert.LiteModel` of its LiteRT file (no TensorFlow).

    The file's sha256 is checked against the manifest before Keras or LiteRT reads it; Keras loads
    it as every model file is loaded (:func:`digitzoo.cache.load_keras_file`: ``safe_mode=True``,
    so no code in the file runs; its shapes checked, and that it outputs probabilities). A
    missing or changed file is one ``ModelError``. ``folder`` reads another copy of the weights
    folder (a manifest and its files) instead of the installed one.
    """
    if runtime not in RUNTIMES:
        raise ModelError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    info = weights_info(name, folder)
    if runtime == "litert":
        if info.litert is None:
            raise ModelError(f"model {name!r} ships no LiteRT file; {_REINSTALL}")
        from ..litert import LiteModel

        return LiteModel(_verified(name, info.litert_path, info.litert["sha256"]), name=name)
    path = _verified(name, info.path, info.sha256)
    from ..cache import load_keras_file
    from ..registry import model_info

    # Checked as every model file is, cached or the user's: shapes, and probabilities out.
    try:
        return load_keras_file(path, name, model_info(name).input_shape)
    except ModelFileError as exc:
        raise ModelError(f"the installed weights of {name!r} cannot be loaded ({exc}); {_REINSTALL}") from None
    except FileNotFoundError as exc:
        raise ModelError(f"the installed weights of {name!r} are missing ({exc}); {_REINSTALL}") from None


def _verified(name: str, path: Path, sha256: str) -> Path:
    """``path`` once its sha256 is ``sha256``; ``ModelError`` if it is missing or differs."""
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise ModelError(f"the installed weights of {name!r} are missing ({path}: {exc.strerror or exc}); {_REINSTALL}") from None
    if digest != sha256:
        raise ModelError(
            f"the installed weights of {name!r} are damaged ({path.name}: sha256 {digest[:12]}…, expected "
            f"{sha256[:12]}…); {_REINSTALL}"
        )
    return path


def best_pretrained(folder: str | os.PathLike | None = None) -> str:
    """The name of the shipped model with the highest test accuracy (ties: the first by name)."""
    available = shipped(folder)
    if not available:
        raise ModelError(f"no pretrained weights are installed; {_REINSTALL}")
    return min(available.values(), key=lambda info: (-info.test_accuracy, info.name)).name

"""The manifest of the pretrained weights shipped inside the package: data, read without Keras.

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
from typing import Any

from ..errors import ModelError

__all__ = [
    "RUNTIMES",
    "WEIGHTS_TAG",
    "MANIFEST_NAME",
    "WEIGHTS_DIR",
    "WeightsInfo",
    "shipped",
    "weights_info",
    "best_pretrained",
    "REINSTALL",
]

#: The one set of weights shipped: trained on MNIST (``build_model(name, weights="mnist")``).
WEIGHTS_TAG = "mnist"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
#: The installed weights: this package's own folder.
WEIGHTS_DIR = Path(__file__).resolve().parent
REINSTALL = "reinstall digitzoo"
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
    #: Calibrates the probabilities (:mod:`digitzoo.calibration`), fitted on ``held_out_size``
    #: training images it did not train on; 1 and 0 for weights made before calibration.
    temperature: float = 1.0
    held_out_size: int = 0
    #: Images it trained on: MNIST's 60 000 less those held out.
    train_size: int = 60_000
    #: How many models it averages: more than 1 for an ensemble (:mod:`digitzoo.ensemble`), which
    #: takes that many models' time to read a digit.
    members: int = 1
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
            "temperature": self.temperature,
            "held_out_size": self.held_out_size,
            "train_size": self.train_size,
            "members": self.members,
        }


_OPTIONAL = ("temperature", "held_out_size", "train_size", "members")
_FIELDS = [name for name in WeightsInfo.__dataclass_fields__ if name not in ("name", "folder", "litert", *_OPTIONAL)]


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
        raise ModelError(f"cannot read the weights manifest {path}: {exc.strerror or exc}; {REINSTALL}") from None
    try:
        manifest = json.loads(text)
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("weights") != WEIGHTS_TAG:
            raise ValueError(f"format {manifest.get('format')!r}, weights {manifest.get('weights')!r}")
        entries = tuple(
            (
                name,
                WeightsInfo(
                    name=name, folder=folder, litert=_litert_entry(entry),
                    **{k: entry[k] for k in _FIELDS}, **{k: entry[k] for k in _OPTIONAL if k in entry},
                ),
            )
            for name, entry in sorted(manifest["models"].items())
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"the weights manifest {path} is damaged ({exc}); {REINSTALL}") from None
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


def best_pretrained(folder: str | os.PathLike | None = None) -> str:
    """The name of the shipped model with the highest test accuracy (ties: the first by name).

    That is the ensemble: its members take three times a single model's arithmetic per digit, but a
    photo read in a fresh process takes the same wall time (start-up dominates; ``make bench``'s
    ``ensemble photo`` row), and it reads photos better (docs/models.md).
    """
    available = shipped(folder)
    if not available:
        raise ModelError(f"no pretrained weights are installed; {REINSTALL}")
    return min(available.values(), key=lambda info: (-info.test_accuracy, info.name)).name

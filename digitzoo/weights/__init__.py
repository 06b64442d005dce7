"""Pretrained weights shipped inside the package: the manifest that vouches for them
(:mod:`.manifest`, data read without Keras) and their loading (:mod:`.loading`)."""

from __future__ import annotations

from .loading import load_pretrained
from .manifest import (
    MANIFEST_NAME,
    RUNTIMES,
    WEIGHTS_DIR,
    WEIGHTS_TAG,
    WeightsInfo,
    best_pretrained,
    shipped,
    weights_info,
)

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

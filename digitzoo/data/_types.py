"""What the data modules pass each other: the four MNIST arrays, and the progress callback."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["Arrays", "Progress", "report"]

#: ``progress(stage, done, total)``; ``total`` is None when the amount of work is not known.
Progress = Callable[[str, int, "int | None"], None]
#: ``(x_train, y_train), (x_test, y_test)``
Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def report(progress: Progress | None, stage: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(stage, done, total)

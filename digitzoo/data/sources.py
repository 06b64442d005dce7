"""Where MNIST is looked for, in order, and the digitzoo cache that keeps a verified copy.

1. a path the caller names (``load_mnist(path)``, else ``$DIGITZOO_DATA``): then the only source;
2. the digitzoo cache, ``mnist.npz`` in ``digitzoo_home()``;
3. Keras's cache (``$KERAS_HOME`` or ``~/.keras``, then ``datasets/mnist.npz``), if it is Keras's exact file;
4. the downloads (``digitzoo.data.DOWNLOADS``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import REMEDIES, DataError
from ..files import atomic_path, check_writable_folder
from ..paths import digitzoo_home
from ._types import Arrays, Progress, report
from .formats import read_idx_folder, read_npz
from .verify import MNIST_NPZ_SHA256, check_sha256

__all__ = [
    "LocalSource",
    "mnist_cache_path",
    "keras_cache_path",
    "explicit_path",
    "read_path",
    "local_sources",
    "check_cache_writable",
    "save_cache",
]

#: (name, file, reader): a place on this machine where MNIST may already be.
LocalSource = tuple[str, Path, Callable[[], Arrays]]


def mnist_cache_path() -> Path:
    return digitzoo_home() / "mnist.npz"


def keras_cache_path() -> Path:
    keras_home = os.environ.get("KERAS_HOME")
    base = Path(keras_home).expanduser() if keras_home else Path.home() / ".keras"
    return base / "datasets" / "mnist.npz"


def explicit_path(path: str | os.PathLike | None) -> tuple[Path, str] | None:
    """The explicit path and how to name it in messages, or None when none was given."""
    if path is not None:
        return Path(path).expanduser(), str(path)
    if env := os.environ.get("DIGITZOO_DATA"):
        return Path(env).expanduser(), f"{env} (from DIGITZOO_DATA)"
    return None


def read_path(where: Path, label: str) -> Arrays:
    """Read a path the user named: an ``.npz`` file or a folder of IDX files."""
    if not where.exists():
        raise DataError(f"MNIST data path {label}: no such file or directory")
    return read_idx_folder(where) if where.is_dir() else read_npz(where)


def _read_keras_cache(where: Path) -> Arrays:
    check_sha256(where, MNIST_NPZ_SHA256, str(where), "Keras's mnist.npz")
    return read_npz(where)


def local_sources() -> list[LocalSource]:
    cache, keras = mnist_cache_path(), keras_cache_path()
    return [
        ("digitzoo cache", cache, lambda: read_npz(cache)),
        ("keras cache", keras, lambda: _read_keras_cache(keras)),
    ]


def check_cache_writable() -> None:
    """Raise ``DataError`` (remedy ``home``) unless a file can be created in the cache's folder."""
    folder = mnist_cache_path().parent
    try:
        check_writable_folder(folder)
    except OSError as exc:
        raise _unwritable(folder, exc) from exc


def save_cache(arrays: Arrays, progress: Progress | None) -> None:
    """Write verified MNIST to the digitzoo cache, atomically; ``DataError`` (remedy ``home``) if it cannot."""
    (x_train, y_train), (x_test, y_test) = arrays
    report(progress, "saving cache", 0, 1)
    try:
        with atomic_path(mnist_cache_path(), suffix=".npz") as tmp, open(tmp, "wb") as out:
            # A file object: given a name, np.savez appends ".npz" to any name without it.
            np.savez(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    except OSError as exc:
        raise _unwritable(mnist_cache_path().parent, exc) from exc
    report(progress, "saving cache", 1, 1)


def _unwritable(folder: Path, exc: OSError) -> DataError:
    # mkdir says "File exists" when $DIGITZOO_HOME is a file: say what that means.
    reason = "not a folder" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror or str(exc)
    return DataError(f"cannot save MNIST in {folder}: {reason}; {REMEDIES['home']}", remedy="home")

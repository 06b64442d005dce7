"""File helpers: hashing and atomic writes, so no reader ever sees half a file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["sha256_file", "sha256_bytes", "atomic_path", "remove_stale_temporaries", "STALE_AFTER"]

_CHUNK = 1 << 20
#: Seconds after which a temporary file of atomic_path is taken for the leftover of a killed process.
STALE_AFTER = 6 * 3600


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it over ``dest`` only if the block succeeds.

    The temporary file lives in the same directory so that ``os.replace`` is atomic.
    ``suffix`` keeps writers that choose a format by extension (``.keras``, ``.npz``) happy.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=_TMP_MARK + suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); the result should look like any file the user writes.
    os.chmod(tmp_path, _mode_of(dest))
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        tmp_path.unlink(missing_ok=True)


_TMP_MARK = ".tmp"


def remove_stale_temporaries(folder: str | os.PathLike, *, older_than: float = STALE_AFTER) -> list[Path]:
    """Delete what ``atomic_path`` left in ``folder`` when its process was killed; return those paths.

    Only hidden ``.NAME.XXXX.tmp[.ext]`` files untouched for ``older_than`` seconds go, so a write in
    progress in another process is left alone.
    """
    removed = []
    cutoff = time.time() - older_than
    try:
        candidates = list(Path(folder).glob(f".*{_TMP_MARK}*"))
    except OSError:
        return removed
    for path in candidates:
        stem = path.name.split(_TMP_MARK)[0]
        try:
            if stem.count(".") >= 2 and path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:
            continue  # gone already, or not ours to delete
    return removed


def _mode_of(dest: Path) -> int:
    """The permissions ``dest`` has, or those a new file gets under the current umask."""
    try:
        return dest.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

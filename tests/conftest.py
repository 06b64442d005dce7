"""Every test runs with empty, temporary digitzoo and Keras homes: the suite never writes into
the user's cache. MNIST is read from where the user already has it, or fetched once into pytest's
own cache folder (``.pytest_cache``) and reused by later runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_HOME_VARIABLES = ("DIGITZOO_HOME", "KERAS_HOME", "XDG_CACHE_HOME")
# The environment as the suite found it, before any test points the homes elsewhere.
_USER_ENV = {name: os.environ.get(name) for name in _HOME_VARIABLES}


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

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mnist_npz() -> Path:
    """A verified MNIST .npz in the real digitzoo cache (fetched once per machine, then reused)."""
    from digitzoo.data import fetch_mnist

    return fetch_mnist()


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

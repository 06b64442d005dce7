from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mnist_npz() -> Path:
    """A verified MNIST .npz in the real digitzoo cache (fetched once per machine, then reused)."""
    from digitzoo.data import fetch_mnist

    return fetch_mnist()

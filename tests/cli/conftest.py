"""Fixtures only the command-line tests use (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def mnist_runner(runner, homes, mnist_npz, monkeypatch):
    """The CliRunner in empty homes with DIGITZOO_DATA naming the verified MNIST: a command that
    trains reads it there, never downloads it."""
    monkeypatch.setenv("DIGITZOO_DATA", str(mnist_npz))
    return runner

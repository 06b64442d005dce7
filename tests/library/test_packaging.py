"""What `pip install .` puts in place: every package of the source tree."""

from __future__ import annotations

import sys

import pytest

from helpers import ROOT


if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def test_every_package_in_the_tree_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "digitzoo").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    found.add("digitzoo_cli")  # cli/, installed under this name
    assert set(config["packages"]) == found

"""Plain functions and paths the tests share (fixtures live in the conftest.py files).

Importable as ``helpers`` from every test folder: pyproject.toml puts ``tests/`` on the path
(``pythonpath = ["tests"]``), so no test imports ``conftest``.
"""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

__all__ = ["PHOTOS", "PLUGINS", "ROOT", "TESTS", "plugin_on_path", "sigint_at_default"]

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent  # the project: README.md, assets/, benchmarks/, digitzoo/, tools/
PHOTOS = TESTS / "data" / "photos"  # labelled photos made by tools/make_sample_photos.py
PLUGINS = TESTS / "plugins"  # small plugin distributions, one per folder


def sigint_at_default() -> None:
    """``preexec_fn`` of a child that must feel Ctrl-C even when the suite runs in the background.

    A shell starts a background job (``make test &``, ``nohup``) with SIGINT ignored, and an ignored
    signal stays ignored through fork and exec: without this the child never sees the SIGINT a test sends.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def plugin_on_path(folder: Path, module: str, source: str, *, dist: str | None = None) -> Path:
    """Write a one-module plugin distribution into ``folder`` (to put on PYTHONPATH): ``module``
    with ``source`` as its code, registered under the ``digitzoo.models`` entry point."""
    dist = dist or module.replace("_", "-")
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    info = folder / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[digitzoo.models]\n{module.split('_')[-1]} = {module}\n")
    return folder

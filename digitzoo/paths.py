"""Where digitzoo keeps its data and trained models."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["digitzoo_home", "models_dir"]


def digitzoo_home() -> Path:
    """``$DIGITZOO_HOME``, else ``$XDG_CACHE_HOME/digitzoo``, else ``~/.cache/digitzoo``."""
    if home := os.environ.get("DIGITZOO_HOME"):
        return Path(home).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "digitzoo"


def models_dir() -> Path:
    return digitzoo_home() / "models"

"""Built-in models. Importing this package registers them (through the plugin entry point)."""

from __future__ import annotations

from . import cnn, mlp

__all__ = ["cnn", "mlp"]

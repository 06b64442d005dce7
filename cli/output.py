"""Where command output goes."""

from __future__ import annotations

from rich.console import Console

__all__ = ["stdout_console"]

# Piped output has no width to fit; 80 columns would squeeze tables into unreadable wraps.
_PIPE_WIDTH = 120


def stdout_console() -> Console:
    """A console for results on stdout, wide enough for digitzoo's tables when piped."""
    console = Console()
    return console if console.is_terminal else Console(width=_PIPE_WIDTH)

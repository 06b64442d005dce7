"""Where command output goes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["stdout_console", "stderr_console"]

# Piped output has no width to fit; 80 columns would squeeze tables into unreadable wraps.
_PIPE_WIDTH = 120


def stdout_console() -> Console:
    """A console for results on stdout, wide enough for digitzoo's tables when piped."""
    from rich.console import Console  # rich costs tens of ms: only commands that print tables pay

    console = Console()
    return console if console.is_terminal else Console(width=_PIPE_WIDTH)


def stderr_console(**options) -> Console:
    """A console for progress and notices on stderr (``options`` go to ``rich.console.Console``)."""
    from rich.console import Console

    return Console(stderr=True, **options)

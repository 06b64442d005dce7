"""Show the library's ``progress(stage, done, total)`` callbacks on stderr.

On a terminal each stage gets a rich progress bar; otherwise (pipes, CI, logs) each stage is one
plain line, so captured output stays readable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["ProgressReporter", "fetch_mnist_if_missing"]


class ProgressReporter:
    """A callable ``progress(stage, done, total)`` to use as a context manager.

    Example::

        with ProgressReporter() as progress:
            fetch_mnist(progress=progress)
    """

    def __init__(self, console: Console | None = None) -> None:
        if console is None:
            from rich.console import Console  # imported on use, so importing this module is free

            console = Console(stderr=True)
        self.console = console
        self._bars: Progress | None = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> ProgressReporter:
        if self.console.is_terminal:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self._bars.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bars is not None:
            self._bars.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self._bars is None:
            if stage not in self._tasks:
                self._tasks[stage] = len(self._tasks)
                self.console.print(f"{stage}...", highlight=False, markup=False)
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._bars.add_task(stage, total=total)
        self._bars.update(self._tasks[stage], completed=done, total=total)


def fetch_mnist_if_missing(data: str | None, console: Console, *, needed: Callable[[], bool] | None = None) -> None:
    """Download MNIST now, with progress on ``console``, rather than silently inside a training.

    Nothing happens when ``data`` names a file, ``$DIGITZOO_DATA`` is set or digitzoo's cache has
    MNIST already; nor when ``needed``, asked only then, says the command will not read MNIST.
    """
    from digitzoo.data import fetch_mnist, mnist_cache_path

    if data is not None or os.environ.get("DIGITZOO_DATA") or mnist_cache_path().exists():
        return
    if needed is not None and not needed():
        return
    with ProgressReporter(console) as progress:
        fetch_mnist(progress=progress)

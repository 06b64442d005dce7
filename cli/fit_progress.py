"""Training progress on stderr: a rich bar on a terminal, one plain line per epoch elsewhere."""

from __future__ import annotations

import atexit
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["fit_progress"]


def _metrics(logs: dict | None) -> str:
    logs = logs or {}
    parts = []
    if "loss" in logs:
        parts.append(f"loss {float(logs['loss']):.4f}")
    if "accuracy" in logs:
        parts.append(f"acc {float(logs['accuracy']):.2%}")
    if "val_accuracy" in logs:  # the test set, evaluated after each epoch
        parts.append(f"test acc {float(logs['val_accuracy']):.2%}")
    return "  ".join(parts)


def fit_progress(console: Console, label: str):
    """A Keras callback that reports the training of model ``label`` on ``console``."""
    from digitzoo._tensorflow import import_quietly

    import_quietly()  # this is often the first use of Keras in a command: load it without TF's start-up lines
    import keras

    class FitProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs = self.params.get("epochs") or 1
            self.steps = self.params.get("steps") or 0
            # Keras reports batches only at the end of each chunk of steps_per_execution steps;
            # say so, so a bar that jumps in chunks is not mistaken for a stall.
            chunk = getattr(self.model, "steps_per_execution", 1) or 1
            self.batch_label = f"  batches (by {chunk})" if chunk > 1 else "  batches"
            self.started = time.perf_counter()
            self.bar = None
            if console.is_terminal:
                self.bar = Progress(
                    TextColumn("[bold cyan]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[metrics]}"),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                )
                self.bar.start()
                # Keras skips on_train_end when the training is interrupted; a bar left running
                # would leave the terminal's cursor hidden after the command has ended.
                atexit.register(self.bar.stop)
                self.epoch_task = self.bar.add_task(f"{label} epochs", total=self.epochs, metrics="")
                self.batch_task = self.bar.add_task(self.batch_label, total=self.steps or None, metrics="")

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()
            if self.bar:
                self.bar.reset(self.batch_task, total=self.steps or None, metrics="")

        def on_train_batch_end(self, batch, logs=None):
            if self.bar:
                self.bar.update(self.batch_task, completed=batch + 1, metrics=_metrics(logs))

        def on_epoch_end(self, epoch, logs=None):
            if self.bar:
                self.bar.update(self.epoch_task, completed=epoch + 1, metrics=_metrics(logs))
            else:
                seconds = time.perf_counter() - self.epoch_started
                console.print(
                    f"{label}: epoch {epoch + 1}/{self.epochs}  {_metrics(logs)}  {seconds:.1f} s", highlight=False
                )

        def on_train_end(self, logs=None):
            if self.bar:
                self.bar.stop()
                atexit.unregister(self.bar.stop)
                console.print(
                    f"{label}: trained {self.epochs} epochs in {time.perf_counter() - self.started:.1f} s",
                    highlight=False,
                )

    return FitProgress()

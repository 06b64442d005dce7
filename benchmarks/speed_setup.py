"""What one run of the speed benchmark works with: its settings, its arrays, its own digitzoo home."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Bench", "Settings", "private_home", "warm_up"]

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "assets" / "digits" / "seven.jpg"


@dataclass(frozen=True)
class Settings:
    """How big each measurement is. ``smoke`` shrinks every one so the whole run takes a minute or two."""

    smoke: bool = False
    train_size: int | None = None  # None: all 60 000 training images
    test_size: int | None = None  # None: all 10 000 test images
    epochs: int = 5  # mlp rows: epochs of digitzoo's mlp and of the tutorial anchor
    convnet_epochs: int = 2  # epochs of the keras-io anchor ("one keras-io epoch" = its fit / this)
    recipe_epochs: int | None = None  # None: each model's recipe
    repeat: int = 5  # alternating pairs of the short training rows (mlp, overhead, deterministic)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # cnn row: the target holds on each
    best_seeds: tuple[int, ...] = (0, 1, 2)  # cnn-best row
    single_calls: int = 300  # one-image prediction calls per side
    set_repeat: int = 5  # whole-test-set predictions per side
    startup_runs: int = 5
    photo_runs: int = 3
    memory_args: tuple[str, ...] = ("--epochs", "1")

    @classmethod
    def smoke_run(cls, **changes: Any) -> Settings:
        base = dict(
            smoke=True,
            train_size=2000,  # enough for one epoch to land clearly above chance
            test_size=1000,
            epochs=1,
            convnet_epochs=1,
            recipe_epochs=1,
            repeat=2,
            seeds=(0,),
            best_seeds=(0,),
            single_calls=10,
            set_repeat=2,
            startup_runs=2,
            photo_runs=1,
            memory_args=("--epochs", "1", "--train-size", "300"),
        )
        return cls(**{**base, **changes})


@dataclass
class Bench:
    """The state rows share: settings, the arrays, the private home and what was trained so far."""

    settings: Settings
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    home: Path
    env: dict[str, str]
    trained: dict[tuple[str, int, int | None], Any] = field(default_factory=dict)
    anchors: dict[str, list[Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def cache(self):
        from digitzoo.cache import ModelCache

        return ModelCache(self.home / "models")

    @property
    def data(self):
        return (self.train, self.test)

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:7.1f} s] {message}", file=sys.stderr, flush=True)

    def cli(self) -> str | None:
        """The ``digitzoo`` command of this Python environment."""
        beside = Path(sys.executable).parent / "digitzoo"
        if beside.exists():
            return str(beside)
        from shutil import which

        return which("digitzoo")


def save_mnist(arrays, path: Path) -> None:
    """MNIST as a Keras-style ``.npz``, where digitzoo looks for its cached copy."""
    (x_train, y_train), (x_test, y_test) = arrays
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


@contextmanager
def private_home(home: Path) -> Iterator[dict[str, str]]:
    """Point this process (and the children it starts) at ``home`` as ``DIGITZOO_HOME``.

    ``DIGITZOO_DATA`` is unset so the CLI finds MNIST in ``home`` as a user finds it in the cache,
    and looks up cached models by the same key. Yields the environment for subprocesses; restores
    the previous one afterwards, so a test can run the benchmark in-process.
    """
    saved = {k: os.environ.get(k) for k in ("DIGITZOO_HOME", "DIGITZOO_DATA", "TF_CPP_MIN_LOG_LEVEL")}
    os.environ["DIGITZOO_HOME"] = str(home)
    os.environ.pop("DIGITZOO_DATA", None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as the CLI itself does
    try:
        yield dict(os.environ)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def warm_up() -> None:
    """Start TensorFlow's runtime (thread pools, first kernels) once before anything is timed.

    Without this, whichever side runs first would pay the process's one-time start-up. Tracing and
    compiling each measured model still happen inside its own timed ``fit`` — on both sides.
    """
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    model.fit(np.zeros((8, 4), "float32"), np.eye(2, dtype="float32")[[0, 1] * 4], epochs=1, verbose=0)
    model.predict(np.zeros((2, 4), "float32"), verbose=0)

"""The plain-Keras rivals that ``benchmarks/speed.py`` measures digitzoo against.

Each anchor is written as its authors wrote it, in Keras 3 spelling, and reads the same verified
MNIST arrays that digitzoo trains on (``digitzoo.data.load_mnist``: uint8 images (N, 28, 28), uint8
labels). The only things added are the harness's: a seed (so runs repeat), ``verbose=0`` (so no
progress bar mixes with the table; printing one would only slow the anchor down) and a timer
around ``fit``. Data preparation (scaling, one-hot) is outside the timer on every side, as it is
in ``digitzoo.train``; tracing and the first epoch's compilation are inside it on every side.

* :func:`tutorial_mlp` — the classic lesson's 3×256 MLP: SGD 0.05 (the tutorial wrote
  ``SGD(lr=0.05)``, which Keras 3 refuses), batch 256;
* :func:`keras_io_convnet` — keras-io's ``examples/vision/mnist_convnet.py`` (fchollet), with its
  ``validation_split=0.1``;
* :func:`digitzoo_recipe_in_keras` — a zoo model and its recipe, compiled with digitzoo's own
  settings, fitted by a bare ``model.fit``: what digitzoo's training costs without digitzoo;
* :func:`keras_predict` — ``model.predict`` as anyone would call it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "AnchorRun",
    "compile_like_digitzoo",
    "digitzoo_recipe_in_keras",
    "keras_io_convnet",
    "keras_predict",
    "tutorial_mlp",
]

Split = tuple[np.ndarray, np.ndarray]


@dataclass
class AnchorRun:
    """One training run of an anchor: ``fit`` seconds (tracing included) and test accuracy in [0, 1]."""

    name: str
    epochs: int
    fit_seconds: float
    test_accuracy: float
    train_size: int
    test_size: int

    @property
    def seconds_per_epoch(self) -> float:
        return self.fit_seconds / self.epochs

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds_per_epoch": self.seconds_per_epoch}


def tutorial_mlp(train: Split, test: Split, *, epochs: int, seed: int = 0) -> AnchorRun:
    """The tutorial's script: flattened pixels / 255, one-hot labels, 784 → 256 ×3 → 10, SGD 0.05."""
    import keras
    from keras.layers import Dense

    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = train, test
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    model = keras.Sequential(
        [
            keras.Input((784,)),
            Dense(256, activation="relu"),
            Dense(256, activation="relu"),
            Dense(256, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.05), metrics=["accuracy"]
    )
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=256, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - started
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return AnchorRun("tutorial MLP", epochs, seconds, float(accuracy), len(x_train), len(x_test))


def keras_io_convnet(
    train: Split, test: Split, *, epochs: int, seed: int = 0, validation_split: float = 0.1
) -> AnchorRun:
    """keras-io ``mnist_convnet``: Conv 32, pool, Conv 64, pool, dropout 0.5, Adam, batch 128.

    As published it holds 10 % of the training images out for validation (``validation_split=0.1``):
    it trains on 54 000 and evaluates 6 000 after every epoch; ``0`` trains on all 60 000, as digitzoo does.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    num_classes = 10
    input_shape = (28, 28, 1)
    (x_train, y_train), (x_test, y_test) = train, test
    # Scale images to the [0, 1] range and make sure they have shape (28, 28, 1)
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    batch_size = 128
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=validation_split, verbose=0)
    seconds = time.perf_counter() - started
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    name = "keras-io mnist_convnet" + ("" if validation_split else ", no validation split")
    return AnchorRun(name, epochs, seconds, float(accuracy), len(x_train), len(x_test))


def compile_like_digitzoo(model, recipe, n_train: int):
    """Compile ``model`` exactly as digitzoo compiles ``recipe``, through digitzoo's public helper.

    Whatever digitzoo's compile settings become (optimizer, schedule, ``steps_per_execution``,
    ``jit_compile`` …), this anchor uses them too, so the "no overhead" row compares the same work.
    If digitzoo moves those settings into another public helper, call that one here.
    """
    from digitzoo.recipe import compile_model

    return compile_model(model, recipe, n_train)


def digitzoo_recipe_in_keras(name: str, train: Split, test: Split, *, epochs: int, seed: int = 0) -> AnchorRun:
    """Zoo model ``name`` with its recipe (``epochs`` overridden) in plain Keras: build, compile, ``fit``.

    The inputs are what digitzoo's models take, raw 0–255 pixels as float32 (the scaling is the
    model's first layer), and float32 one-hot labels; batch size and epochs are the recipe's.
    """
    import keras

    from digitzoo import build_model, model_info

    recipe = model_info(name).recipe.replace(epochs=epochs)
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = train, test
    x_train, x_test = x_train.astype("float32"), x_test.astype("float32")
    y_train = keras.utils.to_categorical(y_train, 10).astype("float32")
    y_test = keras.utils.to_categorical(y_test, 10).astype("float32")

    model = compile_like_digitzoo(build_model(name, compile=False), recipe, len(x_train))
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=recipe.batch_size, epochs=recipe.epochs, verbose=0)
    seconds = time.perf_counter() - started
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return AnchorRun(f"{name} recipe in plain Keras", epochs, seconds, float(accuracy), len(x_train), len(x_test))


def keras_predict(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities, (N, 10), for raw-pixel images (N, 28, 28) by ``model.predict``."""
    return model.predict(images.astype("float32"), verbose=0)

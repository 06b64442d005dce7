"""Fully-connected models: the tutorial's 3×256 network and its relatives."""

from __future__ import annotations

from ..diagnosis import GENERALISES, OVERFITTING, UNDERFITTING
from ..recipe import Recipe
from ..registry import register_model
from ._layers import classifier, pixels_input

__all__ = ["tiny", "mlp", "mlp_dropout", "mlp_l2", "overfit"]

# The tutorial's recipe: plain SGD at 0.05 (it wrote SGD(lr=0.05), which Keras 3 refuses),
# batch 256. Its 5000 epochs are no default: 30 reach 97.56–97.76% (seeds 0–2), 40 only 0.17 pt
# more on seed 0 for a third more time.
# No XLA: measured one after the other on a 2-core CPU, it made 40 epochs slower (59 s against
# 50 s), while it takes `overfit` (Adam) from 27 s to 17 s.
TUTORIAL_SGD = Recipe(optimizer="sgd", learning_rate=0.05, batch_size=256, epochs=30)


def _dense_stack(name: str, units: list[int], *, dropout: float = 0.0, l2: float = 0.0):
    import keras

    inputs, x = pixels_input()
    x = keras.layers.Flatten(name="flatten")(x)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    for i, n in enumerate(units, start=1):
        x = keras.layers.Dense(n, activation="relu", kernel_regularizer=regularizer, name=f"dense_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return keras.Model(inputs, classifier(x), name=name)


@register_model(
    "tiny",
    description="MLP with a 4-unit hidden layer: too small to learn MNIST well.",
    params=3190,
    recipe=Recipe(optimizer="sgd", learning_rate=0.05, batch_size=256, epochs=5),
    behaviour=UNDERFITTING,
)
def tiny(*, hidden: int = 4):
    return _dense_stack("tiny", [hidden])


@register_model(
    "mlp",
    description="The tutorial's network: 784 → Dense 256 ReLU ×3 → Dense 10 softmax.",
    params=335114,
    recipe=TUTORIAL_SGD,
    behaviour=GENERALISES,
)
def mlp(*, hidden: int = 256, depth: int = 3):
    return _dense_stack("mlp", [hidden] * depth)


@register_model(
    "mlp-dropout",
    description="The 3×256 MLP with dropout after each hidden layer.",
    params=335114,
    recipe=TUTORIAL_SGD,
    behaviour=GENERALISES,
)
def mlp_dropout(*, hidden: int = 256, depth: int = 3, rate: float = 0.2):
    return _dense_stack("mlp-dropout", [hidden] * depth, dropout=rate)


@register_model(
    "mlp-l2",
    description="The 3×256 MLP with L2 weight decay on every hidden layer.",
    params=335114,
    recipe=TUTORIAL_SGD,
    behaviour=GENERALISES,
)
def mlp_l2(*, hidden: int = 256, depth: int = 3, l2: float = 1e-4):
    return _dense_stack("mlp-l2", [hidden] * depth, l2=l2)


@register_model(
    "overfit",
    description="A large unregularised MLP trained on 1 000 images: memorises them, generalises worse.",
    params=1863690,
    # 15 epochs: it knows its 1 000 images perfectly after about ten, and each epoch ends with a test
    # pass over 10 000 images for the learning curves (0.4 s here, ten times the epoch's training).
    recipe=Recipe(optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=15, train_size=1000, jit_compile=True),
    behaviour=OVERFITTING,
)
def overfit(*, hidden: int = 1024, depth: int = 2):
    return _dense_stack("overfit", [hidden] * depth)

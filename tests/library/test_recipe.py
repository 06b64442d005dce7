"""Recipe validation: every field is checked when a recipe is made or changed."""

from __future__ import annotations

import math

import pytest

from digitzoo import build_model
from digitzoo.recipe import Recipe, compile_model


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"learning_rate": float("inf")}, "learning_rate must be a positive number, not NaN or infinity, got inf"),
        ({"learning_rate": float("nan")}, "learning_rate must be a positive number, not NaN or infinity, got nan"),
        ({"learning_rate": 0}, "learning_rate must be a positive number, not NaN or infinity, got 0"),
        ({"learning_rate": True}, "learning_rate must be a positive number, not NaN or infinity, got True"),
        ({"weight_decay": float("inf")}, "weight_decay must be a finite number >= 0, got inf"),
        ({"label_smoothing": float("nan")}, "label_smoothing must be from 0 up to 1, got nan"),
        ({"epochs": True}, "epochs must be a whole number >= 1, got True"),
        ({"batch_size": 32.0}, "batch_size must be a whole number >= 1, got 32.0"),
        ({"train_size": True}, "train_size must be a whole number from 1 to 60000, got True"),
    ],
)
def test_a_recipe_refuses_values_training_cannot_use(changes, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        Recipe(**changes)
    with pytest.raises(ValueError, match=f"^{message}$"):
        Recipe().replace(**changes)


def test_finite_values_at_the_edges_are_accepted():
    recipe = Recipe(learning_rate=1e-12, weight_decay=0, label_smoothing=0.0, epochs=1, batch_size=1, train_size=60_000)
    assert recipe.learning_rate == 1e-12 and recipe.train_size == 60_000


def test_adams_betas_are_fields_and_the_defaults_keep_the_cache_keys():
    plain = Recipe(optimizer="adam")
    assert "beta_1" not in plain.to_dict() and "beta_2" not in plain.to_dict()
    tuned = Recipe(optimizer="adam", beta_1=0.8)
    assert tuned.to_dict()["beta_1"] == 0.8 and "beta_2" not in tuned.to_dict()
    assert "β 0.8/0.999" in tuned.summary()
    model = compile_model(build_model("tiny", compile=False), tuned)
    assert float(model.optimizer.beta_1) == pytest.approx(0.8)
    for bad in (1.0, -0.1, math.nan, True):
        with pytest.raises(ValueError, match="beta_1 must be from 0 up to 1"):
            Recipe(beta_1=bad)

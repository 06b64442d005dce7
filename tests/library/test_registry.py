from __future__ import annotations

import pytest

from digitzoo import Recipe, UnknownModelError, build_model, list_models, model_info, register_model
from digitzoo import registration, registry
from digitzoo.errors import DigitzooError, ModelError


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations inside a test vanish after it."""
    list_models()  # load built-ins and plugins first
    monkeypatch.setattr(registration, "_REGISTRY", dict(registration._REGISTRY))


def _builder():
    raise AssertionError("not built")


def test_list_models_is_sorted_and_matches_patterns():
    assert list_models() == sorted(list_models())
    assert list_models("mlp*") == ["mlp", "mlp-dropout", "mlp-l2"]
    assert list_models("nothing*") == []


@pytest.mark.parametrize("pattern", [123, None, b"mlp*", ["mlp"]])
def test_a_pattern_that_is_not_text_is_a_digitzoo_error(pattern):
    with pytest.raises(DigitzooError, match=r"pattern must be a string such as 'mlp\*', got "):
        list_models(pattern)


def test_unknown_model_suggests_close_names():
    with pytest.raises(UnknownModelError, match=r"unknown model 'mpl'; did you mean mlp"):
        model_info("mpl")
    with pytest.raises(UnknownModelError, match="known models: .*lenet5"):
        build_model("zzzzzz")


def test_behaviour_speaks_the_diagnosis_words_and_takes_the_older_ones(scratch_registry):
    for said, stored in [("underfitting", "underfitting"), ("overfits", "overfitting"), ("generalises", "generalises well")]:
        register_model(f"b-{stored[:4]}", description="x", params=1, recipe=Recipe(), behaviour=said)(_builder)
        assert model_info(f"b-{stored[:4]}").behaviour == stored


def test_duplicate_name_is_an_error(scratch_registry):
    with pytest.raises(ValueError, match="'mlp' is already registered"):
        register_model("mlp", description="again", params=1, recipe=Recipe(), behaviour="overfits")(_builder)
    assert model_info("mlp").description.startswith("The tutorial's network")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name"}, "model name must be"),
        ({"description": " "}, "description must be a non-empty string"),
        ({"params": 0}, "params must be a positive whole number"),
        ({"behaviour": "memorises"}, "behaviour must be one of"),
        ({"recipe": {"epochs": 3}}, "recipe must be a digitzoo Recipe"),
        ({"input_shape": (28, 28, 1)}, r"input_shape must be \(28, 28\), the MNIST images, got \(28, 28, 1\)"),
    ],
)
def test_register_model_validates_metadata(scratch_registry, kwargs, message):
    args = {"name": "ok", "description": "fine", "params": 1, "recipe": Recipe(), "behaviour": "overfits"} | kwargs
    name = args.pop("name")
    with pytest.raises((ValueError, TypeError), match=message):
        register_model(name, **args)(_builder)
    assert name not in registration.registered()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("optimizer", "rmsprop"),
        ("learning_rate", 0),
        ("epochs", 0),
        ("batch_size", 2.5),
        ("train_size", 70_000),
        ("label_smoothing", 1.0),
        ("jit_compile", "yes"),
    ],
)
def test_recipe_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        Recipe(**{field: value})


def test_build_model_overrides_builder_options_and_recipe():
    model = build_model("mlp", hidden=32, depth=1, learning_rate=0.5)
    assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10
    assert float(model.optimizer.learning_rate) == pytest.approx(0.5)


def test_build_model_rejects_unknown_options():
    with pytest.raises(DigitzooError, match="model 'mlp' has no option width; it accepts hidden, depth"):
        build_model("mlp", width=3)
    with pytest.raises(DigitzooError, match="learning_rate must be a positive number"):
        build_model("mlp", learning_rate=-1)


def test_builder_must_return_a_keras_model(scratch_registry):
    register_model("notamodel", description="x", params=1, recipe=Recipe(), behaviour="overfits")(lambda: 42)
    with pytest.raises(ModelError, match="^model 'notamodel': its builder returned int, not a keras.Model$"):
        build_model("notamodel")


def test_a_builder_that_fails_on_an_option_is_a_model_error():
    with pytest.raises(ModelError, match="^model 'mlp': its builder raised ValueError: .*units=-1$"):
        build_model("mlp", hidden=-1)


def test_build_model_uncompiled():
    assert not build_model("tiny", compile=False).compiled


def test_recipe_steps_and_steps_per_execution():
    from digitzoo.recipe import STEPS_PER_EXECUTION, steps_per_execution

    recipe = Recipe(batch_size=256, epochs=3)
    assert recipe.steps_per_epoch() == 235 and recipe.steps() == 705  # ceil(60000 / 256)
    assert steps_per_execution(recipe) == STEPS_PER_EXECUTION
    assert steps_per_execution(recipe, 1000) == 4  # never more than one epoch's steps
    assert build_model("tiny").steps_per_execution == STEPS_PER_EXECUTION


def test_xla_is_the_recipes_choice():
    assert build_model("overfit").jit_compile is True  # XLA: 27 s -> 17 s on a 2-core CPU
    assert build_model("mlp").jit_compile is False  # XLA: 50 s -> 59 s
    assert build_model("cnn").jit_compile is False  # convolutions: about twice as slow under XLA
    assert Recipe(jit_compile=True).to_dict()["jit_compile"] is True


def test_label_smoothing_reaches_the_loss_and_old_recipes_keep_their_keys():
    model = build_model("tiny", compile=False)
    from digitzoo.recipe import compile_model

    compile_model(model, Recipe(label_smoothing=0.1))
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    assert "label_smoothing" not in Recipe().to_dict() and "jit_compile" not in Recipe().to_dict()
    assert Recipe(label_smoothing=0.1).to_dict()["label_smoothing"] == 0.1


def _functional(input_shape, outputs, activation="softmax"):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(x))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _functional((28, 28), 3), r"output of shape \(3,\), expected \(10,\)"),
        (lambda: _functional((32, 32), 10), r"input of shape \(32, 32\), expected \(28, 28\)"),
        (lambda: __import__("keras").Sequential([__import__("keras").layers.Dense(10)]), "no defined input"),
        (lambda: _functional((28, 28), 10, activation=None), "not probabilities: end it with a softmax"),
        (lambda: _functional((28, 28), 10, activation="relu"), "not probabilities"),
    ],
)
def test_models_that_cannot_learn_digits_are_refused_when_built(scratch_registry, make, message):
    register_model("misfit", description="x", params=1, recipe=Recipe(), behaviour="overfits")(make)
    with pytest.raises(ModelError, match=message):
        build_model("misfit")


def test_the_probability_check_draws_no_random_numbers(monkeypatch):
    # What is trained after a build follows from the seed alone, whether the model was checked or not.
    import random

    import keras
    import numpy as np

    def draws_after_a_build():
        keras.utils.set_random_seed(0)
        build_model("tiny", compile=False)
        return random.random(), np.random.random(), float(keras.random.uniform(()))

    checked = draws_after_a_build()
    monkeypatch.setattr(registry, "check_outputs", lambda *args: None)
    assert draws_after_a_build() == checked


def test_only_built_in_models_claim_shipped_weights(scratch_registry, monkeypatch):
    from digitzoo import weights

    fake = weights.WeightsInfo(
        name="pluggy", file="pluggy.keras", sha256="0" * 64, size=1, train_accuracy=1.0, train_loss=0.0,
        test_accuracy=1.0, test_loss=0.0, recipe={}, seed=0, train_seconds=1.0, versions={}, date="", data="",
        command="",
    )
    monkeypatch.setattr(registration, "shipped", lambda: {"pluggy": fake})
    with registration.registering_from("zoo-plugin"):
        register_model("pluggy", description="x", params=1, recipe=Recipe(), behaviour="overfits")(_builder)
    # A plugin's model of the same name is not the network the manifest describes.
    assert model_info("pluggy").pretrained is None
    assert "pluggy" not in list_models(pretrained=True)
    with pytest.raises(ModelError, match=r"^model 'pluggy' \(from zoo-plugin\) has no pretrained weights"):
        build_model("pluggy", weights="mnist")

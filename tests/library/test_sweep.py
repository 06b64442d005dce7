"""digitzoo.sweep: the grid and its checks (no training), then a small sweep trained, grouped and reused."""

from __future__ import annotations

import pytest

from digitzoo.cache import ModelCache
from digitzoo.errors import DigitzooError, UnknownModelError
from digitzoo.sweep import MAX_TRIALS, LocalRunner, Trial, grid, run_sweep, settable_fields

_RUN = {"epochs": 1, "train_size": 300}
_RECIPE = "optimizer, learning_rate, batch_size, epochs, train_size, schedule, weight_decay, label_smoothing, jit_compile, beta_1, beta_2"


@pytest.fixture
def no_training(monkeypatch):
    monkeypatch.setattr("digitzoo.sweep.train", lambda *a, **k: pytest.fail("trained"))


def test_the_grid_is_every_model_by_every_combination_by_every_seed(no_training):
    trials = grid(["tiny", "mlp"], ["hidden=4,16", "learning_rate=0.1,1e-2"], "0-1")
    assert len(trials) == 2 * 2 * 2 * 2
    assert trials[0] == Trial("tiny", {"hidden": 4, "learning_rate": 0.1}, 0)
    assert trials[1] == Trial("tiny", {"hidden": 4, "learning_rate": 0.1}, 1)
    assert trials[-1] == Trial("mlp", {"hidden": 16, "learning_rate": 0.01}, 1)
    assert trials[0].label == "hidden=4 learning_rate=0.1"


def test_values_are_parsed_by_the_fields_type(no_training):
    (trial,) = grid(["tiny"], ["jit_compile=TRUE", "learning_rate=1", "optimizer=adam", "batch_size=64"])
    assert trial.setting == {"jit_compile": True, "learning_rate": 1.0, "optimizer": "adam", "batch_size": 64}
    assert isinstance(trial.setting["learning_rate"], float)
    (trial,) = grid(["tiny"], {"hidden": [8], "weight_decay": [0]})
    assert trial.setting == {"hidden": 8, "weight_decay": 0.0}


def test_settable_fields_are_the_recipes_and_the_builders_options():
    assert list(settable_fields(["mlp"])) == [*_RECIPE.split(", "), "hidden", "depth"]
    assert settable_fields(["mlp"])["hidden"] is int and settable_fields(["cnn-best"])["degrees"] is float


def test_the_trial_passes_recipe_fields_and_leaves_out_a_builder_default():
    assert Trial("tiny", {"hidden": 4, "epochs": 2}, 3).train_arguments() == {"seed": 3, "options": {"epochs": 2}}
    assert Trial("tiny", {"hidden": 8}, 0).train_arguments() == {"seed": 0, "options": {"hidden": 8}}


@pytest.mark.parametrize(
    ("names", "sets", "given", "message"),
    [
        (["tiny"], ["hiden=3"], {}, f"unknown field 'hiden'; fields that can be set: {_RECIPE}, hidden"),
        (["tiny"], ["hidden=3.5"], {}, "hidden takes whole numbers, got '3.5'"),
        (["tiny"], ["learning_rate=0.1,nan"], {}, "learning_rate must be a finite number, got 'nan'"),
        (["tiny"], ["learning_rate=inf"], {}, "learning_rate must be a finite number, got 'inf'"),
        (["tiny"], ["jit_compile=yes"], {}, "jit_compile takes true or false, got 'yes'"),
        (["tiny"], {"hidden": [True]}, {}, "hidden takes whole numbers, got True"),
        (["tiny"], ["epochs=0"], {}, "epochs=0: epochs must be a whole number >= 1, got 0"),
        (["tiny"], ["optimizer=rmsprop"], {}, "optimizer=rmsprop: optimizer must be one of sgd, adam, adamw"),
        (["tiny"], ["hidden=3", "hidden=4"], {}, "hidden is set twice; give all its values at once (hidden=V1,V2)"),
        (["tiny"], ["hidden=4,4"], {}, "hidden names a value twice: 4, 4"),
        (["tiny"], ["epochs=1,2"], {"epochs": 3}, "epochs is both swept and fixed to 3; give it one way"),
        (["tiny"], ["hidden=8"], {"options": {"hidden": 4}}, "hidden is both swept and fixed to 4"),
        (["mlp", "cnn"], ["depth=2,3"], {}, "model 'cnn' has no option 'depth' (it is an option of mlp)"),
        (["tiny"], ["hidden"], {}, "a setting looks like FIELD=V1,V2, got 'hidden'"),
        (["tiny"], ["hidden=4,"], {}, "hidden has an empty value in 'hidden=4,'"),
        (["tiny"], ["hidden=1"], {"seed": 2}, "give the seeds as seeds=, not seed="),
        (["tiny", "tiny"], [], {}, "model 'tiny' is named twice"),
        ([], [], {}, "a sweep needs at least one model name"),
        (["tiny"], ["hidden=" + ",".join(map(str, range(1, 1002)))], {}, f"at most {MAX_TRIALS} trials"),
    ],
)
def test_bad_requests_fail_before_any_training(names, sets, given, message, no_training):
    with pytest.raises(DigitzooError) as raised:
        run_sweep(names, sets, **given)
    assert message in str(raised.value)


def test_an_unknown_model_fails_before_any_training(no_training):
    with pytest.raises(UnknownModelError, match="unknown model 'tyni'"):
        grid(["tiny", "tyni"], ["hidden=4"])


@pytest.mark.slow
def test_a_sweep_trains_each_trial_once_groups_them_best_first_and_reuses_them(small_mnist, tmp_path):
    cache = ModelCache(tmp_path / "models")
    told = []
    result = run_sweep(["tiny"], ["hidden=4,16"], "0-1", data=small_mnist, cache=cache, on_trial=told.append, **_RUN)
    assert [(t.trial.setting["hidden"], t.trial.seed) for t in told] == [(4, 0), (4, 1), (16, 0), (16, 1)]
    assert result.trained == 4
    assert len(list(cache.root.glob("*.keras"))) == 4  # every trial an ordinary cache entry
    assert result.fields == {"hidden": (4, 16)} and result.seeds == (0, 1)
    means = [g.stats.test.mean for g in result.groups]
    assert means == sorted(means, reverse=True) and len(result.groups) == 2
    for group in result.groups:
        accuracies = [run.result.test_accuracy for run in group.runs]
        assert group.stats.test.n == 2 and group.stats.test.mean == pytest.approx(sum(accuracies) / 2)
        assert {run.trial.setting["hidden"] for run in group.runs} == {group.setting["hidden"]}

    again = run_sweep(["tiny"], {"hidden": [4, 16]}, [0, 1], data=small_mnist, cache=cache, runner=LocalRunner(), **_RUN)
    assert again.trained == 0 and all(t.result.reused for t in again.trials)
    report = again.to_dict()
    assert report["fields"] == {"hidden": [4, 16]} and report["seeds"] == [0, 1]
    assert [(t["setting"], t["seed"]) for t in report["trials"]] == [({"hidden": h}, s) for h in (4, 16) for s in (0, 1)]
    assert set(report["trials"][0]) >= {"model", "setting", "seed", "test_accuracy", "train_accuracy", "train_seconds", "reused", "node"}
    assert report["trials"][0]["node"]
    assert [g["setting"] for g in report["groups"]] == [g.setting for g in result.groups]
    assert set(report["groups"][0]) >= {"model", "test_accuracy_mean", "test_accuracy_std", "gap", "seconds_per_run", "diagnosis"}

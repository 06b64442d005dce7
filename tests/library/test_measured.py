"""digitzoo/measured.json: every built-in recipe's accuracy is a mean over three seeds or more, for the recipe as it is."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from digitzoo.measured import MEASURED_FILE, recipe_accuracy
from digitzoo.registration import BUILTIN_SOURCE
from digitzoo.registry import list_models, model_info
from digitzoo_cli.main import cli

# An ensemble's seeds are three members' seeds each: its over-seeds figure is not measured yet.
BUILT_IN = [n for n in list_models() if model_info(n).source == BUILTIN_SOURCE and model_info(n).ensemble is None]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_recipe_has_its_accuracy_over_three_seeds_or_more(name):
    measured = model_info(name).measured
    assert measured is not None, f"{name}'s recipe was not measured as it is: python tools/measure_recipes.py {name}"
    assert len(measured.seeds) >= 3
    assert measured.test_accuracy_min <= measured.test_accuracy_mean <= measured.test_accuracy_max
    assert measured.test_accuracy_std > 0 or measured.test_accuracy_min == measured.test_accuracy_max
    runs = json.loads(MEASURED_FILE.read_text())["models"][name]["runs"]
    mean = sum(r["test_accuracy"] for r in runs) / len(runs)
    assert [r["seed"] for r in runs] == list(measured.seeds) and measured.test_accuracy_mean == pytest.approx(mean)


def test_a_recipe_that_changed_or_another_network_has_no_figure():
    spec = model_info("mlp")
    assert recipe_accuracy("mlp", spec.recipe, spec.params) is not None
    assert recipe_accuracy("mlp", dataclasses.replace(spec.recipe, epochs=spec.recipe.epochs + 1), spec.params) is None
    assert recipe_accuracy("mlp", spec.recipe, spec.params + 1) is None
    assert recipe_accuracy("no-such-model", spec.recipe, spec.params) is None


def test_models_shows_the_mean_and_spread_beside_the_shipped_file():
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "mlp"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert model_info("mlp").measured.summary() in result.stdout
    assert "test acc" in result.stdout and "shipped file" in result.stdout
    (listed,) = json.loads(runner.invoke(cli, ["models", "mlp", "--json"]).stdout)
    assert listed["measured"]["test_accuracy_mean"] == model_info("mlp").measured.test_accuracy_mean
    assert len(listed["measured"]["seeds"]) >= 3

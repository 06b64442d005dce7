"""The speed benchmark (benchmarks/speed.py) runs every row's code path on its --smoke setting.

Nothing here asserts a timing: times belong to the benchmark. The run happens in a subprocess
with a temporary DIGITZOO_HOME and MNIST passed by --data, so the user's cache is never touched.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import datetime

import pytest

from helpers import ROOT

SPEED = ROOT / "benchmarks" / "speed.py"
CHANCE = 0.10
ROWS = {
    "mlp",
    "overhead",
    "cnn",
    "demo",
    "test-pass",
    "cnn-best",
    "deterministic mlp",
    "deterministic lenet5",
    "deterministic cnn",
    "sweep",
    "seeds",
    "predict-1 mlp",
    "predict-set mlp",
    "predict-1 cnn",
    "predict-set cnn",
    "startup --help",
    "startup models",
    "startup kernels",
    "litert mlp",
    "litert cnn",
    "litert cnn-best",
    "litert cnn-best-ensemble",
    "photo",
    "ensemble accuracy",
    "ensemble photo",
    "photo runtime",
    "serve",
    "memory",
}


def _speed(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SPEED), *args], capture_output=True, text=True, env=env)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _predictor_importable() -> bool:
    try:
        from digitzoo.inference import Predictor  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def smoke(mnist_npz, tmp_path_factory):
    """The JSON report, the printed table and the DIGITZOO_HOME of one ``--smoke --best`` run."""
    tmp = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "DIGITZOO_HOME": str(tmp / "home")}
    env.pop("DIGITZOO_DATA", None)
    done = _speed("--smoke", "--best", "--data", str(mnist_npz), "--results", str(tmp / "results"), env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    [path] = (tmp / "results").glob("speed-*.json")
    return json.loads(path.read_text()), done.stdout, tmp / "home"


@pytest.fixture(scope="module")
def rows(smoke):
    return {row["row"]: row for row in smoke[0]["rows"]}


@pytest.mark.slow
def test_every_row_is_reported_and_printed(smoke, rows):
    _, table, _ = smoke
    assert set(rows) == ROWS
    assert not [row["error"] for row in rows.values() if row["error"]]
    for name in ROWS:
        assert name in table


@pytest.mark.slow
def test_measured_rows_have_numbers(rows):
    skipped = {"cnn-best"} if not rows["cnn-best"]["samples"] else set()
    if not _predictor_importable():
        skipped |= {name for name in rows if name.startswith("predict")}
    for name, row in rows.items():
        if name in skipped:
            continue
        assert _number(row["value"]), (name, row)
        if row["anchor"]:
            assert _number(row["anchor_value"]) and _number(row["ratio"]), (name, row)
        if row["target"]:
            assert row["met"] in (True, False), (name, row)
    assert rows["memory"]["unit"] == "MB"
    assert rows["photo runtime"]["details"]["parts_seconds"]["keras"]["load the model"] > 0


@pytest.mark.slow
def test_anchors_really_trained(smoke, rows):
    anchors = smoke[0]["anchors"]
    assert set(anchors) == {"tutorial_mlp", "mlp_recipe_in_keras", "keras_io_convnet", "keras_io_convnet_all"}
    assert anchors["keras_io_convnet_all"]["name"].endswith("no validation split")
    cnn = rows["cnn"]
    assert cnn["anchor_value"] == anchors["keras_io_convnet"]["seconds_per_epoch"]
    assert cnn["details"]["ratio_on_all"] == pytest.approx(cnn["value"] / anchors["keras_io_convnet_all"]["seconds_per_epoch"])
    for name, anchor in anchors.items():
        assert anchor["runs"] and _number(anchor["fit_seconds"]), name
        assert anchor["test_accuracy"] > 2 * CHANCE, (name, anchor["test_accuracy"])
    for name in ("mlp", "overhead", "cnn"):
        assert 0 <= rows[name]["test_accuracy"] <= 1, name
    assert rows["mlp"]["details"]["anchor_test_accuracy"] == anchors["tutorial_mlp"]["test_accuracy"]


@pytest.mark.slow
def test_prediction_anchor_is_measured_and_the_predictor_when_there_is_one(rows):
    for name in ("predict-1 mlp", "predict-1 cnn", "predict-set mlp", "predict-set cnn"):
        assert _number(rows[name]["anchor_value"]), name
    if not _predictor_importable():
        assert "not importable" in rows["predict-1 mlp"]["note"]
        pytest.skip("digitzoo.inference.Predictor is not importable yet")
    for name in ("predict-set mlp", "predict-set cnn"):
        assert rows[name]["test_accuracy"] == pytest.approx(rows[name]["details"]["anchor_test_accuracy"], abs=0.01)


@pytest.mark.slow
def test_test_pass_row_reads_the_demo_rows_trainings(rows):
    demo, passes = rows["demo"]["details"]["models"], rows["test-pass"]
    models = passes["details"]["models"]
    assert set(models) == set(demo) == {"tiny", "mlp", "overfit", "cnn"}
    for name, model in models.items():
        # The very same training as the demo row's, not a second one.
        assert model["train_seconds"] == demo[name]["train_seconds"], name
        assert model["test_pass_seconds"] == demo[name]["test_pass_seconds"] > 0, name
        assert model["test_pass_seconds_per_epoch"] == pytest.approx(model["test_pass_seconds"] / model["epochs"])
        assert model["share"] == pytest.approx(model["test_pass_seconds"] / model["train_seconds"])
        assert f"{name} " in passes["note"]
    assert passes["value"] == pytest.approx(sum(m["test_pass_seconds"] for m in models.values()))
    assert passes["anchor_value"] == pytest.approx(sum(m["train_seconds"] for m in models.values()))
    assert passes["ratio"] == pytest.approx(passes["value"] / passes["anchor_value"])


@pytest.mark.slow
def test_cnn_best_is_measured_or_skipped_with_a_note(rows):
    from digitzoo import list_models

    best = rows["cnn-best"]
    if list_models("cnn-best"):
        assert _number(best["value"]) and best["test_accuracy"] > CHANCE
    else:
        assert best["value"] is None and "skipped" in best["note"]


@pytest.mark.slow
def test_machine_versions_and_date_are_recorded(smoke):
    report = smoke[0]
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    assert report["machine"]["ram_gb"] > 0
    assert set(report["versions"]) == {"python", "digitzoo", "keras", "tensorflow", "numpy"}
    assert all(report["versions"].values())
    datetime.fromisoformat(report["date"])
    assert report["settings"]["smoke"] is True


@pytest.mark.slow
def test_the_run_keeps_to_its_own_temporary_home(smoke):
    *_, home = smoke
    assert not (home / "models").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "mlp,nope"], "unknown row 'nope'; rows are mlp, overhead"),
        (["--repeat", "0"], "--repeat: must be 1 or more, got 0"),
        (["--seeds", "0,x"], "--seeds: must be whole numbers separated by commas"),
        (["--data", "/no/such/mnist.npz"], "--data /no/such/mnist.npz: no such file or folder"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    done = _speed(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stdout == ""


@pytest.mark.slow
def test_litert_rows_agree_with_keras(rows):
    for name in ("litert mlp", "litert cnn", "litert cnn-best", "photo runtime"):
        assert rows[name]["details"]["max_abs_diff"] <= 1e-4, (name, rows[name])
    assert rows["photo runtime"]["details"]["reads"] == {"litert": "7", "keras": "7"}
    assert rows["photo runtime"]["details"]["models"] == {"litert": "LiteModel", "keras": "Functional"}


@pytest.mark.slow
def test_the_deterministic_rows_trained_the_same_weights_every_time(rows):
    for name in ("mlp", "lenet5", "cnn"):
        row = rows[f"deterministic {name}"]
        assert [c["met"] for c in row["checks"]] == [True], row
        assert len(set(row["details"]["deterministic_accuracies"])) == 1
        assert _number(row["ratio"]) and len(row["details"]["ratios"]) == len(row["samples"])


def test_the_experiment_rows_ran_the_sweep_on_ray_and_the_seeds(rows):
    sweep = rows["sweep"]["details"]
    assert len(sweep["sweep_test_accuracies"]) == len(sweep["sequential_test_accuracies"]) == 4
    assert min(sweep["sweep_test_accuracies"] + sweep["sequential_test_accuracies"]) > 2 * CHANCE
    assert _number(sweep["ray_start_seconds"]) and _number(sweep["ray_stop_seconds"])
    seeds = rows["seeds"]["details"]
    assert [m["name"] for m in seeds["models"]] == ["mlp", "mlp-dropout", "mlp-l2"]
    assert seeds["trainings"] == 6 and all(m["seeds"] == [0, 1] for m in seeds["models"])
    assert [c["model"] for c in seeds["comparisons"]] == ["mlp-dropout", "mlp-l2"]
    assert all(c["verdict"] for c in seeds["comparisons"])

"""``digitzoo compare --seeds``: tables of means and verdicts, JSON, the plot, and bad requests."""

from __future__ import annotations

import json

import pytest

from digitzoo_cli.main import cli

_RUN = ["--epochs", "1", "--train-size", "300"]


@pytest.mark.slow
def test_compare_over_seeds_shows_means_and_verdicts_then_reuses_the_cache(runner, homes, mnist_npz, tmp_path):
    args = ["compare", "tiny", "mlp", "--seeds", "0-1", *_RUN, "--data", str(mnist_npz)]
    plot = tmp_path / "seeds.png"
    result = runner.invoke(cli, [*args, "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "digitzoo compare, seeds 0, 1" in result.stdout
    assert "test acc ± sd" in result.stdout
    assert "against tiny: test accuracy, 95% interval of the difference" in result.stdout
    assert "paired t, n=2" in result.stdout
    assert any(verdict in result.stdout for verdict in ("better", "worse", "within noise"))
    assert plot.stat().st_size > 0

    again = runner.invoke(cli, [*args, "--json", "-q"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert [m["name"] for m in report["models"]] == ["tiny", "mlp"]
    assert all(run["reused"] for m in report["models"] for run in m["runs"])
    tiny = report["models"][0]
    assert tiny["seeds"] == [0, 1] and len(tiny["runs"]) == 2
    mean = sum(run["test_accuracy"] for run in tiny["runs"]) / 2
    assert tiny["test_accuracy_mean"] == pytest.approx(mean)
    (against,) = report["comparisons"]
    assert against["reference"] == "tiny" and against["model"] == "mlp" and against["low"] <= against["high"]


@pytest.mark.slow
def test_one_seed_says_there_is_no_interval(runner, homes, mnist_npz):
    result = runner.invoke(cli, ["compare", "tiny", "mlp", "--seeds", "3", *_RUN, "--data", str(mnist_npz)])
    assert result.exit_code == 0, result.output
    assert "one seed: no interval" in result.stdout
    assert "One seed: no interval, so no verdict; name several (--seeds 0-4)." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "4-0"], "Invalid value for '--seeds': seed range '4-0' runs backwards"),
        (["--seeds", "x"], "Invalid value for '--seeds': seeds must look like 0-4 or 0,3,7; 'x' is neither"),
        (["--seeds", "0-1", "--seed", "2"], "--seed and --seeds cannot be used together"),
    ],
)
def test_bad_seed_requests_are_usage_errors(runner, homes, args, message):
    result = runner.invoke(cli, ["compare", "tiny", *args])
    assert result.exit_code == 2
    assert message in result.stderr

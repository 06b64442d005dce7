"""``digitzoo sweep``: a small grid trained, shown, reused and plotted; bad requests are usage errors."""

from __future__ import annotations

import json

import pytest

from digitzoo.cache import ModelCache
from digitzoo_cli.main import cli

# One worker: the trials run one after another in this process, without Ray.
_RUN = ["--epochs", "1", "--train-size", "300", "--workers", "1"]


@pytest.mark.slow
def test_a_sweep_shows_its_groups_then_reuses_every_trial(runner, homes, mnist_npz, tmp_path):
    args = ["sweep", "tiny", "--set", "hidden=4,16", "--seeds", "0-1", *_RUN, "--data", str(mnist_npz)]
    plot = tmp_path / "sweep.png"
    result = runner.invoke(cli, [*args, "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "digitzoo sweep, seeds 0, 1: means over the seeds, best first" in result.stdout
    assert "hidden=16" in result.stdout and "hidden=4" in result.stdout
    assert "test acc ± sd" in result.stdout
    assert "trial 1/4 tiny hidden=4 seed 0: test " in result.stderr
    assert "trial 4/4 tiny hidden=16 seed 1: test " in result.stderr and "best so far: " in result.stderr
    assert "4 of 4 trials trained, 0 reused" in result.stderr
    assert plot.stat().st_size > 0
    assert len(list(ModelCache().root.glob("*.keras"))) == 4  # every trial an ordinary cache entry

    again = runner.invoke(cli, [*args, "--json", "-q"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert all(trial["reused"] for trial in report["trials"]) and len(report["trials"]) == 4
    assert report["fields"] == {"hidden": [4, 16]}
    groups = report["groups"]
    assert [g["test_accuracy_mean"] for g in groups] == sorted((g["test_accuracy_mean"] for g in groups), reverse=True)
    best = groups[0]
    runs = [t["test_accuracy"] for t in report["trials"] if t["setting"] == best["setting"]]
    assert best["test_accuracy_mean"] == pytest.approx(sum(runs) / 2)
    assert again.stderr == ""  # -q: no progress


@pytest.mark.slow
def test_a_sweep_trial_is_the_entry_compare_uses(runner, homes, mnist_npz):
    data = ["--data", str(mnist_npz)]
    assert runner.invoke(cli, ["sweep", "tiny", "--set", "epochs=1,2", "--train-size", "300", "--workers", "1", *data, "-q"]).exit_code == 0
    result = runner.invoke(cli, ["compare", "tiny", "--epochs", "2", "--train-size", "300", *data])
    assert result.exit_code == 0, result.output
    assert "tiny: reusing the cached model" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "hiden=3"], "Invalid value for '--set': unknown field 'hiden'; fields that can be set: optimizer, "),
        (["--set", "hidden=3.5"], "Invalid value for '--set': hidden takes whole numbers, got '3.5'"),
        (["--set", "learning_rate=nan"], "Invalid value for '--set': learning_rate must be a finite number, got 'nan'"),
        (["--set", "hidden=3", "--set", "hidden=4"], "Invalid value for '--set': hidden is set twice"),
        (["--set", "epochs=1,2", "--epochs", "3"], "Invalid value for '--set': epochs is both swept and fixed to 3"),
        (["--set", "hidden=64"], "Invalid value for '--set': model 'lenet5' has no option 'hidden' (it is an option of tiny)"),
        (["--seeds", "3-1"], "Invalid value for '--seeds': seed range '3-1' runs backwards"),
        (["--seed", "1"], "No such option '--seed'"),
        (["--plot", "sweep.png"], "--plot draws test accuracy against a swept field; give one with --set"),
        (["--plot", "sweep.txt", "--set", "epochs=1"], "Invalid value for '--plot'"),
        (["--workers", "0"], "Invalid value for '--workers': 0 is not in the range x>=1"),
        (["--address", " "], "Invalid value for '--address': give the cluster's HOST:PORT"),
    ],
)
def test_bad_requests_are_usage_errors_before_any_training(runner, homes, monkeypatch, args, message):
    monkeypatch.setattr("digitzoo.sweep.train", lambda *a, **k: pytest.fail("trained"))
    names = ["tiny", "lenet5"] if "hidden=64" in args else ["tiny"]
    result = runner.invoke(cli, ["sweep", *names, *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_an_unknown_model_is_refused(runner, homes):
    result = runner.invoke(cli, ["sweep", "tyni", "--set", "epochs=1"])
    assert result.exit_code == 1
    assert "unknown model 'tyni'" in result.stderr


@pytest.mark.parametrize(
    ("args", "option"), [(["--workers", "2"], "--workers"), (["--address", "127.0.0.1:6379"], "--address")]
)
def test_without_the_ray_extra_parallel_trials_say_what_to_install(runner, homes, monkeypatch, args, option):
    monkeypatch.setattr("digitzoo.ray_runner.ray_installed", lambda: False)
    monkeypatch.setattr("digitzoo.sweep.train", lambda *a, **k: pytest.fail("trained"))
    result = runner.invoke(cli, ["sweep", "tiny", "--set", "epochs=1,2", *args])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': running trials in parallel or on a cluster needs the ray extra: " \
        'pip install "digitzoo[ray]"' in result.stderr


def test_a_trial_that_fails_is_reported_and_the_others_go_on(runner, homes, monkeypatch, mnist_npz):
    from digitzoo.errors import DigitzooError

    def train(name, *, seed, options, **kwargs):
        if options.get("learning_rate") == 5.0:
            raise DigitzooError("training 'tiny' diverged")
        from digitzoo.training import train as real

        return real(name, seed=seed, options=options, **kwargs)

    monkeypatch.setattr("digitzoo.sweep.train", train)
    args = ["sweep", "tiny", "--set", "learning_rate=0.01,5", *_RUN, "--data", str(mnist_npz)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "trial 2/2 tiny learning_rate=5 seed 0 failed: training 'tiny' diverged" in result.stderr
    assert "│ tiny  │ learning_rate=0" in result.stdout and "learning_rate=5" not in result.stdout  # the one that trained
    assert "1 of 2 trials trained, 0 reused, 1 failed" in result.stderr
    assert "Error: 1 of 2 trials failed (tiny learning_rate=5 seed 0: training 'tiny' diverged)" in result.stderr

"""The models, train and compare commands, their output and their errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from digitzoo.diagnosis import OVERFIT_GAP, UNDERFIT_BELOW
from digitzoo_cli.main import cli


pytestmark = pytest.mark.usefixtures("homes")  # no MNIST and no network unless a test brings them


def test_help_and_models_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from digitzoo_cli.main import cli\n"
        "for args in (['--help'], ['models'], ['models', '--json'], ['compare', '--help']):\n"
        "    result = CliRunner().invoke(cli, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_models_table_and_json(runner):
    result = runner.invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    for name in ("tiny", "mlp", "mlp-dropout", "mlp-l2", "overfit", "lenet5", "cnn"):
        assert name in result.stdout
    listed = json.loads(runner.invoke(cli, ["models", "mlp*", "--json"]).stdout)
    assert [m["name"] for m in listed] == ["mlp", "mlp-dropout", "mlp-l2"]
    assert listed[0]["params"] == 335114 and listed[0]["recipe"]["optimizer"] == "sgd"


def test_models_pattern_without_match_is_an_error(runner):
    result = runner.invoke(cli, ["models", "nothing*"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: no model matches 'nothing*'; try 'digitzoo models' for the full list"


def test_unknown_model_is_one_line_and_trains_nothing(runner, tmp_path):
    result = runner.invoke(cli, ["compare", "mlp", "mpl"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: unknown model 'mpl'; did you mean mlp?"
    assert not (tmp_path / "home" / "models").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "mlp", "--epochs", "0"], "Invalid value for '--epochs'"),
        (["train", "mlp", "--train-size", "70000"], "Invalid value for '--train-size'"),
        (["compare"], "Missing argument 'NAMES...'"),
        (["train", "tiny", "--learning-rate", "inf"], "Invalid value for '--learning-rate': must be a finite number, got inf"),
        (["train", "tiny", "--learning-rate", "nan"], "Invalid value for '--learning-rate'"),
        (["train", "tiny", "--seed", "4294967296"], "Invalid value for '--seed': 4294967296 is not in the range 0<=x<=4294967295"),
        (["compare", "tiny", "--seed", str(2**40)], "Invalid value for '--seed'"),
        (["export", "tiny", "-f", "onnx", "--seed", "4294967296"], "Invalid value for '--seed'"),
        (["report", "tiny", "--seed", "4294967296"], "Invalid value for '--seed'"),
    ],
)
def test_bad_arguments_exit_2(runner, args, message):
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_data_file_is_a_clean_error(runner, tmp_path):
    result = runner.invoke(cli, ["train", "tiny", "--data", str(tmp_path / "nope.npz"), "--quiet"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_compare_trains_then_reuses(runner, mnist_npz):
    args = ["compare", "tiny", "mlp", "--epochs", "1", "--train-size", "2000", "--data", str(mnist_npz)]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    for column in ("model", "params", "train acc", "test acc", "gap", "train time", "diagnosis"):
        assert column in first.stdout
    assert "underfitting" in first.stdout  # tiny after one epoch on 2 000 images
    assert "tiny: epoch 1/1" in first.stderr  # plain progress lines: stderr is no terminal here

    second = runner.invoke(cli, [*args, "--json"])
    assert second.exit_code == 0, second.output
    rows = json.loads(second.stdout)
    assert [r["name"] for r in rows] == ["tiny", "mlp"]
    assert all(r["reused"] for r in rows)
    assert rows[1]["train_size"] == 2000 and rows[1]["test_size"] == 10000
    # Eight SGD steps cannot reach 95% on the images seen: both still underfit.
    assert [r["diagnosis"] for r in rows] == ["underfitting", "underfitting"]
    assert all(r["gap"] == pytest.approx(r["train_accuracy"] - r["test_accuracy"]) for r in rows)
    assert "reusing the cached model" in second.stderr


@pytest.mark.slow
def test_deterministic_is_a_cache_entry_of_its_own_and_says_so(runner, mnist_npz):
    args = ["train", "tiny", "--epochs", "1", "--train-size", "500", "--data", str(mnist_npz), "--json", "-q"]
    usual = runner.invoke(cli, args)
    exact = runner.invoke(cli, [*args, "--deterministic"])
    again = runner.invoke(cli, [*args, "--deterministic"])
    assert usual.exit_code == exact.exit_code == again.exit_code == 0, exact.output
    (usual,), (exact,), (again,) = (json.loads(r.stdout) for r in (usual, exact, again))
    assert not usual["deterministic"] and exact["deterministic"] and not exact["reused"]
    assert exact["key"] != usual["key"] and again["reused"] and again["key"] == exact["key"]


def test_train_quiet_prints_only_the_table(runner, mnist_npz):
    result = runner.invoke(
        cli, ["train", "tiny", "--epochs", "1", "--train-size", "500", "--data", str(mnist_npz), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "tiny" in result.stdout


def test_compare_help_states_the_thresholds(runner):
    text = " ".join(runner.invoke(cli, ["compare", "--help"]).stdout.split())
    assert f"{UNDERFIT_BELOW:.0%}" in text and f"{OVERFIT_GAP * 100:.0f} points" in text


@pytest.mark.slow
def test_a_library_remedy_becomes_the_commands_own_flag(runner, mnist_npz, tmp_path):
    """The library says "retraining replaces it"; train, which has --retrain, names the flag."""
    from digitzoo.cache import ModelCache
    from digitzoo.training import train

    trained = train("tiny", epochs=1, train_size=500, data=mnist_npz)
    model_path, _ = ModelCache().paths("tiny", trained.key)
    model_path.write_bytes(model_path.read_bytes() + b"tampered")
    args = ["train", "tiny", "--epochs", "1", "--train-size", "500", "--data", str(mnist_npz), "-q"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "retraining replaces it (rerun with --retrain)" in result.stderr
    assert runner.invoke(cli, [*args, "--retrain"]).exit_code == 0


def _reject_constant(name: str):
    raise AssertionError(f"{name} is not JSON")


def test_json_output_is_strict_json(runner, monkeypatch):
    """A result holding NaN is refused, never printed as the NaN that strict parsers reject."""
    from digitzoo import training

    good = training.TrainResult(
        name="tiny", params=3190, recipe={"epochs": 1}, options={}, seed=0, train_size=500, test_size=10000,
        train_accuracy=0.5, train_loss=1.2, test_accuracy=0.5, test_loss=1.3, train_seconds=1.0,
        history={"loss": [1.5]}, data="d", versions={}, saved_at="2025-01-01T00:00:00+00:00",
    )
    monkeypatch.setattr(training, "train", lambda name, **kwargs: good)
    result = runner.invoke(cli, ["train", "tiny", "--data", "anything.npz", "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout, parse_constant=_reject_constant)[0]["test_loss"] == 1.3

    good.test_loss = float("nan")
    result = runner.invoke(cli, ["train", "tiny", "--data", "anything.npz", "--json", "-q"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "Error: a result holds a number that is not finite (NaN or infinity); JSON cannot carry it"
    )


@pytest.mark.slow
def test_comparing_cached_models_imports_no_tensorflow(mnist_npz):
    from digitzoo.training import train

    train("tiny", epochs=1, train_size=500, data=mnist_npz)
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from digitzoo_cli.main import cli\n"
        f"result = CliRunner().invoke(cli, ['compare', 'tiny', '--epochs', '1', '--train-size', '500', '--data', {str(mnist_npz)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'reusing the cached model' in result.stderr, result.stderr\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"  # a cached table costs no TensorFlow import (seconds)


def test_cached_models_need_no_mnist_and_a_download_only_when_training(runner, mnist_npz, monkeypatch):
    """homes: no MNIST on the machine and no network, but the model is in the cache."""
    import shutil

    from digitzoo import data
    from digitzoo.training import train

    train("tiny", epochs=1, train_size=500, data=mnist_npz)  # the same data load_mnist would find
    fetched = []

    def fetch_mnist(*, progress=None):
        progress("download", 0, 1)
        data.mnist_cache_path().parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mnist_npz, data.mnist_cache_path())
        fetched.append(progress is not None)
        return data.mnist_cache_path()

    monkeypatch.setattr(data, "fetch_mnist", fetch_mnist)
    args = ["compare", "tiny", "--epochs", "1", "--train-size", "500"]
    cached = runner.invoke(cli, [*args, "--json"])
    assert cached.exit_code == 0, cached.output
    assert json.loads(cached.stdout)[0]["reused"] and fetched == []

    new_seed = runner.invoke(cli, [*args, "--seed", "1"])
    assert new_seed.exit_code == 0, new_seed.output
    assert fetched == [True] and "download" in new_seed.stderr  # with its progress shown


def test_a_home_that_is_a_file_is_one_line_before_training(runner, mnist_npz, homes):
    home = homes / "home"
    home.write_text("not a folder")
    args = ["train", "tiny", "--epochs", "1", "--train-size", "500", "--data", str(mnist_npz)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot save trained models in {home / 'models'}: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "epoch" not in result.stderr


@pytest.fixture
def drawn(monkeypatch):
    """The figures --plot writes, kept to check the numbers behind them."""
    from digitzoo.figures import curves

    figures = []

    def save_figure(figure, path):
        figures.append(figure)
        return real(figure, path)

    real = curves.save_figure
    monkeypatch.setattr(curves, "save_figure", save_figure)
    return figures


def _test_curve(figure, name: str):
    """The epochs and test accuracies (%) of model ``name``'s accuracy panel."""
    [panel] = [ax for ax in figure.get_axes() if ax.get_label() == f"accuracy: {name}"]
    _, test = panel.get_lines()
    return list(test.get_xdata()), list(test.get_ydata())


def _png(path):
    import cv2
    import numpy as np

    picture = cv2.imread(str(path))
    assert picture is not None, path
    assert picture.std() > 10 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 20
    return picture.shape


@pytest.mark.slow
def test_compare_plot_draws_the_curves_of_the_table(runner, mnist_npz, tmp_path, drawn):
    args = ["compare", "tiny", "mlp", "--epochs", "2", "--train-size", "500", "--data", str(mnist_npz)]
    result = runner.invoke(cli, [*args, "--plot", str(tmp_path / "curves.png")])
    assert result.exit_code == 0, result.output
    assert _png(tmp_path / "curves.png") == (520, 540, 3)  # two columns, 5.4 × 5.2 inches at 100 dpi
    assert f"wrote the learning curves to {tmp_path / 'curves.png'}" in result.stderr
    rows = {name: next(line for line in result.stdout.splitlines() if f" {name} " in line) for name in ("tiny", "mlp")}
    for name in ("tiny", "mlp"):
        epochs, test = _test_curve(drawn[-1], name)
        assert epochs == [1, 2]
        assert f"{test[-1]:.2f}%" in rows[name]  # the table's test accuracy

    # Cached results keep their curves; --json still prints only JSON.
    cached = runner.invoke(cli, [*args, "--json", "--plot", str(tmp_path / "again.svg")])
    assert cached.exit_code == 0, cached.output
    results = json.loads(cached.stdout)
    assert all(r["reused"] for r in results)
    for r in results:
        epochs, test = _test_curve(drawn[-1], r["name"])
        assert epochs == [1, 2] and test[-1] == pytest.approx(100 * r["test_accuracy"])
    assert (tmp_path / "again.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.slow
def test_train_plot_draws_one_model(runner, mnist_npz, tmp_path, drawn):
    args = ["train", "tiny", "--epochs", "1", "--train-size", "500", "--data", str(mnist_npz), "-q", "--json"]
    result = runner.invoke(cli, [*args, "--plot", str(tmp_path / "plots" / "tiny.png")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # quiet
    [row] = json.loads(result.stdout)
    assert _png(tmp_path / "plots" / "tiny.png") == (320, 700, 3)  # accuracy and loss side by side
    assert _test_curve(drawn[-1], "tiny") == ([1], [pytest.approx(100 * row["test_accuracy"])])


@pytest.mark.parametrize(
    ("plot", "message"),
    [
        ("curves.jpg", "cannot write a figure as 'curves.jpg': use a .png, .svg or .pdf file name"),
        ("file/curves.png", "cannot write"),
    ],
)
def test_a_bad_plot_path_is_a_usage_error_before_training(runner, tmp_path, monkeypatch, plot, message):
    from digitzoo import training

    def train(name, **kwargs):
        raise AssertionError("trained")

    monkeypatch.setattr(training, "train", train)
    (tmp_path / "file").write_text("x")
    for command in (["train", "tiny"], ["compare", "tiny", "mlp"]):
        result = runner.invoke(cli, [*command, "--data", "anything.npz", "--plot", str(tmp_path / plot)])
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--plot'" in result.stderr and message in result.stderr
        assert "trained" not in result.output

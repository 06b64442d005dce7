"""``digitzoo report``: the folder, the terminal tables, --json, and folder errors before training."""

from __future__ import annotations

import json
import re

import cv2
import pytest

from digitzoo.report import REPORT_FILES
from digitzoo_cli.main import cli

# An mlp that reaches about 85% in a few seconds: a confusion matrix with mistakes in it.
_TRAIN = ["--train-size", "1000", "--epochs", "3", "--batch-size", "16"]
_FILES = ["confusion.png", "curves.png", "mistakes.png", "reliability.png", "report.md"]


pytestmark = pytest.mark.usefixtures("homes")  # no MNIST and no network unless a test brings them


@pytest.mark.slow
def test_report_writes_the_folder_and_prints_the_tables(runner, mnist_npz, tmp_path, monkeypatch):
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = runner.invoke(cli, ["report", "mlp", *_TRAIN, "--data", str(mnist_npz), "--mistakes", "12"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (cwd / "report-mlp").iterdir()) == _FILES  # the default folder
    table = result.stdout
    assert "confusion matrix: rows true digit, columns predicted" in table and "per digit" in table
    assert "report written to report-mlp/report.md, with curves.png, confusion.png, mistakes.png, reliability.png" in table
    assert "epoch 3/3" in result.stderr and "epoch 3/3" not in table

    # Again as JSON: the cached model, the same numbers, only JSON on stdout.
    again = runner.invoke(cli, ["report", "mlp", *_TRAIN, "--data", str(mnist_npz), "--json", "-o", "json"])
    assert again.exit_code == 0, again.output
    assert "reusing the cached model" in again.stderr
    data = json.loads(again.stdout, parse_constant=_refuse)
    assert data["name"] == "mlp" and data["reused"] is True and data["test_size"] == 10000
    confusion = data["confusion"]
    assert sum(map(sum, confusion)) == 10000
    assert sum(confusion[i][i] for i in range(10)) / 10000 == pytest.approx(data["test_accuracy"], abs=1e-6)
    assert len(data["mistakes"]) == 24  # the default
    assert {m["true"] != m["predicted"] for m in data["mistakes"]} == {True}
    # The terminal tables of the first run show the same numbers.
    rows = [r for r in table.splitlines() if re.match(r"│\s+\d │(\s+\d+ │){10}", r)]
    assert [[int(c) for c in re.findall(r"\d+", r)[1:]] for r in rows] == confusion
    cells = re.sub(r" +", " ", table)
    for d in data["digits"]:
        assert f"│ {d['digit']} │ {d['precision']:.2%} │ {d['recall']:.2%} │ {d['support']:,} │" in cells
    assert f"{data['test_accuracy']:.2%}" in table
    assert data["files"] == {kind: f"json/{name}" for kind, name in REPORT_FILES.items()}
    calibration = data["calibration"]
    assert calibration["temperature"] > 0 and calibration["held_out_size"] > 0
    for kind in ("uncalibrated", "calibrated"):
        bins = calibration[kind]["bins"]
        assert sum(b["count"] for b in bins) == 10000
        gaps = sum(b["count"] * abs(b["confidence"] - b["accuracy"]) for b in bins if b["count"])
        assert calibration[kind]["ece"] == pytest.approx(gaps / 10000, abs=1e-5)
        assert calibration["ece_before" if kind == "uncalibrated" else "ece_after"] == calibration[kind]["ece"]
    for name in ("curves.png", "confusion.png", "mistakes.png", "reliability.png"):
        assert cv2.imread(str(cwd / "json" / name)).std() > 10


def _refuse(constant):
    raise ValueError(f"not strict JSON: {constant}")


@pytest.mark.parametrize("where", ["file/report", "read-only", "taken"])
def test_a_folder_that_cannot_hold_the_report_fails_before_training(runner, tmp_path, read_only_folder, where):
    (tmp_path / "file").write_text("x")
    (tmp_path / "taken" / "report.md").mkdir(parents=True)
    folder = read_only_folder(tmp_path / "locked") if where == "read-only" else tmp_path / where
    # No --data and no network: reaching the data or the training would fail otherwise.
    result = runner.invoke(cli, ["report", "mlp", "-o", str(folder)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: cannot write the report in {folder}: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "home" / "models").exists()


def test_a_file_named_as_the_folder_is_a_usage_error(runner, tmp_path):
    (tmp_path / "file").write_text("x")
    result = runner.invoke(cli, ["report", "mlp", "-o", str(tmp_path / "file")])
    assert result.exit_code == 2
    assert f"Error: Invalid value for '--output' / '-o': Directory '{tmp_path / 'file'}' is a file." in result.stderr


def test_report_refuses_a_bad_number_of_mistakes(runner):
    result = runner.invoke(cli, ["report", "mlp", "--mistakes", "-1"])
    assert result.exit_code == 2
    assert "--mistakes" in result.stderr

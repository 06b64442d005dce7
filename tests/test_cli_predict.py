"""``digitzoo predict``: output, batching over files, debug stages, and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from digitzoo.data import load_mnist
from digitzoo_cli.main import cli

cv2 = pytest.importorskip("cv2")


@pytest.fixture
def runner(homes, mnist_npz, monkeypatch):
    monkeypatch.setenv("DIGITZOO_DATA", str(mnist_npz))
    return CliRunner()


@pytest.fixture(scope="module")
def photos(tmp_path_factory, mnist_npz):
    """A single digit on paper (JPEG) and a row of three on a board (PNG)."""
    folder = tmp_path_factory.mktemp("photos")
    x, y = load_mnist(mnist_npz)[1]
    page = np.full((300, 260, 3), 235, np.uint8)
    page[60:240, 40:220] -= (cv2.resize(x[0], (180, 180))[..., None] * 0.8).astype(np.uint8)
    cv2.imwrite(str(folder / "seven.jpg"), page)
    board = np.full((200, 560), 40, np.uint8)
    for k in range(3):
        board[30:170, 30 + 180 * k : 170 + 180 * k] = np.maximum(40, cv2.resize(x[k + 1], (140, 140)))
    cv2.imwrite(str(folder / "row.png"), board)
    (folder / "blank.png").write_bytes(cv2.imencode(".png", np.full((50, 50), 255, np.uint8))[1].tobytes())
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_predict_trains_once_then_reuses(runner, photos):
    args = ["predict", "--model", "tiny", str(photos / "seven.jpg"), "--top", "2"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "no trained 'tiny' model in the cache yet: training it first" in first.stderr
    assert "seven.jpg" in first.stdout and "confidence" in first.stdout
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert "training it first" not in second.stderr


def test_predict_json_multi_and_debug(runner, photos, tmp_path):
    debug = tmp_path / "debug"
    result = runner.invoke(
        cli,
        ["predict", "-m", "tiny", "--multi", "--json", "--top", "3", "--debug", str(debug), str(photos / "row.png"),
         str(photos / "seven.jpg")],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [len(r["digits"]) for r in rows] == [3, 1]
    assert all(len(g["top"]) == 3 for g in rows[0]["guesses"])
    names = sorted(p.name for p in debug.iterdir())
    assert "row-1-gray.png" in names and "row-3-binary.png" in names
    assert [n for n in names if n.startswith("row-5-mnist")] == ["row-5-mnist-1.png", "row-5-mnist-2.png", "row-5-mnist-3.png"]
    assert cv2.imread(str(debug / "seven-5-mnist-1.png"), cv2.IMREAD_UNCHANGED).shape == (28, 28)


def test_bad_images_are_one_line_errors_and_the_rest_is_read(runner, photos):
    result = runner.invoke(
        cli,
        ["predict", "-m", "tiny", str(photos / "seven.jpg"), str(photos / "notes.txt"), str(photos / "blank.png"),
         str(photos / "missing.png")],
    )
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert f"Error: {photos / 'notes.txt'}: not an image OpenCV can read" in errors
    assert any(line.startswith(f"Error: {photos / 'blank.png'}: no ink found in the image") for line in errors)
    assert f"Error: {photos / 'missing.png'}: no such file" in errors
    assert "seven.jpg" in result.stdout


def test_a_row_read_as_one_digit_gets_a_hint(runner, photos):
    result = runner.invoke(cli, ["predict", "-m", "tiny", str(photos / "row.png")])
    assert result.exit_code == 0, result.output
    assert f"{photos / 'row.png'}: looks like 3 digits side by side; --multi reads each" in result.stderr


def test_unknown_model_and_bad_top(runner, photos):
    result = runner.invoke(cli, ["predict", "-m", "cnnn", str(photos / "seven.jpg")])
    assert result.exit_code == 1 and "did you mean cnn" in result.stderr
    result = runner.invoke(cli, ["predict", "--top", "11", str(photos / "seven.jpg")])
    assert result.exit_code == 2 and "Invalid value for '--top'" in result.stderr

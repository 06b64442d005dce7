"""``digitzoo show``: digits on the terminal, as bytes, as JSON and as pictures; clean errors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from digitzoo_cli.main import cli
from digitzoo_cli.show_cmd import half_blocks

pytestmark = pytest.mark.usefixtures("homes")


def _show(mnist_npz, *args):
    result = CliRunner().invoke(cli, ["show", *args, "--data", str(mnist_npz)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_show_0_draws_the_first_training_digit_a_5(mnist_npz, mnist):
    lines = _show(mnist_npz, "0").splitlines()
    assert lines[0] == "#0  label 5"
    # Piped, each character is the ink of two pixel rows: 28 rows make 14 lines.
    expected = [line.rstrip() for line in half_blocks(mnist[0][0][0], color=False).plain.split("\n")]
    assert lines[1:] == expected and len(expected) == 14
    assert any("█" in line for line in expected)


def _value_grids(output):
    """(header, 28×28 array) for each digit printed by --values."""
    blocks = [block.splitlines() for block in output.strip().split("\n\n")]
    return [(block[0], np.array([[int(v) for v in row.split()] for row in block[1:]])) for block in blocks]


def test_values_print_28_rows_of_28_bytes_equal_to_the_pixels(mnist_npz, mnist):
    output = _show(mnist_npz, "0", "--values")
    ((header, grid),) = _value_grids(output)
    assert header == "#0  label 5"
    assert grid.shape == (28, 28)
    np.testing.assert_array_equal(grid, mnist[0][0][0])
    assert all(len(line) == 28 * 4 - 1 for line in output.splitlines()[1:])  # right-aligned in 3 columns


def test_test_set_digits_follow_each_other_with_their_labels(mnist_npz, mnist):
    (_, _), (x_test, y_test) = mnist
    grids = _value_grids(_show(mnist_npz, "--test", "0", "9999", "--values"))
    assert [header for header, _ in grids] == [f"#0  label {y_test[0]}", f"#9999  label {y_test[9999]}"]
    np.testing.assert_array_equal(grids[1][1], x_test[9999])


def test_json_gives_indices_labels_and_pixels(mnist_npz, mnist):
    result = json.loads(_show(mnist_npz, "3", "0", "--json"))
    assert result["set"] == "train" and result["output"] is None
    assert [(d["index"], d["label"]) for d in result["digits"]] == [(3, int(mnist[0][1][3])), (0, 5)]
    np.testing.assert_array_equal(result["digits"][0]["pixels"], mnist[0][0][3])


@pytest.mark.slow
def test_without_index_a_sample_of_every_class_is_shown(mnist_npz, mnist):
    digits = json.loads(_show(mnist_npz, "--count", "3", "--seed", "4", "--json"))["digits"]
    assert [d["label"] for d in digits] == [c for c in range(10) for _ in range(3)]
    assert all(int(mnist[0][1][d["index"]]) == d["label"] for d in digits)
    again = json.loads(_show(mnist_npz, "--count", "3", "--seed", "4", "--json"))["digits"]
    assert [d["index"] for d in again] == [d["index"] for d in digits]
    drawn = _show(mnist_npz)  # one of each class by default
    assert [f"label {c}" in drawn for c in range(10)] == [True] * 10


def _picture(path):
    picture = cv2.imread(str(path))
    assert picture is not None, f"{path} is not a readable image"
    assert picture.std() > 10 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 5  # not blank
    return picture


def test_output_writes_the_chosen_digit_as_a_png(mnist_npz, tmp_path):
    stdout = _show(mnist_npz, "0", "-o", str(tmp_path / "zero.png"))
    assert stdout == f"Wrote {tmp_path / 'zero.png'}\n"
    picture = _picture(tmp_path / "zero.png")
    assert picture.shape == (303, 250, 3)  # one 2.5-inch panel, its caption and the title, at 100 dpi
    # The digit's panel shows the digit: its bright stroke is there.
    assert (picture > 200).all(axis=2).sum() > 500


@pytest.mark.slow
def test_output_without_index_writes_a_row_per_class(mnist_npz, tmp_path):
    _show(mnist_npz, "--test", "--count", "4", "-o", str(tmp_path / "sample.png"))
    picture = _picture(tmp_path / "sample.png")
    assert picture.shape[1] == 4 * 225  # four columns of 2.25 inches
    assert picture.shape[0] > 10 * 225  # ten rows


def test_svg_saves_what_the_terminal_shows_in_grey_levels(mnist_npz, tmp_path):
    stdout = _show(mnist_npz, "0", "--svg", str(tmp_path / "zero.svg"))
    assert stdout.startswith("#0  label 5\n") and stdout.endswith(f"Wrote {tmp_path / 'zero.svg'}\n")
    svg = (tmp_path / "zero.svg").read_text()
    assert svg.startswith("<svg") and "digitzoo&#160;show&#160;0<" in svg  # the title
    assert "#fdfdfd" in svg  # x_train[0] has 253 pixels, drawn in their own grey


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["60000"], "Invalid value for INDEX: 60000 is not in the training set (indices 0 to 59999)"),
        (["--test", "10000"], "Invalid value for INDEX: 10000 is not in the test set (indices 0 to 9999)"),
        (
            ["0", "-o", "zero.gif"],
            "Invalid value for '--output' / '-o': cannot write a figure as 'zero.gif': use a .png, .svg or .pdf file name",
        ),
        (["0", "--svg", "zero.png"], "Invalid value for '--svg': cannot write 'zero.png': use a .svg file name"),
        (["0", "--count", "2"], "--count and --seed choose a random sample; they cannot be combined with INDEX"),
        (["0", "--json", "--values"], "--json prints only JSON; it cannot be combined with --values or --svg"),
    ],
)
def test_bad_arguments_fail_before_mnist_is_read(homes, args, message):
    # homes: no MNIST anywhere and no network, so reaching the data would fail differently.
    result = CliRunner().invoke(cli, ["show", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1] == f"Error: {message}"
    assert not list(homes.glob("*.gif")) and not (homes / "home").exists()


def test_a_sample_larger_than_a_class_is_one_line_from_the_library(mnist_npz):
    result = CliRunner().invoke(cli, ["show", "--test", "--count", "1000", "--data", str(mnist_npz)])
    assert result.exit_code == 1
    assert result.stderr == "Error: count must be a positive integer at most 892, got 1000\n"

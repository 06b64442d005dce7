"""Learning curves: the figure of compare --plot, train --plot and the report."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest

from digitzoo.errors import DigitzooError
from digitzoo.figures import curves_figure, save_figure, write_curves
from digitzoo.figures.style import COLORS
from digitzoo.figures import check_figure_path


@pytest.fixture(scope="module")
def results(mnist_npz, tmp_path_factory):
    """tiny trained 3 epochs and 1 epoch on 500 images (nothing cached: the homes are temporary)."""
    from digitzoo.training import train

    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("curves-home")
        for name in ("DIGITZOO_HOME", "KERAS_HOME", "XDG_CACHE_HOME"):
            patch.setenv(name, str(home / name.lower()))
        three = train("tiny", epochs=3, train_size=500, data=mnist_npz, use_cache=False, load=False)
        one = train("tiny", epochs=1, train_size=500, seed=1, data=mnist_npz, use_cache=False, load=False)
    one.name = "tiny-1"  # two models to tell apart in the legend
    return [three, one]


def _curves(ax):
    """The (train, test) lines of a panel, as (x, y) arrays."""
    return [(np.asarray(line.get_xdata()), np.asarray(line.get_ydata())) for line in ax.get_lines()]


def _panels(figure):
    """(accuracy, loss) axes per model, in the order drawn (found by their labels)."""
    axes = {ax.get_label(): ax for ax in figure.get_axes()}
    names = [label.split(": ", 1)[1] for label in axes if label.startswith("accuracy: ")]
    return [(axes[f"accuracy: {name}"], axes[f"loss: {name}"]) for name in names]


@pytest.mark.slow
def test_one_point_per_epoch_and_the_last_test_point_is_the_test_accuracy(results):
    figure = curves_figure(results, title="learning curves")
    panels = _panels(figure)
    assert len(panels) == len(results)
    for result, (acc_ax, loss_ax) in zip(results, panels):
        (train_x, train_acc), (test_x, test_acc) = _curves(acc_ax)
        epochs = list(range(1, result.epochs + 1))
        assert list(train_x) == list(test_x) == epochs
        assert test_acc[-1] == pytest.approx(100 * result.test_accuracy)
        assert list(train_acc) == pytest.approx([100 * v for v in result.history["accuracy"]])
        (_, train_loss), (_, test_loss) = _curves(loss_ax)
        assert list(train_loss) == pytest.approx(result.history["loss"])
        assert test_loss[-1] == pytest.approx(result.test_loss)
        for line in [*acc_ax.get_lines(), *loss_ax.get_lines()]:
            assert line.get_marker() == "o"  # a one-epoch run is points, not an invisible line
        train_line, test_line = acc_ax.get_lines()
        assert train_line.get_linestyle() == "-" and test_line.get_linestyle() == "--"
        assert train_line.get_color() == test_line.get_color()


@pytest.mark.slow
def test_each_model_has_its_colour_and_its_diagnosis_in_the_legend(results):
    figure = curves_figure(results)
    [legend] = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == [f"{r.name} — {r.diagnosis}" for r in results] + ["train (mean during epoch)", "test (end of epoch)"]
    for i, (acc_ax, loss_ax) in enumerate(_panels(figure)):
        assert {line.get_color() for line in [*acc_ax.get_lines(), *loss_ax.get_lines()]} == {COLORS[i]}
    acc_axes = [acc for acc, _ in _panels(figure)]
    assert len({ax.get_ylim() for ax in acc_axes}) == 1  # one accuracy scale: heights compare
    assert acc_axes[0].get_ylim()[1] <= 101


@pytest.mark.slow
def test_the_png_has_its_size_and_is_not_blank(results, tmp_path):
    path = write_curves(results, tmp_path / "curves.png", title="learning curves")
    picture = cv2.imread(str(path))
    assert picture.shape == (520, 540, 3)  # two columns: 5.4 × 5.2 inches at 100 dpi
    assert picture.std() > 10
    colours = {tuple(int(c) for c in px) for px in picture.reshape(-1, 3)}
    assert len(colours) > 20
    # The models' colours (BGR) are drawn.
    for hex_colour in COLORS[:2]:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert (b, g, r) in colours


@pytest.mark.slow
def test_one_model_gets_accuracy_and_loss_side_by_side(results, tmp_path):
    figure = curves_figure(results[:1])
    acc_ax, loss_ax = figure.get_axes()
    assert acc_ax.get_ylabel() == "accuracy (%)" and loss_ax.get_ylabel() == "loss (cross-entropy)"
    assert acc_ax.get_title() == "accuracy (trained on 500 images)"
    picture = cv2.imread(str(save_figure(figure, tmp_path / "one.png")))
    assert picture.shape == (320, 700, 3)


@pytest.mark.slow
def test_many_models_wrap_onto_rows_of_five(results):
    many = [copy.copy(results[i % 2]) for i in range(7)]
    for i, result in enumerate(many):
        result.name = f"model{i}"
    figure = curves_figure(many)
    assert len(figure.get_axes()) == 14  # empty cells of the last row are removed
    assert figure.get_size_inches() == pytest.approx((12.6, 9.8))
    panels = _panels(figure)
    for i, (acc_ax, _) in enumerate(panels):
        assert (acc_ax.get_ylabel() != "") == (i % 5 == 0)  # the y label on each row's left only


@pytest.mark.slow
def test_a_result_without_history_and_no_results_are_errors(results):
    old = copy.copy(results[0])
    old.history = {"loss": [0.5], "accuracy": [0.9]}
    with pytest.raises(DigitzooError, match=r"'tiny' has no per-epoch train and test history to draw .* train it again"):
        curves_figure([old])
    with pytest.raises(DigitzooError, match="at least one trained model"):
        curves_figure([])


def test_check_figure_path_applies_save_figures_rules(tmp_path):
    assert check_figure_path(tmp_path / "new" / "curves.PNG") == tmp_path / "new" / "curves.PNG"
    assert list((tmp_path / "new").iterdir()) == []  # its test file is gone
    with pytest.raises(DigitzooError, match=r"cannot write a figure as 'curves.jpg': use a .png, .svg or .pdf"):
        check_figure_path(tmp_path / "curves.jpg")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(DigitzooError, match="it is a folder"):
        check_figure_path(tmp_path / "dir.png")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DigitzooError, match="cannot write .*curves.svg"):
        check_figure_path(tmp_path / "file" / "curves.svg")

"""digitzoo.report: the numbers of a report, its figures and its folder."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from digitzoo.errors import DigitzooError
from digitzoo.figures.confusion import ZERO_COLOR, confusion_figure, row_shares
from digitzoo.figures.mistakes import mistake_caption, mistakes_figure, mistakes_size
from digitzoo.figures.style import DPI
from digitzoo.report import (
    REPORT_FILES,
    build_report,
    confusion_matrix,
    most_confident_mistakes,
    precision_recall,
    prepare_report_folder,
    write_report,
)

_TEST_SIZE = 1000  # small_mnist's test digits, on which trained_mlp was tested


@pytest.fixture(scope="module")
def trained(trained_mlp, small_mnist):
    """The shared trained mlp (about 90% right: mistakes of every kind) with the test set it was tested on."""
    return trained_mlp, small_mnist[1]


@pytest.fixture(scope="module")
def report(trained):
    result, test_set = trained
    return build_report(result, test_set, mistakes=20)


def _png(path):
    picture = cv2.imread(str(path))
    assert picture is not None, f"{path} is not an image"
    return picture


def _not_blank(picture):
    assert picture.std() > 10
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 10


# -- the numbers ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_confusion_matrix_adds_up_to_the_test_accuracy(trained, report):
    result, (images, labels) = trained
    assert report.confusion.shape == (10, 10)
    assert report.confusion.sum() == len(images) == _TEST_SIZE
    assert np.trace(report.confusion) / _TEST_SIZE == pytest.approx(result.test_accuracy, abs=1e-6)
    assert report.accuracy == pytest.approx(result.test_accuracy, abs=1e-6)
    assert 0.5 < result.test_accuracy < 1  # enough right to be a matrix, enough wrong for mistakes
    np.testing.assert_array_equal(report.confusion.sum(axis=1), np.bincount(labels, minlength=10))
    np.testing.assert_array_equal(report.support, np.bincount(labels, minlength=10))


def test_precision_and_recall_of_a_known_example():
    # Class 0: 2 images, 1 read right. Class 1: 3 images, 2 right. Class 2: 1 image, read as 1.
    true = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 1])
    matrix = confusion_matrix(true, predicted, classes=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    precision, recall, support = precision_recall(matrix)
    np.testing.assert_allclose(precision, [1 / 2, 2 / 4, 0.0])  # nothing was read as 2: 0, not NaN
    np.testing.assert_allclose(recall, [1 / 2, 2 / 3, 0.0])
    np.testing.assert_array_equal(support, [2, 3, 1])


def test_a_class_without_images_has_recall_zero():
    precision, recall, support = precision_recall(confusion_matrix([0, 1], [0, 0], classes=3))
    np.testing.assert_allclose(precision, [0.5, 0.0, 0.0])
    np.testing.assert_allclose(recall, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(support, [1, 1, 0])


@pytest.mark.parametrize(
    ("true", "predicted", "message"),
    [
        ([0, 1], [0], "need one prediction per label, got 2 labels and 1 predictions"),
        ([0, 10], [0, 1], r"labels must be whole numbers 0-9, got int\S* 0..10"),
        ([0, 1], [0.0, 1.0], r"predictions must be whole numbers 0-9, got float64"),
    ],
)
def test_confusion_matrix_refuses_what_is_no_pair_of_digits(true, predicted, message):
    with pytest.raises(DigitzooError, match=message):
        confusion_matrix(np.array(true), np.array(predicted))


def test_most_confident_mistakes_are_wrong_and_ordered():
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0],  # right
            [0.2, 0.7, 0.1],  # wrong, 0.7
            [0.1, 0.1, 0.8],  # wrong, 0.8
            [0.0, 0.3, 0.7],  # wrong, 0.7 (a tie with index 1: the lower index first)
            [0.5, 0.4, 0.1],  # wrong, 0.5
        ]
    )
    labels = np.array([0, 0, 1, 1, 1])
    assert most_confident_mistakes(probabilities, labels, 10).tolist() == [2, 1, 3, 4]
    assert most_confident_mistakes(probabilities, labels, 2).tolist() == [2, 1]
    assert most_confident_mistakes(probabilities, labels, 0).tolist() == []


@pytest.mark.slow
def test_the_mistakes_are_the_most_confident_wrong_predictions(trained, report):
    from digitzoo.inference import predict_proba

    result, (images, labels) = trained
    probabilities = predict_proba(result.model, images)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    assert len(report.mistakes) == 20 < len(wrong)
    for m in report.mistakes:
        assert m.true == labels[m.index] != m.predicted == predicted[m.index]
        assert m.probability == pytest.approx(probabilities[m.index].max())
        np.testing.assert_array_equal(m.image, images[m.index])
    confidences = [m.probability for m in report.mistakes]
    assert confidences == sorted(confidences, reverse=True)
    # No wrong prediction left out was more confident than the last one shown.
    shown = {m.index for m in report.mistakes}
    assert all(probabilities[i].max() <= confidences[-1] for i in wrong if i not in shown)


@pytest.mark.slow
def test_report_as_strict_json(trained, report):
    result, _ = trained
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["name"] == "mlp" and data["test_size"] == _TEST_SIZE
    assert data["confusion"] == report.confusion.tolist()
    assert data["test_accuracy"] == result.test_accuracy and data["gap"] == result.gap
    assert data["diagnosis"] == result.diagnosis and data["recipe"]["epochs"] == 10
    assert [d["digit"] for d in data["digits"]] == list(range(10))
    assert [d["recall"] for d in data["digits"]] == pytest.approx(report.recall.tolist())
    assert data["mistakes"][0] == {k: v for k, v in dataclasses.asdict(report.mistakes[0]).items() if k != "image"}


@pytest.mark.slow
def test_a_report_needs_the_model_and_its_test_set(trained):
    result, (images, labels) = trained
    with pytest.raises(DigitzooError, match=r"'mlp' was tested on 1000 images, but this test set has 100"):
        build_report(result, (images[:100], labels[:100]))
    with pytest.raises(DigitzooError, match="has no model to report on"):
        build_report(dataclasses.replace(result, model=None), (images, labels))
    with pytest.raises(DigitzooError, match="whole number >= 0, got -1"):
        build_report(result, (images, labels), mistakes=-1)


# -- the figures ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_confusion_figure_writes_counts_and_colours_by_row(tmp_path, report):
    from digitzoo.figures import save_figure

    figure = confusion_figure(report.confusion, title="confusion")
    ax = figure.axes[0]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    assert len(texts) == 100
    shares = row_shares(report.confusion)
    for (row, column), text in texts.items():
        assert text.get_text() == str(report.confusion[row, column])
        count = report.confusion[row, column]
        assert text.get_color() == ("white" if shares[row, column] > 0.5 else "black" if count else ZERO_COLOR)
    np.testing.assert_allclose(ax.images[0].get_array(), shares)
    np.testing.assert_allclose(shares.sum(axis=1), 1)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted digit", "true digit")
    picture = _png(save_figure(figure, tmp_path / "confusion.png"))
    assert picture.shape == (560, 640, 3)
    _not_blank(picture)


def test_confusion_figure_refuses_what_is_no_matrix_of_counts():
    with pytest.raises(DigitzooError, match=r"must be square, got shape \(2, 3\)"):
        confusion_figure(np.zeros((2, 3), int))
    with pytest.raises(DigitzooError, match="holds counts"):
        confusion_figure(np.full((2, 2), 0.5))


@pytest.mark.slow
def test_mistakes_figure_captions_each_digit(tmp_path, report):
    from digitzoo.figures import save_figure

    m = report.mistakes
    true, predicted, probability = [x.true for x in m], [x.predicted for x in m], [x.probability for x in m]
    figure = mistakes_figure(np.array([x.image for x in m]), true, predicted, probability, columns=8)
    captions = [ax.get_title() for ax in figure.axes if ax.images]
    assert captions == [mistake_caption(x.true, x.predicted, x.probability) for x in m]
    assert mistake_caption(7, 2, 0.981) == "7 → 2  98%"
    picture = _png(save_figure(figure, tmp_path / "mistakes.png"))
    assert picture.shape == (360, 800, 3)  # 8 columns × 1 inch, 3 rows × 1.2 inches
    assert mistakes_size(20, columns=8) == pytest.approx((8.0, 3.6))
    _not_blank(picture)


def test_mistakes_figure_without_mistakes_says_so(tmp_path):
    from digitzoo.figures import save_figure

    figure = mistakes_figure(np.zeros((0, 28, 28), np.uint8), [], [], [])
    assert [t.get_text() for ax in figure.axes for t in ax.texts] == ["no wrong predictions"]
    assert _png(save_figure(figure, tmp_path / "none.png")).shape == (120, 400, 3)


def test_mistakes_figure_needs_one_caption_per_digit():
    with pytest.raises(DigitzooError, match="2 images, got 2, 1, 2"):
        mistakes_figure(np.zeros((2, 28, 28), np.uint8), [1, 2], [3], [0.5, 0.5])
    with pytest.raises(DigitzooError, match=r"images must be \(N, 28, 28\) digits, got shape \(2, 5, 5\)"):
        mistakes_figure(np.zeros((2, 5, 5), np.uint8), [1, 2], [3, 4], [0.5, 0.5])


# -- the folder ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_write_report_folder(tmp_path, trained, report):
    from digitzoo.figures.curves import curves_figure

    result, _ = trained
    paths = write_report(report, tmp_path / "out")
    assert {kind: p.name for kind, p in paths.items()} == REPORT_FILES
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(REPORT_FILES.values())  # no temporaries
    width, height = curves_figure([result]).get_size_inches() * DPI
    expected = {
        "curves": (round(height), round(width)),
        "confusion": (560, 640),
        "mistakes": (400, 800),  # 20 mistakes in 3 rows, and a title
    }
    for kind, size in expected.items():
        picture = _png(paths[kind])
        assert picture.shape[:2] == size, kind
        _not_blank(picture)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    for name in ("curves.png", "confusion.png", "mistakes.png"):
        assert f"]({name})" in markdown
    # The metrics table comes before the pictures.
    assert markdown.index("| test accuracy |") < markdown.index("![")
    for text in (
        f"| train accuracy | {result.train_accuracy:.2%} |",
        f"| test accuracy | {result.test_accuracy:.2%} |",
        f"| gap (train − test) | {result.gap * 100:+.2f} points |",
        f"| train loss | {result.train_loss:.4f} |",
        f"| test loss | {result.test_loss:.4f} |",
        f"| diagnosis | **{result.diagnosis}** |",
        f"| training time | {result.train_seconds:.1f} s |",
        "| recipe | 10 epochs, batch 256, sgd (learning rate 0.05, constant), on 3,000 images |",
        f"| 3 | {report.precision[3]:.2%} | {report.recall[3]:.2%} | {report.support[3]:,} |",
    ):
        assert text in markdown


def test_report_folder_that_cannot_be_written(tmp_path, read_only_folder):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DigitzooError, match=r"cannot write the report in .*file"):
        prepare_report_folder(tmp_path / "file")
    with pytest.raises(DigitzooError, match=r"cannot write the report in .*file"):
        prepare_report_folder(tmp_path / "file" / "report")
    (tmp_path / "taken" / "confusion.png").mkdir(parents=True)
    with pytest.raises(DigitzooError, match=r"confusion.png is a folder"):
        prepare_report_folder(tmp_path / "taken")
    locked = read_only_folder(tmp_path / "locked")
    with pytest.raises(DigitzooError, match=r"cannot write the report in .*locked"):
        prepare_report_folder(locked)
    assert prepare_report_folder(tmp_path / "new" / "report").is_dir()


def test_a_report_replaces_an_earlier_report_but_never_the_users_files(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("# My own notes\n")
    (mine / "notes.txt").write_text("kept\n")
    with pytest.raises(DigitzooError, match=r"it holds report.md but no earlier digitzoo report; name a new folder"):
        prepare_report_folder(mine)
    (mine / "report.md").unlink()
    (mine / "curves.png").write_bytes(b"a picture of mine")
    with pytest.raises(DigitzooError, match=r"it holds curves.png but no earlier digitzoo report"):
        prepare_report_folder(mine)
    assert (mine / "curves.png").read_bytes() == b"a picture of mine"

    (mine / "report.md").write_text("# digitzoo report: cnn\n\n| metric | value |\n")  # an earlier report
    assert prepare_report_folder(mine) == mine
    (mine / "curves.png").unlink()
    (mine / "report.md").unlink()
    assert prepare_report_folder(mine) == mine  # other files beside the report are fine: none is replaced

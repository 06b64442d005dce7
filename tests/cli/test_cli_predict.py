"""``digitzoo predict``: output, batching over files, debug stages, and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from digitzoo.data import load_mnist
from digitzoo_cli.main import cli

cv2 = pytest.importorskip("cv2")


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


@pytest.mark.slow
def test_predict_fetches_mnist_and_trains_with_progress_once_then_reuses(homes, mnist_npz, photos, monkeypatch):
    """With no MNIST anywhere, predict downloads it and trains as `digitzoo train` does: with progress."""
    from digitzoo import data

    def download(progress):
        progress("downloading", 0, 1)
        arrays = load_mnist(mnist_npz)
        progress("downloading", 1, 1)
        return arrays

    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "test", download),))
    args = ["predict", "--model", "tiny", str(photos / "seven.jpg"), "--top", "2"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    lines = first.stderr.splitlines()
    assert lines[0] == "no trained 'tiny' model in the cache yet: training it first"
    assert "downloading..." in lines
    assert any(line.startswith("tiny: epoch 1/") for line in lines)
    assert "seven.jpg" in first.stdout and "confidence" in first.stdout
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert second.stderr == ""


@pytest.mark.slow
def test_predict_json_multi_and_debug(mnist_runner, photos, tmp_path):
    debug = tmp_path / "debug"
    result = mnist_runner.invoke(
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
    assert [n for n in names if n.endswith("-stages.png")] == ["row-stages.png", "seven-stages.png"]
    for name in ("row-stages.png", "seven-stages.png"):
        figure = cv2.imread(str(debug / name))
        assert figure.shape[1] >= 400 and figure.std() > 20 and len(np.unique(figure.reshape(-1, 3), axis=0)) > 50


@pytest.mark.slow
def test_bad_images_are_one_line_errors_and_the_rest_is_read(mnist_runner, photos):
    result = mnist_runner.invoke(
        cli,
        ["predict", "-m", "tiny", str(photos / "seven.jpg"), str(photos / "notes.txt"), str(photos / "blank.png"),
         str(photos / "missing.png")],
    )
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert any(line.startswith(f"Error: {photos / 'notes.txt'}: not an image") for line in errors)
    assert any(line.startswith(f"Error: {photos / 'blank.png'}: no ink found in the image") for line in errors)
    assert f"Error: {photos / 'missing.png'}: no such file" in errors
    assert "seven.jpg" in result.stdout


@pytest.mark.slow
def test_a_row_is_read_as_a_row_without_a_flag_and_single_forces_one_digit(mnist_runner, photos):
    images = [str(photos / "row.png"), str(photos / "seven.jpg")]
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--json", "-q", *images])
    assert result.exit_code == 0, result.output
    assert [len(r["digits"]) for r in json.loads(result.stdout)] == [3, 1]
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--json", "--single", str(photos / "row.png")])
    assert result.exit_code == 0, result.output
    assert [len(r["digits"]) for r in json.loads(result.stdout)] == [1]
    assert result.stderr == ""  # told to read one digit: no hint


@pytest.mark.parametrize(
    "args, message",
    [
        (["--single", "--multi"], "--single and --multi cannot be used together"),
        (["-m", "cnn", "--model-file", "my.keras"], "--model and --model-file cannot be used together"),
    ],
)
def test_conflicting_options_are_usage_errors(mnist_runner, photos, args, message):
    result = mnist_runner.invoke(cli, ["predict", *args, str(photos / "seven.jpg")])
    assert result.exit_code == 2
    assert f"Error: {message}" in result.stderr


def test_unknown_model_and_bad_top(mnist_runner, photos):
    result = mnist_runner.invoke(cli, ["predict", "-m", "cnnn", str(photos / "seven.jpg")])
    assert result.exit_code == 1 and "did you mean cnn" in result.stderr
    result = mnist_runner.invoke(cli, ["predict", "--top", "11", str(photos / "seven.jpg")])
    assert result.exit_code == 2 and "Invalid value for '--top'" in result.stderr


def test_json_has_an_entry_for_every_image_even_when_all_fail(mnist_runner, photos, homes):
    images = [photos / "notes.txt", photos / "missing.png"]
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--json", *map(str, images)])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [row["source"] for row in rows] == [str(p) for p in images]
    assert rows[1] == {"source": str(images[1]), "error": f"{images[1]}: no such file"}
    assert rows[0]["error"].startswith(f"{images[0]}: not an image")
    assert "training it first" not in result.stderr  # nothing to classify: no model is trained
    assert not (homes / "home" / "models").exists()


@pytest.mark.slow
def test_json_keeps_the_order_of_the_images_with_errors_among_them(mnist_runner, photos):
    images = [photos / "blank.png", photos / "seven.jpg", photos / "missing.png"]
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--json", "-q", *map(str, images)])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [row["source"] for row in rows] == [str(p) for p in images]
    assert rows[0]["error"].startswith("no ink found in the image")
    assert len(rows[1]["digits"]) == 1 and "error" not in rows[1]
    assert rows[2]["error"] == f"{images[2]}: no such file"


def test_a_debug_folder_that_cannot_be_written_fails_before_any_work(mnist_runner, photos, tmp_path, homes):
    (tmp_path / "a-file").write_text("")
    debug = tmp_path / "a-file" / "debug"  # under a file: no one, not even root, can make it
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--debug", str(debug), str(photos / "seven.jpg")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {debug}: cannot write the stage images there (")
    assert len(result.stderr.strip().splitlines()) == 1  # no training was started
    assert result.stdout == ""


@pytest.mark.slow
def test_predictions_are_shown_before_a_failing_debug_write(mnist_runner, photos, tmp_path, monkeypatch):
    from digitzoo.errors import ImageError
    from digitzoo.image import io

    def full_disk(path, image):
        raise ImageError(f"{path}: cannot write (No space left on device)")

    monkeypatch.setattr(io, "write_image", full_disk)
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--json", "-q", "--debug", str(tmp_path / "d"),
                                 str(photos / "seven.jpg")])
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)[0]["digits"]) == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'd' / 'seven-1-gray.png'}: cannot write (No space")


@pytest.mark.slow
def test_file_names_are_shown_as_they_are_not_as_markup(mnist_runner, photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short name, on one line of the table
    (tmp_path / "[red]draft.jpg").write_bytes((photos / "seven.jpg").read_bytes())
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "-q", "[red]draft.jpg"])
    assert result.exit_code == 0, result.output
    assert "[red]draft.jpg" in result.stdout


def test_a_cache_remedy_names_the_train_command(mnist_runner, photos, monkeypatch):
    """predict has no --retrain: the hint says which command has it, for this model."""
    from digitzoo import zoo
    from digitzoo.errors import CacheError

    def broken(cache, plan, load, given):
        raise CacheError(f"cached model {plan.name!r} is damaged; retraining replaces it", remedy="retrain")

    monkeypatch.setattr(zoo, "_cached", broken)
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", str(photos / "seven.jpg")])
    assert result.exit_code == 1
    expected = "Error: cached model 'tiny' is damaged; retraining replaces it (run 'digitzoo train tiny --retrain')"
    assert result.stderr.strip() == expected



def test_a_home_that_cannot_keep_the_model_fails_before_the_download(homes, photos, monkeypatch):
    from digitzoo import data, training
    from digitzoo.errors import CacheError

    def download(progress):
        raise AssertionError("nothing is downloaded for a model that could not be kept")

    def read_only(cache=None):
        raise CacheError("cannot save trained models in /models: Read-only file system", remedy="home")

    monkeypatch.setattr(data, "DOWNLOADS", (data.DownloadSource("download", "test", download),))
    monkeypatch.setattr(training, "check_cache_writable", read_only)
    result = CliRunner().invoke(cli, ["predict", "-m", "tiny", str(photos / "seven.jpg")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines()[-1] == "Error: cannot save trained models in /models: Read-only file system"


def _save_model(path, *, softmax=True, shape=(28, 28)):
    import keras

    inputs = keras.Input(shape=shape)
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    outputs = keras.layers.Dense(10, activation="softmax" if softmax else None)(x)
    keras.Model(inputs, outputs).save(path)
    return path


def test_model_file_predicts_with_the_users_model(homes, photos, tmp_path):
    model = _save_model(tmp_path / "mine.keras")
    result = CliRunner().invoke(cli, ["predict", "--model-file", str(model), "--json", str(photos / "seven.jpg")])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert len(row["digits"]) == 1 and 0 <= row["confidence"] <= 1
    assert not (homes / "home" / "models").exists()  # nothing trained


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("mine.h5", None, "mine.h5: is a .h5 file; only Keras 3 model files (.keras) are read"),
        ("missing.keras", None, "missing.keras: no such file"),
        ("wide.keras", {"shape": (32, 32)}, "model 'wide.keras' takes input of shape (32, 32), expected (28, 28)"),
        ("raw.keras", {"softmax": False}, "model 'raw.keras' outputs scores from"),
    ],
)
def test_model_file_refuses_what_it_cannot_use(homes, photos, tmp_path, name, kwargs, message):
    path = tmp_path / name
    if name.endswith(".h5"):
        path.write_bytes(b"\x89HDF\r\n\x1a\n")  # refused by its name, before anything reads it
    elif kwargs is not None:
        _save_model(path, **kwargs)
    result = CliRunner().invoke(cli, ["predict", "--model-file", str(path), str(photos / "seven.jpg")])
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and message in line


def test_a_fresh_install_predicts_with_the_best_shipped_model_without_training(homes, photos):
    from digitzoo.weights import best_pretrained, shipped

    if not shipped():
        pytest.skip("no pretrained weights are installed in digitzoo/weights yet")
    from digitzoo.data import mnist_cache_path

    result = CliRunner().invoke(cli, ["predict", "--json", str(photos / "seven.jpg"), str(photos / "row.png")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no training, no download
    seven, row = json.loads(result.stdout)
    assert seven["digits"] == "7" and len(row["digits"]) == 3
    assert not (homes / "home" / "models").exists() and not mnist_cache_path().exists()
    assert f"({best_pretrained()})" in CliRunner().invoke(cli, ["predict", "--help"]).stdout


def test_uncalibrated_gives_the_models_own_probabilities_and_says_so(homes, photos):
    from digitzoo.predict import load_model, predict_digits

    seven = photos / "seven.jpg"
    runs = {flag: CliRunner().invoke(cli, ["predict", seven.as_posix(), *flag]) for flag in ((), ("--uncalibrated",))}
    for flag, calibrated in (((), True), (("--uncalibrated",), False)):
        result = runs[flag]
        assert result.exit_code == 0, result.output
        (library,) = predict_digits([seven], model=load_model(calibrated=calibrated))
        assert f"{library.confidence:.1%}" in result.stdout
        caption = "calibrated probabilities" if calibrated else "the model's own (uncalibrated) probabilities"
        assert caption in result.stdout
    as_json = CliRunner().invoke(cli, ["predict", "--json", "--uncalibrated", seven.as_posix()])
    assert json.loads(as_json.stdout)[0]["calibrated"] is False


def test_a_device_is_an_error_entry_not_read_without_end(mnist_runner, photos):
    """/dev/zero reports size 0 and never ends: it used to fill the memory (a MemoryError traceback)."""
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--json", "/dev/zero"])
    assert result.exit_code == 1
    assert result.stderr == "Error: /dev/zero: is a character device, not an image\n"
    assert json.loads(result.stdout) == [{"source": "/dev/zero", "error": "/dev/zero: is a character device, not an image"}]


@pytest.mark.slow
def test_a_folder_among_the_images_is_its_own_error_entry(mnist_runner, photos, tmp_path):
    """As a missing or unreadable file is: one Error line, the rest read, every image in the JSON."""
    folder = tmp_path / "img"
    folder.mkdir()
    images = [photos / "seven.jpg", folder, photos / "missing.png"]
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", "--json", "-q", *map(str, images)])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [row["source"] for row in rows] == [str(p) for p in images]
    assert len(rows[0]["digits"]) == 1 and "error" not in rows[0]
    assert rows[1] == {"source": str(folder), "error": f"{folder}: is a folder, not an image"}
    assert rows[2] == {"source": str(images[2]), "error": f"{images[2]}: no such file"}
    assert result.stderr.splitlines() == [
        f"Error: {folder}: is a folder, not an image",
        f"Error: {images[2]}: no such file",
    ]


def test_a_jpeg_claiming_far_more_pixels_than_it_holds_is_damaged_not_blank(mnist_runner, tmp_path, capfd):
    """16000×16000 in the header over 200×200 of data: it used to print libjpeg's "Corrupt JPEG
    data" line on stderr and then "no ink found"."""
    import struct

    page = np.full((200, 200, 3), 255, np.uint8)
    cv2.putText(page, "7", (50, 170), cv2.FONT_HERSHEY_SIMPLEX, 6, (0, 0, 0), 20)
    data = bytearray(cv2.imencode(".jpg", page)[1].tobytes())
    struct.pack_into(">HH", data, data.index(b"\xff\xc0") + 5, 16000, 16000)
    path = tmp_path / "claims.jpg"
    path.write_bytes(bytes(data))
    result = mnist_runner.invoke(cli, ["predict", "-m", "tiny", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: the JPEG file is damaged or cut short: its header says 16000×16000 pixels, "
        f"more than its {len(data)} bytes can hold\n"
    )
    assert capfd.readouterr().err == ""  # nothing from libjpeg on the real stderr either

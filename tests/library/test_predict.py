"""predict_digits: the Python API over the whole pipeline, with a briefly trained CNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitzoo import DigitzooError, ImageError
from digitzoo import predict as predict_module
from digitzoo.cache import ModelCache
from digitzoo.errors import ModelError
from digitzoo.inference import predict_proba
from digitzoo.predict import classify, predict_digits, prepare_stage_folder, save_stages
from digitzoo.training import train

from helpers import PHOTOS

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="session")
def quick_cnn(tmp_path_factory, mnist_npz):
    """The zoo's cnn after one epoch on 12 000 images in batches of 32 (enough steps for BatchNorm).

    Not the shared ``trained_mlp``: these tests read digits on paper with the cnn, trained on four
    times as many digits, and their 90 % bar was set for it.
    """
    cache = ModelCache(tmp_path_factory.mktemp("models"))
    return train("cnn", epochs=1, train_size=12_000, batch_size=32, data=mnist_npz, cache=cache).model


def _on_paper(digit, size=160):
    page = np.full((size * 2, size * 2, 3), 225, np.uint8)
    ink = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC)
    page[size // 2 : size // 2 + size, size // 3 : size // 3 + size] -= (ink[..., None] * 0.85).astype(np.uint8)
    return page


@pytest.mark.slow
def test_reads_digits_on_paper(quick_cnn, mnist_test, monkeypatch):
    x, y = mnist_test
    images = [_on_paper(d) for d in x[:60]]
    calls = []

    def counting(model, digits, **kwargs):
        calls.append(len(digits))
        return predict_proba(model, digits, **kwargs)

    monkeypatch.setattr(predict_module, "predict_proba", counting)
    results = predict_digits(images, model=quick_cnn, top=3)
    assert calls == [60]  # one batched call for all images
    accuracy = np.mean([r.digits == str(label) for r, label in zip(results, y[:60])])
    assert accuracy >= 0.9
    first = results[0]
    assert len(first.guesses) == 1 and len(first.guesses[0].top) == 3
    assert first.confidence == pytest.approx(first.guesses[0].confidence)
    assert first.guesses[0].top[0][0] == first.guesses[0].digit


@pytest.mark.slow
def test_reads_rows_and_files(quick_cnn, mnist_test, tmp_path):
    x, y = mnist_test
    row = np.full((220, 4 * 170 + 40), 250, np.uint8)
    for k in range(4):
        row[30:190, 20 + 170 * k : 180 + 170 * k] = 250 - cv2.resize(x[10 + k], (160, 160)) * 0.9
    path = tmp_path / "row.png"
    cv2.imwrite(str(path), row)
    [result] = predict_digits([path], model=quick_cnn, multi=True)
    assert result.source == str(path)
    assert len(result.digits) == 4
    assert sum(a == str(b) for a, b in zip(result.digits, y[10:14])) >= 3
    assert result.confidence == pytest.approx(np.prod([g.confidence for g in result.guesses]))


@pytest.mark.slow
def test_classify_agrees_with_model_predict(quick_cnn, mnist_test):
    x, _ = mnist_test
    probabilities = quick_cnn.predict(x[:50].astype(np.float32), verbose=0)
    guesses = classify(quick_cnn, x[:50], top=2)
    assert [g.digit for g in guesses] == list(np.argmax(probabilities, axis=1))
    np.testing.assert_allclose([g.confidence for g in guesses], probabilities.max(axis=1), atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("top", [0, 11, 2.5, True])
def test_classify_validates_top(quick_cnn, top):
    with pytest.raises(DigitzooError, match=f"top must be a whole number from 1 to 10, got {top!r}"):
        classify(quick_cnn, np.zeros((1, 28, 28), np.uint8), top=top)


@pytest.mark.slow
def test_classify_nothing(quick_cnn):
    assert classify(quick_cnn, np.zeros((0, 28, 28), np.uint8)) == []


def test_a_bad_top_fails_before_any_image_is_read_or_model_trained(monkeypatch):
    monkeypatch.setattr(predict_module, "read_images", _never)
    with pytest.raises(DigitzooError, match="top must be a whole number from 1 to 10, got 0"):
        predict_digits([np.zeros((28, 28), np.uint8)], model="tiny", top=0)


def _never(*args, **kwargs):
    raise AssertionError("not to be called")


@pytest.mark.slow
def test_unreadable_images_raise_or_are_collected(quick_cnn, mnist_test, tmp_path):
    x, _ = mnist_test
    missing = tmp_path / "missing.png"
    images = [np.zeros((40, 40), np.uint8), _on_paper(x[0]), missing]
    with pytest.raises(ImageError, match="no ink found in the image"):
        predict_digits(images, model=quick_cnn)
    blank, digit, gone = predict_digits(images, model=quick_cnn, errors="collect")
    assert blank.error.startswith("no ink found in the image") and blank.digits == "" and blank.guesses == []
    assert blank.to_dict() == {"source": "", "error": blank.error}
    assert digit.error == "" and len(digit.digits) == 1 and len(digit.guesses) == 1
    assert gone.to_dict() == {"source": str(missing), "error": f"{missing}: no such file"}


def test_a_model_is_loaded_only_when_some_image_was_read(monkeypatch, tmp_path):
    from digitzoo import training

    monkeypatch.setattr(training, "load_trained", _never)
    [result] = predict_digits([tmp_path / "missing.png"], model="tiny", errors="collect")
    assert result.error.endswith("no such file")


def test_errors_must_be_raise_or_collect():
    with pytest.raises(DigitzooError, match="errors must be 'raise' or 'collect', got 'ignore'"):
        predict_digits([], errors="ignore")


@pytest.mark.slow
def test_save_stages_names_every_file_and_keeps_images_of_the_same_name_apart(quick_cnn, mnist_test, tmp_path):
    x, _ = mnist_test
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "digit.png"), _on_paper(x[1]))
    results = predict_digits(
        [tmp_path / "a" / "digit.png", tmp_path / "missing.png", tmp_path / "b" / "digit.png", _on_paper(x[2])],
        model=quick_cnn,
        errors="collect",
    )
    written = save_stages(results, tmp_path / "out" / "stages")
    stages = ["1-gray", "2-ink", "3-binary", "4-crop-1", "5-mnist-1", "stages"]
    expected = [f"{stem}-{stage}.png" for stem in ("digit", "digit-3", "image-4") for stage in stages]
    assert [p.name for p in written] == expected
    assert sorted(p.name for p in (tmp_path / "out" / "stages").iterdir()) == sorted(expected)
    assert cv2.imread(str(written[4]), cv2.IMREAD_UNCHANGED).shape == (28, 28)
    figure = cv2.imread(str(written[5]))
    assert figure.shape[0] > 300 and figure.shape[1] > 600 and figure.std() > 20
    raw = save_stages(results, tmp_path / "raw", figure=False)
    assert [p.name for p in raw] == [name for name in expected if not name.endswith("-stages.png")]


@pytest.mark.slow
def test_the_stages_figure_shows_what_was_read(quick_cnn, mnist_test, monkeypatch, tmp_path):
    from digitzoo import figures

    drawn = []
    monkeypatch.setattr(figures, "stages_figure", lambda stages, **kw: drawn.append(kw) or figures.new_figure(1, 1))
    x, _ = mnist_test
    cv2.imwrite(str(tmp_path / "two.png"), _on_paper(x[1]))
    (result,) = predict_digits([tmp_path / "two.png"], model=quick_cnn)
    save_stages([result], tmp_path / "out")
    assert drawn == [{"guesses": result.guesses, "title": f"two.png: read {result.digits} ({result.confidence:.1%})"}]


def test_a_stage_folder_that_cannot_be_made_is_an_image_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ImageError, match=r"file/sub: cannot write the stage images there \("):
        prepare_stage_folder(tmp_path / "file" / "sub")
    assert prepare_stage_folder(tmp_path / "new" / "sub").is_dir()




def _sample(kind: str) -> tuple[list[Path], list[str]]:
    """The committed synthetic photos (benchmarks/photo_digits.py --save-photos): NAME-INDEX-LABEL.ext."""
    paths = sorted(PHOTOS.glob(f"{kind}-*"))
    return paths, [p.stem.split("-")[2] for p in paths]


@pytest.mark.slow
def test_reads_the_sample_photos(quick_cnn):
    # Made by: python benchmarks/photo_digits.py --singles 40 --rows 12 --seed 11 --save-photos DIR
    # Both the zoo's fully trained cnn and this briefly trained one read all 52 right.
    singles, labels = _sample("single")
    assert len(singles) == 40
    read = [r.digits for r in predict_digits(singles, model=quick_cnn)]
    assert np.mean([a == b for a, b in zip(read, labels)]) >= 0.95
    rows, labels = _sample("row")
    assert len(rows) == 12
    read = [r.digits for r in predict_digits(rows, model=quick_cnn, multi=True)]
    assert [len(r) for r in read] == [len(label) for label in labels]  # every digit found, none extra
    assert np.mean([a == b for a, b in zip(read, labels)]) >= 0.9


# --- a user's model file (--model-file) ------------------------------------------------------


def _saved_model(path: Path, *, softmax: bool = True) -> Path:
    import keras

    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax" if softmax else None)(x)).save(path)
    return path


def _unusable_model_file(tmp_path: Path, kind: str) -> Path:
    """A ``.keras`` file that exists but holds no usable model, made the way ``kind`` says."""
    import pickle
    import zipfile

    path = tmp_path / f"{kind}.keras"
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"weights": [0.5] * 10}))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "folder":
        path.mkdir()
    elif kind == "not-keras":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "a zip, but no model")
    else:
        data = _saved_model(tmp_path / "good.keras").read_bytes()
        if kind == "truncated":
            data = data[: len(data) // 2]  # a download cut short
        else:  # "damaged": one byte flipped inside the weights, the zip's index intact
            data = bytearray(data)
            data[data.index(b"model.weights.h5") + 200] ^= 0xFF
        path.write_bytes(bytes(data))
    return path


_WHAT_IS_WRONG = {  # regular expressions for what follows the path
    "pickle": r": is a Python pickle, not a Keras 3 model file \(a \.keras file is a zip archive\)$",
    "empty": r": is empty \(0 bytes\), not a Keras model$",
    "folder": r": is a folder, not a \.keras file$",
    "not-keras": r": is a zip archive but not a Keras model \(it has no config\.json\)$",
    "truncated": r": is truncated or damaged, not a complete zip archive \(",
    "damaged": r": is damaged: its part \S+ fails its checksum$",
}


@pytest.mark.parametrize("kind", sorted(_WHAT_IS_WRONG))
def test_a_model_file_that_is_no_keras_archive_says_what_is_wrong(tmp_path, kind):
    import re

    path = _unusable_model_file(tmp_path, kind)
    for check in (predict_module.check_model_file, predict_module.load_model_file):
        with pytest.raises(ModelError) as caught:
            check(path)
        message = str(caught.value)
        assert re.match(re.escape(str(path)) + _WHAT_IS_WRONG[kind], message), message
        assert "not found" not in message.lower() and len(message.splitlines()) == 1


def test_a_model_file_that_is_missing_is_no_such_file(tmp_path):
    with pytest.raises(ModelError, match="missing.keras: no such file$"):
        predict_module.load_model_file(tmp_path / "missing.keras")


def test_a_model_file_of_raw_scores_is_refused_and_a_softmax_one_loads(tmp_path):
    with pytest.raises(ModelError, match="model 'raw.keras' outputs scores from .* not probabilities"):
        predict_module.load_model_file(_saved_model(tmp_path / "raw.keras", softmax=False))
    assert predict_module.load_model_file(_saved_model(tmp_path / "mine.keras")).output_shape == (None, 10)

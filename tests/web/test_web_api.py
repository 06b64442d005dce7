"""The JSON API of ``digitzoo serve`` through FastAPI's test client, with the shipped weights.

Answers are known: the files the README reads, the labelled photos of ``tests/data/photos``,
digits drawn as the canvas draws them; and every answer equals what the library itself gives for
the same file, since the API must be the library and not a second implementation of it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitzoo.image.filters import filter_image, show_image
from digitzoo.image.header import FORMATS
from digitzoo.image.io import decode_image, fit_side, read_image
from digitzoo.image.kernels import DESCRIPTIONS, KERNELS, SOBEL_X, VERTICAL
from digitzoo.predict import load_model, predict_digits, read_digits
from digitzoo.weights import best_pretrained, shipped
from digitzoo.web import create_app
from digitzoo.web.service import CUP, FILTER_SIDE
from helpers import PHOTOS as _PHOTOS
from helpers import ROOT
from web_helpers import local_client

SEVEN = ROOT / "assets" / "digits" / "seven.jpg"
ROW = ROOT / "assets" / "digits" / "row.jpg"
FREE = ROOT / "assets" / "digits" / "free.jpg"  # 5743 written freely across the page
PHOTOS = sorted(_PHOTOS.iterdir())
#: Seconds before a wait between threads gives up: a guard against a hang, never a measure of speed.
HANG_GUARD = 120


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture
def client(app):
    with local_client(app, raise_server_exceptions=False) as client:
        yield client


def _png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def _data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(_png(image)).decode()


def _pixels(url: str) -> np.ndarray:
    """The image of a PNG data URL the API sent, exactly as encoded."""
    head, data = url.split(",", 1)
    assert head == "data:image/png;base64"
    return cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_UNCHANGED)


def _canvas(strokes: list[list[tuple[int, int]]], size: int = 280) -> np.ndarray:
    """Strokes as the page's canvas draws them: a round black pen on a transparent BGRA square."""
    canvas = np.zeros((size, size, 4), np.uint8)
    for stroke in strokes:
        points = np.array(stroke, np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [points], False, (0, 0, 0, 255), thickness=size // 14, lineType=cv2.LINE_AA)
    return canvas


def _post_file(client, path: Path, **fields):
    with open(path, "rb") as f:
        return client.post("/api/predict", files={"file": (path.name, f.read())}, data=fields)


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


# The happy paths ---------------------------------------------------------------------------------


def test_models_lists_the_zoo_with_shipped_accuracy(client):
    from digitzoo.registry import list_models

    body = client.get("/api/models").json()
    assert body["default"] == best_pretrained()
    assert [m["name"] for m in body["models"]] == list_models()
    by_name = {m["name"]: m for m in body["models"]}
    for name, info in shipped().items():
        assert by_name[name]["pretrained"] is True
        assert by_name[name]["test_accuracy"] == info.test_accuracy
    lenet5 = {"pretrained": False, "test_accuracy": None, "available": False, "loaded": False, "problem": None}
    assert by_name["lenet5"] == by_name["lenet5"] | lenet5  # empty homes: nobody trained it
    assert by_name[best_pretrained()]["loaded"] is True
    assert [m["name"] for m in body["models"] if m["available"]] == sorted(shipped())
    fields = {"name", "description", "params", "pretrained", "test_accuracy", "available", "loaded", "problem"}
    assert set(by_name["mlp"]) == fields


def test_kernels_are_the_named_kernels():
    client = local_client(create_app())
    body = client.get("/api/kernels").json()
    assert [k["name"] for k in body["kernels"]] == list(KERNELS)
    vertical = body["kernels"][0]
    assert vertical == {"name": "vertical", "description": DESCRIPTIONS["vertical"], "matrix": VERTICAL.tolist()}


def test_predict_an_upload_reads_the_seven_as_the_library_does(client):
    response = _post_file(client, SEVEN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == best_pretrained() and body["digits"] == "7" and body["row"] is False
    (guess,) = body["guesses"]
    assert guess["digit"] == 7 and guess["confidence"] == body["confidence"]
    assert [t["digit"] for t in guess["top"]][0] == 7 and len(guess["top"]) == 3
    assert len(guess["probabilities"]) == 10 and sum(guess["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert guess["probabilities"][7] == guess["confidence"]
    seen = _pixels(guess["input"])
    assert seen.shape == (28, 28) and seen.dtype == np.uint8
    np.testing.assert_array_equal(seen, read_digits(SEVEN).digits[0])
    (library,) = predict_digits([SEVEN], model=load_model())
    assert library.digits == body["digits"]
    assert [(d, pytest.approx(p, abs=1e-6)) for d, p in library.guesses[0].top] == [
        (t["digit"], t["p"]) for t in guess["top"]
    ]


def test_predict_reads_the_row_and_obeys_reading_and_top(client):
    body = _post_file(client, ROW).json()
    assert body["digits"] == "21049" and body["row"] is True and len(body["guesses"]) == 5
    expected = read_digits(ROW).digits
    for guess, digit in zip(body["guesses"], expected):
        np.testing.assert_array_equal(_pixels(guess["input"]), digit)
    single = _post_file(client, ROW, reading="single", top="5").json()
    assert len(single["digits"]) == 1 and single["row"] is False and len(single["guesses"][0]["top"]) == 5
    assert _post_file(client, SEVEN, reading="multi").json()["row"] is True


def test_probabilities_are_calibrated_unless_asked_otherwise(client):
    calibrated = _post_file(client, SEVEN).json()
    own = _post_file(client, SEVEN, calibrated="false").json()
    assert (calibrated["calibrated"], own["calibrated"]) == (True, False)
    assert calibrated["digits"] == own["digits"] == "7"
    for body, model in ((calibrated, load_model()), (own, load_model(calibrated=False))):
        (library,) = predict_digits([SEVEN], model=model)
        assert body["confidence"] == pytest.approx(library.confidence, abs=1e-6)
    assert calibrated["confidence"] > own["confidence"]  # label smoothing made the model's own too modest


def test_a_free_form_row_is_read_without_being_asked_and_says_why(client):
    body = _post_file(client, FREE).json()
    assert body["digits"] == "5743" and body["row"] is True and body["why"]
    (library,) = predict_digits([FREE], model=load_model())
    assert body["why"] == library.why


@pytest.mark.parametrize("path", PHOTOS, ids=[p.name for p in PHOTOS])
def test_labelled_photos_are_read_as_digitzoo_predict_reads_them(client, path):
    body = _post_file(client, path).json()
    (library,) = predict_digits([path], model=load_model())
    assert body["digits"] == library.digits
    assert body["confidence"] == pytest.approx(library.confidence, abs=1e-6)


@pytest.mark.slow
def test_most_labelled_photos_are_read_right(client):
    right = [_post_file(client, p).json()["digits"] == p.stem.rsplit("-", 1)[1] for p in PHOTOS]
    assert sum(right) >= 0.8 * len(right), f"{sum(right)} of {len(right)} read right"


@pytest.mark.parametrize(
    ("strokes", "digit"),
    [
        ([[(140, 50), (140, 230)]], "1"),
        ([[(80, 60), (200, 60), (120, 230)]], "7"),
        ([[(90, 70), (90, 150), (200, 150)], [(170, 60), (170, 230)]], "4"),
    ],
)
def test_predict_a_canvas_drawing_sent_as_a_data_url(client, strokes, digit):
    canvas = _canvas(strokes)
    response = client.post("/api/predict", json={"image": _data_url(canvas)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["digits"] == digit
    np.testing.assert_array_equal(_pixels(body["guesses"][0]["input"]), read_digits(canvas).digits[0])


def test_predict_with_another_shipped_model_loads_it_once(client):
    body = client.post("/api/predict", json={"image": _data_url(_canvas([[(140, 50), (140, 230)]])), "model": "mlp"})
    assert body.status_code == 200, body.text
    assert body.json()["model"] == "mlp" and body.json()["digits"] == "1"
    loaded = {m["name"]: m["loaded"] for m in client.get("/api/models").json()["models"]}
    assert loaded["mlp"] and loaded[best_pretrained()] and not loaded["cnn"]


def test_filter_the_cup_with_vertical_as_digitzoo_filter_does(client):
    response = client.post("/api/filter", json={"kernel": "vertical"})
    assert response.status_code == 200, response.text
    body = response.json()
    cup = read_image(CUP)
    assert body["kernel"] == {"name": "vertical", "matrix": VERTICAL.tolist()}
    assert (body["width"], body["height"], body["scaled"]) == (cup.shape[1], cup.shape[0], False)
    np.testing.assert_array_equal(_pixels(body["filtered"]), filter_image(cup, VERTICAL).picture)
    np.testing.assert_array_equal(_pixels(body["original"]), show_image(cup, color=True))
    assert body["display"] == "abs" and body["mode"] == "correlate" and body["border"] == "reflect101"


@pytest.mark.parametrize(
    "kernel", ["1,0,-1;1,0,-1;1,0,-1", "1 0 -1\n1 0 -1\n1 0 -1", [[1, 0, -1], [1, 0, -1], [1, 0, -1]]]
)
def test_a_typed_matrix_filters_as_its_named_kernel(client, kernel):
    named = client.post("/api/filter", json={"kernel": "vertical"}).json()
    typed = client.post("/api/filter", json={"kernel": kernel}).json()
    assert typed["kernel"] == {"name": None, "matrix": VERTICAL.tolist()}
    assert typed["filtered"] == named["filtered"]


def test_filter_an_upload_with_options_shrinks_large_pictures(client):
    big = np.tile(np.linspace(0, 255, 3000, dtype=np.float32), (1500, 1)).astype(np.uint8)
    big[500:1000, 1000:2000] = 255 - big[500:1000, 1000:2000]
    files = {"file": ("big.png", _png(big))}
    fields = {"kernel": "sobel-x", "mode": "convolve", "display": "signed", "border": "replicate"}
    body = client.post("/api/filter", files=files, data=fields).json()
    assert (body["width"], body["height"], body["scaled"]) == (FILTER_SIDE, 512, True)
    shown = fit_side(decode_image(_png(big)), FILTER_SIDE)
    expected = filter_image(shown, SOBEL_X, mode="convolve", display="signed", border="replicate").picture
    np.testing.assert_array_equal(_pixels(body["filtered"]), expected)
    assert body["kernel"]["name"] == "sobel-x" and body["display"] == "signed"


def test_filter_takes_a_data_url_too(client):
    image = np.zeros((40, 60), np.uint8)
    image[:, :30] = 200
    body = client.post("/api/filter", json={"image": _data_url(image), "kernel": "vertical"}).json()
    np.testing.assert_array_equal(_pixels(body["filtered"]), filter_image(image, VERTICAL).picture)


def test_static_files_the_page_and_the_schema_are_served_without_docs_pages(client):
    cup = client.get("/static/cup.jpg")
    assert cup.status_code == 200 and cup.content == CUP.read_bytes()
    page = client.get("/")
    if (CUP.parent / "index.html").is_file():
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    schema = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/filter", "/api/models", "/api/kernels"} <= set(schema["paths"])
    body = schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    answer = schema["paths"]["/api/predict"]["post"]["responses"]
    assert {"200", "400", "404", "409", "413", "415", "422"} <= set(answer)
    fields = schema["components"]["schemas"]["DigitAnswer"]["properties"]
    assert set(fields) == {"digit", "confidence", "top", "probabilities", "input"}
    assert _error(client.get("/docs"), 404) == "no such page: /docs"
    assert client.get("/redoc").status_code == 404


# Bad requests ------------------------------------------------------------------------------------


def test_not_an_image_is_refused_with_the_librarys_message(client):
    response = client.post("/api/predict", files={"file": ("notes.txt", b"just some text")})
    assert _error(response, 422) == f"notes.txt: not an image digitzoo can read (it reads {', '.join(FORMATS)} files)"
    damaged = SEVEN.read_bytes()[:200]
    message = _error(client.post("/api/predict", files={"file": ("seven.jpg", damaged)}), 422)
    with pytest.raises(Exception) as raised:
        decode_image(damaged, name="seven.jpg")
    assert message == str(raised.value)


def test_empty_and_missing_images_are_refused(client):
    assert _error(client.post("/api/predict", files={"file": ("a.png", b"")}), 400) == "a.png: the image is empty"
    assert _error(client.post("/api/predict", data={"top": "3"}, files={"x": ("a", b"1")}), 422).startswith(
        "no image: send a file"
    )
    assert _error(client.post("/api/predict", json={}), 422).startswith("no image")
    empty = client.post("/api/predict", content=b"", headers={"content-type": "application/json"})
    assert _error(empty, 400).startswith("the request body is empty")
    assert _error(client.post("/api/filter", files={"file": ("a.png", b"")}, data={"kernel": "vertical"}), 400)


def test_an_image_without_ink_is_the_librarys_error(client):
    blank = np.full((100, 100), 255, np.uint8)
    message = _error(client.post("/api/predict", json={"image": _data_url(blank)}), 422)
    with pytest.raises(Exception) as raised:
        read_digits(blank)
    assert message == str(raised.value)


def test_wrong_content_types_are_415(client):
    response = client.post("/api/predict", content=b"abc", headers={"content-type": "text/plain"})
    assert _error(response, 415) == (
        "send multipart/form-data (an image in field 'file') or application/json, not text/plain"
    )
    url = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    assert _error(client.post("/api/predict", json={"image": url}), 415) == (
        "image is a data URL of text/plain, not of an image"
    )


def test_too_large_by_content_length_is_refused_before_reading():
    client = local_client(create_app(max_upload_bytes=1000))
    response = client.post("/api/predict", files={"file": ("seven.jpg", SEVEN.read_bytes())})
    assert _error(response, 413) == "the request body is larger than the server's limit of 1000 bytes"


def test_too_large_without_content_length_is_counted_as_it_streams():
    client = local_client(create_app(max_upload_bytes=1000))
    sent = []

    def chunks():
        for _ in range(100):
            sent.append(1)
            yield b"x" * 100

    response = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert _error(response, 413) == "the request body is larger than the server's limit of 1000 bytes"


def test_the_limit_reads_no_body_when_content_length_is_over_it():
    import asyncio

    from digitzoo.web.limits import BodyLimit

    calls = []

    async def app(scope, receive, send):
        calls.append("app")

    async def receive():
        calls.append("receive")
        return {"type": "http.request", "body": b"x" * 10, "more_body": False}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"5000000")]}
    asyncio.run(BodyLimit(app, max_bytes=1 << 20)(scope, receive, send))
    assert calls == [] and sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "the request body is larger than the server's limit of 1 MB"}


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        ("verticle", "unknown kernel 'verticle'; did you mean vertical?"),
        ("/etc/passwd", "unknown kernel '/etc/passwd'; the named kernels are " + ", ".join(KERNELS)),
        ("1,0;0,1", "kernel must have odd height and width, got 2×2"),
        ("1,0,x;1,0,-1;1,0,-1", "kernel row 1: 'x' is not a number"),
        ("1,0,-1;1,0", "kernel row 2 has 2 values, row 1 has 3"),
        ([[1, 0], [1]], None),
        ([["a"]], "kernel must hold real numbers, got dtype <U1"),
        ({"a": 1}, "kernel must be a name, a matrix as text or a list of rows, got {'a': 1}"),
        ("", "kernel is empty: give a name from /api/kernels or a matrix such as 1,0,-1;1,0,-1;1,0,-1"),
    ],
)
def test_bad_kernels_are_422(client, kernel, message):
    got = _error(client.post("/api/filter", json={"kernel": kernel}), 422)
    assert message is None or got == message


def test_missing_kernel_and_bad_options_are_422(client):
    assert _error(client.post("/api/filter", json={}), 422).startswith("no kernel")
    assert _error(client.post("/api/filter", json={"kernel": "vertical", "mode": "flip"}), 422) == (
        "mode must be one of correlate, convolve; got 'flip'"
    )
    assert _error(client.post("/api/filter", json={"kernel": "vertical", "border": 3}), 422) == (
        "border must be text, got 3"
    )
    assert _error(client.post("/api/filter", json={"kernel": "vertical", "color": "yes"}), 422) == (
        "color must be true or false, got 'yes'"
    )


def test_unknown_model_is_404_and_one_without_weights_409(client):
    seven = {"image": _data_url(read_image(SEVEN))}
    assert _error(client.post("/api/predict", json=seven | {"model": "cnn-bestt"}), 404).startswith(
        "unknown model 'cnn-bestt'; did you mean cnn-best"
    )
    assert _error(client.post("/api/predict", json=seven | {"model": "lenet5"}), 409) == (
        "model 'lenet5' has no trained weights here; run `digitzoo train lenet5` first"
    )
    assert _error(client.post("/api/predict", json=seven | {"model": 5}), 422) == "model must be a model's name, got 5"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{", 400, "malformed JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"\xff\xfe", 400, None),
        (b"[1, 2]", 400, "the JSON body must be an object, got list"),
        (b'{"image": "hello"}', 400, "image is not a base64 data URL such as data:image/png;base64,..."),
        (b'{"image": 5}', 400, "image must be a data URL such as data:image/png;base64,..., got int"),
        (b'{"image": "data:image/png;base64,@@@"}', 400, "image data URL: the base64 data is damaged"),
        (b'{"image": "data:image/png;base64,"}', 400, "upload: the image is empty"),
    ],
)
def test_malformed_json_and_bad_data_urls_are_400(client, body, status, message):
    response = client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    got = _error(response, status)
    assert message is None or got == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"top": 0}, "top must be a whole number from 1 to 10, got 0"),
        ({"top": 11}, "top must be a whole number from 1 to 10, got 11"),
        ({"top": True}, "top must be a whole number from 1 to 10, got True"),
        ({"top": "abc"}, "top must be a whole number from 1 to 10, got 'abc'"),
        ({"top": 2.5}, "top must be a whole number from 1 to 10, got 2.5"),
        ({"reading": "rows"}, "reading must be one of auto, single, multi; got 'rows'"),
    ],
)
def test_bad_top_and_reading_are_422(client, fields, message):
    assert _error(client.post("/api/predict", json={"image": _data_url(read_image(SEVEN))} | fields), 422) == message
    form = {k: str(v) for k, v in fields.items()}
    got = _error(_post_file(client, SEVEN, **form), 422)
    assert got.split(", got")[0] == message.split(", got")[0] or got == message


def test_unknown_paths_and_methods_are_json(client):
    assert _error(client.get("/api/nothing"), 404) == "no such page: /api/nothing"
    assert _error(client.get("/api/predict"), 405) == "Method Not Allowed"


def test_an_unexpected_failure_is_500_without_details(app, monkeypatch):
    from digitzoo.web import service

    def broken():
        raise RuntimeError("secret detail")

    monkeypatch.setattr(service, "kernel_list", broken)
    with local_client(app, raise_server_exceptions=False) as client:
        response = client.get("/api/kernels")
    assert response.status_code == 500 and response.json() == {"error": "internal error"}
    assert "secret" not in response.text


_CUT = "malformed multipart body: it ends before its closing boundary"


def _multipart(data: bytes, boundary: bytes = b"x") -> bytes:
    head = b'Content-Disposition: form-data; name="file"; filename="seven.jpg"\r\nContent-Type: image/jpeg'
    return b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n"


@pytest.mark.parametrize("keep", [-3, -4, -7, -9, 60, 20])
def test_a_multipart_body_cut_before_its_closing_boundary_is_400(client, keep):
    # The parser drops an unfinished part silently: the cut upload was "no image" (422).
    body = _multipart(SEVEN.read_bytes())[:keep]
    response = client.post("/api/predict", content=body, headers={"content-type": "multipart/form-data; boundary=x"})
    assert _error(response, 400) == _CUT


@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_a_whole_multipart_body_is_read_however_it_is_cut_into_chunks(client, chunk):
    # The closing boundary is found across chunks too, and an epilogue after it is allowed.
    body = _multipart(SEVEN.read_bytes(), b"b0undary") + b"epilogue"
    chunks = iter([body[i : i + chunk] for i in range(0, len(body), chunk)])
    response = client.post(
        "/api/predict", content=chunks, headers={"content-type": 'multipart/form-data; boundary="b0undary"'}
    )
    assert response.status_code == 200, response.text
    assert response.json()["digits"] == "7"


def _damage_cache_entry(name: str) -> Path:
    """Write ``{bad`` as the sidecar ``train(name)`` looks up in this test's home, as a damaged
    cache entry looks."""
    from digitzoo.cache import ModelCache
    from digitzoo.zoo import available

    looked_up = []
    lookup = ModelCache.lookup

    def spy(self, model, key):
        looked_up.append(self.paths(model, key)[1])
        return lookup(self, model, key)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ModelCache, "lookup", spy)
        available(name)  # looks the default request up in the cache
    (sidecar,) = looked_up
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text("{bad")
    return sidecar


@pytest.mark.parametrize("name", ["lenet5", "mlp"])
def test_a_damaged_cache_entry_marks_its_model_and_the_rest_is_listed(name):
    import os

    sidecar = _damage_cache_entry(name)
    home = os.environ["DIGITZOO_HOME"]
    with local_client(create_app(), raise_server_exceptions=False) as client:
        response = client.get("/api/models")
        assert response.status_code == 200, response.text
        listed = {m["name"]: m for m in response.json()["models"]}
        assert listed[name]["available"] is False
        assert listed[name]["problem"] == (
            f"its cached trained model on the server is damaged; `digitzoo train {name} --retrain` replaces it"
        )
        others = [m for m in listed.values() if m["name"] != name]
        assert all(m["problem"] is None for m in others)
        assert {m["name"] for m in others if m["available"]} == set(shipped()) - {name}
        # Reading digits with it is the server's fault (500), said without the server's paths.
        seven = {"image": _data_url(read_image(SEVEN)), "model": name}
        answer = client.post("/api/predict", json=seven)
        assert _error(answer, 500) == (
            "a cached model on the server is damaged or unusable; the server's log says which and why"
        )
    for text in (response.text, answer.text):
        assert home not in text and sidecar.name not in text


def test_a_cache_entry_that_only_its_owner_can_clear_is_not_sent_to_retrain():
    sidecar = _damage_cache_entry("mlp")
    sidecar.unlink()
    sidecar.mkdir()
    (sidecar / "notes.txt").write_text("not digitzoo's")  # --retrain would not help: it never deletes this
    with local_client(create_app(), raise_server_exceptions=False) as client:
        listed = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert listed["mlp"]["available"] is False
    assert listed["mlp"]["problem"] == "its entry in the server's model cache is unusable; the server's log says why"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("CacheError", "a cached model on the server is damaged or unusable; the server's log says which and why"),
        ("DataError", "the server cannot read its MNIST data; the server's log says why"),
        ("ModelError", "a model on the server is damaged or does not fit the zoo; the server's log says which"),
    ],
)
def test_the_servers_own_faults_are_500_without_its_paths(app, monkeypatch, caplog, error, message):
    from digitzoo import errors
    from digitzoo.web import service

    def broken():
        raise getattr(errors, error)("/srv/secret/home/models/cnn-0123.json is not valid JSON")

    monkeypatch.setattr(service, "kernel_list", broken)
    with local_client(app, raise_server_exceptions=False) as client:
        response = client.get("/api/kernels")
    assert _error(response, 500) == message and "/srv/secret" not in response.text
    assert "/srv/secret/home/models/cnn-0123.json" in caplog.text  # the server's owner learns which


def test_a_missing_default_picture_or_page_is_500_without_paths(client, monkeypatch, tmp_path):
    from digitzoo.web import app as web_app
    from digitzoo.web import service

    monkeypatch.setattr(service, "CUP", tmp_path / "no-cup.jpg")
    response = client.post("/api/filter", json={"kernel": "vertical"})
    assert _error(response, 500) == "the default picture (the cup) is not installed with digitzoo on this server"
    assert str(tmp_path) not in response.text
    monkeypatch.setattr(web_app, "STATIC", tmp_path)
    assert _error(client.get("/"), 500) == "the page is not installed with digitzoo on this server"


# Nothing a client sends is a 500 ------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "image": st.one_of(_json_values, st.binary(max_size=64).map(lambda b: "data:image/png;base64," + _b64(b))),
        "kernel": _json_values,
        "top": _json_values,
        "reading": _json_values,
        "model": _json_values,
        "mode": _json_values,
        "border": _json_values,
        "display": _json_values,
        "color": _json_values,
    },
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=_fields, endpoint=st.sampled_from(["/api/predict", "/api/filter"]))
def test_no_json_body_is_a_server_error(client, fields, endpoint):
    response = client.post(endpoint, json=fields)
    assert response.status_code < 500, (fields, response.text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=256),
    content_type=st.sampled_from(
        ["application/json", "multipart/form-data", "multipart/form-data; boundary=x", "image/png", ""]
    ),
    endpoint=st.sampled_from(["/api/predict", "/api/filter"]),
)
def test_no_raw_body_is_a_server_error(client, data, content_type, endpoint):
    response = client.post(endpoint, content=data, headers={"content-type": content_type})
    assert response.status_code < 500, (data, content_type, response.text)


def test_a_slow_prediction_does_not_block_other_requests(app, monkeypatch):
    import threading

    from digitzoo.web import service

    started, release = threading.Event(), threading.Event()
    predict_image = service.predict_image

    def slow(*args, **kwargs):
        started.set()
        assert release.wait(HANG_GUARD), "never released"
        return predict_image(*args, **kwargs)

    monkeypatch.setattr(service, "predict_image", slow)
    with local_client(app) as client:
        answers = []
        seven = {"image": _data_url(read_image(SEVEN))}
        worker = threading.Thread(target=lambda: answers.append(client.post("/api/predict", json=seven)))
        worker.start()
        try:
            assert started.wait(HANG_GUARD), "the prediction never started"
            assert client.get("/api/models").status_code == 200  # answered while the prediction waits
        finally:
            release.set()
            worker.join(HANG_GUARD)
    assert answers[0].json()["digits"] == "7"


def test_a_content_length_that_is_no_number_is_400():
    import asyncio

    from digitzoo.web.limits import BodyLimit

    async def app(scope, receive, send):
        raise AssertionError("the app ran")

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"12abc")]}
    asyncio.run(BodyLimit(app, max_bytes=100)(scope, None, send))
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"]) == {"error": "the Content-Length header is not a whole number"}


def test_at_most_two_images_are_worked_on_at_once(app, monkeypatch):
    # Synchronised by events, not by a clock: two requests hold their slots until the test has
    # seen both inside and found the gate shut to a third, however slow the machine.
    import threading

    from digitzoo import predict
    from digitzoo.web import service
    from digitzoo.web.service import IMAGE_SLOTS

    changed, running, most = threading.Condition(), [0], [0]
    release = threading.Event()
    read = predict.read_digits

    def holding(*args, **kwargs):
        with changed:
            running[0] += 1
            most[0] = max(most[0], running[0])
            changed.notify_all()
        try:
            assert release.wait(HANG_GUARD), "never released"
            return read(*args, **kwargs)
        finally:
            with changed:
                running[0] -= 1

    monkeypatch.setattr(predict, "read_digits", holding)
    seven = {"image": _data_url(read_image(SEVEN))}
    with local_client(app) as client:
        answers = []
        post = lambda: answers.append(client.post("/api/predict", json=seven))  # noqa: E731
        workers = [threading.Thread(target=post) for _ in range(5)]
        for worker in workers:
            worker.start()
        try:
            with changed:
                assert changed.wait_for(lambda: running[0] >= IMAGE_SLOTS, timeout=HANG_GUARD), "never two at once"
            third = service._slots.acquire(blocking=False)  # what a third request would get now
            if third:
                service._slots.release()
            assert not third and running[0] == IMAGE_SLOTS
        finally:
            release.set()
            for worker in workers:
                worker.join(HANG_GUARD)
    assert [a.json()["digits"] for a in answers] == ["7"] * 5
    assert most[0] == IMAGE_SLOTS == 2


@pytest.mark.slow
def test_mnist_test_digits_drawn_on_a_canvas_are_read(client, mnist_npz):
    """MNIST test digits (never trained on), enlarged to the page's canvas as black ink on
    transparency, sent as the page sends them: each read as the library reads the same canvas
    (index 13, a bold 8 that fills the canvas, among them)."""
    from digitzoo.data import load_mnist

    _, (x_test, y_test) = load_mnist(mnist_npz, test_size=20, seed=1)
    right = 0
    for digit, label in zip(x_test, y_test):
        canvas = np.zeros((280, 280, 4), np.uint8)
        canvas[..., 3] = cv2.resize(digit, (280, 280), interpolation=cv2.INTER_LINEAR)  # ink where MNIST is bright
        response = client.post("/api/predict", json={"image": _data_url(canvas), "reading": "single"})
        (library,) = predict_digits([canvas], model=load_model(), multi=False)
        assert response.json()["digits"] == library.digits
        right += library.digits == str(label)
    assert right >= 19, f"{right} of 20 read right"


def test_fastapis_validation_errors_become_one_line():
    app = create_app()

    @app.get("/probe")
    def probe(n: int, m: int) -> dict:
        return {"n": n}

    response = local_client(app).get("/probe?n=x")
    assert _error(response, 422) == (
        "query.n: Input should be a valid integer, unable to parse string as an integer; query.m: Field required"
    )

"""The page of ``digitzoo serve`` in a real headless Chromium: draw digits with pointer events,
upload photos, change kernels; the page talks to no host but the server.

The server is the real command (the venv's ``digitzoo serve``) on a free loopback port, with an
empty digitzoo home: it reads with the shipped weights, as on a fresh install.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from urllib.parse import urlsplit

import pytest
import web_helpers
from helpers import PHOTOS, ROOT
from web_helpers import STROKES, draw, draw_by_touch, wait_for_answer


sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
if not os.path.exists(web_helpers.CHROMIUM):
    pytest.skip(
        f"no Chromium at {web_helpers.CHROMIUM}: install Debian's chromium package (.ci/run does)",
        allow_module_level=True,
    )

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with web_helpers.serve(tmp_path_factory.mktemp("serve") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = web_helpers.launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server):
    """The page, loaded and ready (models and kernels listed, the cup filtered), with a record of
    every request it makes and every script error it raises."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.requests = []
    page.errors = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(server.url + "/")
    page.wait_for_selector("#model option", state="attached")
    wait_for_answer(page, 1, area="#filter-result")
    try:
        yield page
    finally:
        context.close()


def only_local(page, server) -> None:
    """No script error, and no request to any host but the server."""
    assert page.errors == []
    origin = urlsplit(server.url)
    elsewhere = [
        url
        for url in page.requests
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url)[:2] != origin[:2]
    ]
    assert page.requests and elsewhere == []


def shown(page) -> str:
    return page.text_content("#digits").strip()


def api_filter(server, kernel) -> str:
    """The filtered cup as the API itself makes it for ``kernel``."""
    request = urllib.request.Request(
        server.url + "/api/filter",
        data=json.dumps({"kernel": kernel}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["filtered"]


def wait_for_src(page, selector: str, src: str) -> None:
    page.wait_for_function("([s, src]) => document.querySelector(s).src === src", arg=[selector, src])


def canvas_png(page) -> str:
    return page.evaluate("document.querySelector('#canvas').toDataURL('image/png')")


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_drawn_digit_is_read(page, server, digit):
    draw(page, STROKES[digit])
    # One answer per stroke; the last one counts.
    assert wait_for_answer(page, len(STROKES[digit])) == "done", page.text_content("#status")
    assert shown(page) == digit
    assert page.get_attribute("#result", "data-state") == "done"
    # The answer's parts: ten bars with the digit's highlighted, and the 28×28 image the model saw.
    assert page.locator("#bars-0 .bar").count() == 10
    assert page.text_content("#bars-0 .bar.win .label") == digit
    size = page.locator("#input28-0").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [28, 28]
    assert page.locator("#input28-1").count() == 0
    only_local(page, server)


def _placed(strokes, x0: float, y0: float, scale: float):
    """A digit's strokes shrunk by ``scale`` and moved to (x0, y0) of the canvas's unit square."""
    return [[(x0 + scale * x, y0 + scale * y) for x, y in stroke] for stroke in strokes]


def test_digits_drawn_at_different_heights_are_read_as_a_row(page, server):
    # A 1 high on the left, a 7 low in the middle, a 0 in between on the right: no baseline, three marks.
    strokes = (
        _placed(STROKES["1"], -0.08, 0.0, 0.5)
        + _placed(STROKES["7"], 0.22, 0.45, 0.5)
        + _placed(STROKES["0"], 0.55, 0.22, 0.5)
    )
    draw(page, strokes)
    assert wait_for_answer(page, len(strokes)) == "done", page.text_content("#status")
    assert shown(page) == "170"
    assert page.locator("#input28-2").count() == 1 and page.locator("#input28-3").count() == 0


def test_undo_clear_and_redraw(page, server):
    blank = canvas_png(page)
    draw(page, STROKES["0"])
    assert wait_for_answer(page, 1) == "done" and shown(page) == "0"
    zero = canvas_png(page)
    assert zero != blank

    draw(page, [[(0.15, 0.9), (0.85, 0.1)]])  # a stroke across the 0
    wait_for_answer(page, 2)
    assert canvas_png(page) != zero

    page.click("#undo")  # the stroke goes, the 0 is read again
    assert wait_for_answer(page, 3) == "done"
    assert canvas_png(page) == zero
    assert shown(page) == "0"

    page.keyboard.press("Control+z")  # Ctrl+Z undoes too: the canvas is blank, no answer
    page.wait_for_selector("#result[data-state=idle]")
    assert canvas_png(page) == blank
    assert shown(page) == ""
    assert page.locator("#panels .panel").count() == 0

    draw(page, STROKES["7"])
    assert wait_for_answer(page, 4) == "done" and shown(page) == "7"
    page.click("#clear")
    page.wait_for_selector("#result[data-state=idle]")
    assert canvas_png(page) == blank and shown(page) == ""
    only_local(page, server)


def test_canvas_scales_on_a_phone(browser, server):
    """At phone width the canvas is wider than its 280 pixels, and a finger's drawing lands right."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("#model option", state="attached")
        box = page.locator("#canvas").bounding_box()
        assert box["width"] > 280 and abs(box["width"] - box["height"]) < 1
        assert box["x"] + box["width"] <= 390
        draw_by_touch(page, STROKES["7"])
        assert wait_for_answer(page, 1) == "done" and shown(page) == "7"
        # The answer fits the screen: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_a_stale_answer_is_not_shown(page, server):
    """An answer that comes back after a newer drawing was sent is dropped, whatever it says."""
    held = []

    def hold_first(route):
        if not held:
            held.append((route, route.fetch()))  # answered later, by hand
        else:
            route.continue_()

    page.route("**/api/predict", hold_first)
    draw(page, STROKES["0"])
    page.wait_for_function("() => document.querySelector('#result').dataset.state === 'busy'")
    page.click("#clear")
    draw(page, STROKES["7"])
    assert wait_for_answer(page, 1) == "done" and shown(page) == "7"
    (route, response), = held
    assert response.json()["digits"] == "0"
    route.fulfill(response=response)
    page.evaluate("() => new Promise(r => setTimeout(r, 500))")  # time for the page to (not) show it
    assert shown(page) == "7" and page.get_attribute("#result", "data-answers") == "1"


def test_controls_have_labels(page):
    """Every control is reachable by its label or role, as a screen reader announces it."""
    for label, element in [
        ("Model", "model"),
        ("Photo of a digit or a row of digits", "photo"),
        ("Kernel", "kernel"),
        ("Another picture", "kernel-photo"),
        ("Drawing area: draw a digit with a mouse, pen or finger", "canvas"),
        ("weight, row 2, column 3", None),
    ]:
        found = page.get_by_label(label, exact=True)
        assert found.count() == 1, label
        if element:
            assert found.get_attribute("id") == element
    for name, element in [("Undo", "undo"), ("Clear", "clear"), ("Back to the cup", "cup")]:
        assert page.get_by_role("button", name=name, exact=True).get_attribute("id") == element
    assert page.get_by_role("status").get_attribute("id") == "status"


@pytest.mark.parametrize(
    "photo",
    [ROOT / "assets" / "digits" / "seven.jpg", PHOTOS / "row-0007-37.jpg", PHOTOS / "row-0005-930.jpg"],
    ids=lambda p: p.name,
)
def test_photo_is_read(page, server, photo):
    expected = "7" if photo.name == "seven.jpg" else re.fullmatch(r"\w+-\d+-(\d+)\.\w+", photo.name)[1]
    page.set_input_files("#photo", str(photo))
    assert wait_for_answer(page, 1) == "done", page.text_content("#status")
    assert shown(page) == expected
    # One panel, one 28×28 image and one bar chart per digit.
    assert page.locator("#panels .panel").count() == len(expected)
    for i, digit in enumerate(expected):
        assert page.text_content(f"#bars-{i} .bar.win .label") == digit
        assert page.locator(f"#input28-{i}").count() == 1
    only_local(page, server)


def test_not_an_image_shows_the_error(page, server, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture at all")
    page.set_input_files("#photo", str(text))
    assert wait_for_answer(page, 1) == "error"
    status = page.locator("#status")
    assert "error" in status.get_attribute("class")
    assert status.text_content().strip() != ""
    assert shown(page) == ""


def test_kernel_changes_the_filtered_picture(page, server):
    assert page.input_value("#kernel") == "vertical"
    vertical = page.get_attribute("#filtered", "src")
    original = page.get_attribute("#original", "src")
    assert vertical == api_filter(server, "vertical") and vertical != original

    page.select_option("#kernel", "horizontal")
    wait_for_answer(page, 2, area="#filter-result")
    horizontal = page.get_attribute("#filtered", "src")
    assert horizontal == api_filter(server, "horizontal")
    assert horizontal != vertical
    assert page.get_attribute("#original", "src") == original
    values = page.locator("#matrix input").evaluate_all("inputs => inputs.map(i => Number(i.value))")
    assert values == [1, 1, 1, 0, 0, 0, -1, -1, -1]

    # A typed matrix: the kernel becomes the user's own, and the page shows what the API makes of it.
    cells = page.locator("#matrix input")
    for i, value in enumerate([0, 1, 0, 1, -4, 1, 0, 1, 0]):
        cells.nth(i).fill(str(value))
    wait_for_src(page, "#filtered", api_filter(server, "laplacian"))
    assert page.input_value("#kernel") == "laplacian"  # the typed weights are a named kernel's
    cells.nth(4).fill("-3")
    typed = api_filter(server, [[0, 1, 0], [1, -3, 1], [0, 1, 0]])
    wait_for_src(page, "#filtered", typed)
    assert page.input_value("#kernel") == ""
    assert typed not in (vertical, horizontal)
    cells.nth(0).fill("")  # an empty weight: said, and nothing sent
    page.wait_for_selector("#status.error")
    assert "needs a number" in page.text_content("#status")
    assert page.get_attribute("#filtered", "src") == typed
    cells.nth(0).fill("0")

    page.select_option("#kernel", "gaussian-blur-5")  # a 5×5 kernel: the grid follows
    wait_for_src(page, "#filtered", api_filter(server, "gaussian-blur-5"))
    assert cells.count() == 25
    page.select_option("#kernel", "laplacian")
    wait_for_src(page, "#filtered", api_filter(server, "laplacian"))
    assert "error" not in page.get_attribute("#status", "class")
    typed = page.get_attribute("#filtered", "src")

    # Another picture replaces the cup on both sides.
    answers = int(page.get_attribute("#filter-result", "data-answers"))
    page.set_input_files("#kernel-photo", str(ROOT / "assets" / "digits" / "seven.jpg"))
    wait_for_answer(page, answers + 1, area="#filter-result")
    assert page.get_attribute("#original", "src") != original
    assert page.get_attribute("#filtered", "src") != typed
    only_local(page, server)


def test_model_list_is_the_available_models(page, server):
    with urllib.request.urlopen(server.url + "/api/models", timeout=60) as response:
        zoo = json.load(response)
    options = page.locator("#model option").evaluate_all("options => options.map(o => [o.value, o.textContent])")
    assert [value for value, _ in options] == [m["name"] for m in zoo["models"] if m["available"]]
    assert page.input_value("#model") == zoo["default"]
    default = next(m for m in zoo["models"] if m["name"] == zoo["default"])
    assert f"{100 * default['test_accuracy']:.2f}%" in dict(options)[zoo["default"]]

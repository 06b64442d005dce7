"""Screenshots of the page of ``digitzoo serve`` after drawing a digit, for the README.

    python tools/make_screenshot.py [--digit 7] [--out assets/web]

Starts ``digitzoo serve`` (the shipped weights, an empty temporary digitzoo home), draws the digit
in Debian's headless Chromium with real mouse events, and writes ``draw.png`` (1100×800) and
``draw-phone.png`` (390 px wide, down to the answer) into ``--out``. The serving and drawing are the
browser tests' own (``tests/web_helpers.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import web_helpers  # noqa: E402  (the tests' helpers, from tests/)

from digitzoo.files import atomic_path  # noqa: E402

VIEWS = {
    "draw.png": {"viewport": {"width": 1100, "height": 800}},
    "draw-phone.png": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def screenshot(page_url: str, browser, out: Path, options: dict, digit: str, *, full_page: bool) -> Path:
    context = browser.new_context(**options)
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(page_url)
        page.wait_for_selector("#model option", state="attached")
        web_helpers.wait_for_answer(page, 1, area="#filter-result")
        strokes = web_helpers.STROKES[digit]
        web_helpers.draw(page, strokes)
        state = web_helpers.wait_for_answer(page, len(strokes))
        read = page.text_content("#digits").strip()
        if state != "done" or read != digit:
            raise SystemExit(f"the page read {read!r} ({state}) for a drawn {digit}: {page.text_content('#status')}")
        page.mouse.move(0, 0)  # no hover effect in the picture
        # The phone's picture runs down to the answer, below the canvas there.
        clip = None
        if full_page:
            box = page.locator("#result").bounding_box()
            clip = {"x": 0, "y": 0, "width": options["viewport"]["width"], "height": box["y"] + box["height"] + 8}
        with atomic_path(out, suffix=".png") as tmp:
            page.screenshot(path=str(tmp), full_page=full_page, clip=clip)
        return out
    finally:
        context.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digit", default="7", choices=sorted(web_helpers.STROKES))
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "web")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home, web_helpers.serve(Path(home)) as server, sync_playwright() as pw:
        browser = web_helpers.launch_chromium(pw)
        try:
            for name, options in VIEWS.items():
                whole = name != "draw.png"
                print(screenshot(server.url + "/", browser, args.out / name, options, args.digit, full_page=whole))
        finally:
            browser.close()


if __name__ == "__main__":
    main()

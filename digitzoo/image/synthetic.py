"""Photos of handwriting made from MNIST digits, to measure the photo pipeline on known answers.

Each photo draws one or more MNIST digits as ink on a surface and then spoils it the way a phone
camera does: paper of any brightness and tint or a dark board with chalk, uneven lighting and soft
shadows, grain and sensor noise, stroke width from fine pen to marker, rotation, blur and JPEG
compression; some are transparent PNGs as drawing programs export them, some gray scans. The label
of every photo is known, so ``digitzoo``'s reading of it can be scored exactly.

Use MNIST **test** digits: the zoo's models never trained on them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ImageError
from .convert import check_finite

__all__ = [
    "INKS", "PAPERS", "BOARDS", "CHALKS", "LAYOUTS", "PhotoStyle", "Photo", "random_style", "draw_photo",
    "synthetic_photos",
]

# BGR colours, as OpenCV stores them.
INKS = {"black": (35, 30, 30), "blue": (150, 60, 25), "red": (45, 40, 175), "green": (60, 115, 35), "pencil": (95, 95, 95)}
PAPERS = {"white": (246, 246, 244), "cream": (205, 232, 244), "gray": (205, 205, 205), "blue-gray": (225, 215, 200)}
BOARDS = {"blackboard": (42, 45, 42), "greenboard": (55, 85, 40)}
CHALKS = {"white": (235, 235, 232), "yellow": (130, 225, 240)}

HEIGHTS = (70, 400)  # px of a digit's ink, drawn uniformly on a log scale
MAX_ROTATION = 12.0  # degrees, either way
JPEG_QUALITY = (55, 95)
# "tidy": a row on a ruler, small gaps; "free": as people write on a blank page (each digit at its
# own height and size, gaps up to three digit widths, turned up to 15°, some rows on a slant);
# "broken": one digit in pieces (a pen that skipped, a 4 in two strokes, a dotted 7).
LAYOUTS = ("tidy", "free", "broken")
FREE_ROTATION = 15.0


@dataclass(frozen=True)
class PhotoStyle:
    """How one photo is made; every field is drawn by :func:`random_style`.

    ``surface``: "paper" (dark ink on light paper), "board" (chalk on a dark board) or
    "transparent" (ink on a transparent background, an RGBA PNG). ``brightness`` scales the
    light on the surface; ``gradient`` is the relative change of light across the photo in
    direction ``angle``; ``shadow`` how much a soft-edged shadow darkens part of it (0: none).
    ``stroke`` widens (> 0) or thins (< 0) the strokes by that fraction of the digit's height.
    ``blur`` is a Gaussian sigma as a fraction of the height; ``jpeg`` the quality, or None for
    a PNG. ``margin`` is the free space around the digits, in digit heights, per side.
    """

    surface: str
    ink: str
    background: str
    height: int
    brightness: float = 1.0
    gradient: float = 0.0
    angle: float = 0.0
    shadow: float = 0.0
    grain: float = 0.0
    noise: float = 0.0
    stroke: float = 0.0
    blur: float = 0.0
    jpeg: int | None = None
    gray: bool = False
    specks: int = 0
    margin: tuple[float, float, float, float] = (0.5, 0.5, 0.5, 0.5)  # left, top, right, bottom
    rotations: tuple[float, ...] = ()
    gaps: tuple[float, ...] = ()  # between neighbouring digits, in digit heights
    layout: str = "tidy"
    offsets: tuple[float, ...] = ()  # each digit's vertical position, in digit heights (free layout)
    sizes: tuple[float, ...] = ()  # each digit's height relative to ``height`` (free layout)
    slant: float = 0.0  # degrees the whole row rises (> 0) or falls (free layout)
    cuts: tuple[tuple[float, float, float, float], ...] = ()  # (x, y, angle, width) of each break, in heights


@dataclass
class Photo:
    """A made photo: ``data`` is the encoded file (JPEG or PNG), ``image`` what it decodes to.

    ``indices``: where :func:`synthetic_photos` took the digits from, left to right.
    """

    image: np.ndarray
    data: bytes
    label: str
    style: PhotoStyle
    extension: str
    conditions: dict = field(default_factory=dict)
    indices: tuple[int, ...] = ()


def random_style(
    rng: np.random.Generator,
    *,
    digits: int = 1,
    board_rate: float = 0.2,
    transparent_rate: float = 0.1,
    layout: str = "tidy",
) -> PhotoStyle:
    """A random :class:`PhotoStyle` covering every condition the generator knows, in ``layout``."""
    if layout not in LAYOUTS:
        raise ImageError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout == "broken" and digits != 1:
        raise ImageError(f"a broken layout draws one digit, got {digits}")
    roll = rng.random()
    surface = "transparent" if roll < transparent_rate else "board" if roll < transparent_rate + board_rate else "paper"
    if surface == "board":
        ink, background = _choice(rng, CHALKS), _choice(rng, BOARDS)
    else:
        ink, background = _choice(rng, INKS), _choice(rng, PAPERS)
    height = int(round(math.exp(rng.uniform(math.log(HEIGHTS[0]), math.log(HEIGHTS[1])))))
    photo = surface != "transparent"
    style = PhotoStyle(
        surface=surface,
        ink=ink,
        background=background,
        height=height,
        brightness=float(rng.uniform(0.55, 1.0)) if photo else 1.0,
        gradient=float(rng.uniform(0.0, 0.45)) if photo else 0.0,
        angle=float(rng.uniform(0, 360)),
        shadow=float(rng.uniform(0.2, 0.45)) if photo and rng.random() < 0.2 else 0.0,
        grain=float(rng.uniform(0.0, 0.03)) if photo else 0.0,
        noise=float(rng.uniform(0.0, 0.025)) if photo else 0.0,
        stroke=float(rng.uniform(-0.035, 0.02)),
        blur=float(rng.uniform(0.0, 0.012)),
        jpeg=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)) if photo else None,
        gray=bool(photo and rng.random() < 0.1),
        specks=int(rng.integers(0, 7)) if rng.random() < 0.3 else 0,
        margin=tuple(float(m) for m in rng.uniform(0.15, 1.5, size=4)),
        rotations=tuple(float(r) for r in rng.uniform(-MAX_ROTATION, MAX_ROTATION, size=digits)),
        gaps=tuple(float(g) for g in rng.uniform(0.12, 0.6, size=max(0, digits - 1))),
    )
    # Drawn after everything a tidy style draws, so that tidy photos stay the same for a seed.
    if layout == "free":
        return dataclasses.replace(
            style,
            layout=layout,
            rotations=tuple(float(r) for r in rng.uniform(-FREE_ROTATION, FREE_ROTATION, size=digits)),
            # A digit is about 0.7 of its height wide: three widths are about two heights.
            gaps=tuple(float(g) for g in rng.uniform(0.1, 2.0, size=max(0, digits - 1))),
            offsets=tuple(float(o) for o in rng.uniform(-0.5, 0.5, size=digits)),
            sizes=tuple(float(z) for z in rng.uniform(0.75, 1.25, size=digits)) if rng.random() < 0.4 else (),
            slant=float(rng.uniform(-15.0, 15.0)) if rng.random() < 0.3 else 0.0,
        )
    if layout == "broken":
        cuts = tuple(
            (float(rng.uniform(-0.2, 0.2)), float(rng.uniform(-0.3, 0.3)), float(rng.uniform(0, 180)), float(rng.uniform(0.04, 0.1)))
            for _ in range(int(rng.integers(1, 3)))
        )
        return dataclasses.replace(style, layout=layout, cuts=cuts)
    return style


def draw_photo(digits: Sequence[np.ndarray], labels: Sequence[int], style: PhotoStyle, rng: np.random.Generator) -> Photo:
    """Draw MNIST ``digits`` (28×28 uint8, white on black) left to right as one photo in ``style``."""
    import cv2

    if len(digits) == 0 or len(digits) != len(labels):
        raise ImageError(f"need one label per digit and at least one digit, got {len(digits)} and {len(labels)}")
    for i, digit in enumerate(digits):
        check_finite(np.asarray(digit), what=f"digits[{i}]")
    rotations = style.rotations or (0.0,) * len(digits)
    gaps = style.gaps or (0.3,) * (len(digits) - 1)
    if len(rotations) != len(digits) or len(gaps) != len(digits) - 1:
        raise ImageError("the style's rotations and gaps do not match the number of digits")
    height = style.height
    if style.layout == "free":
        coverage = _free_row(digits, style)
    else:
        coverage = _tidy_row(digits, rotations, gaps, style, rng)
    _add_specks(coverage, style.specks, height, rng)
    if style.blur > 0:
        coverage = cv2.GaussianBlur(coverage, (0, 0), style.blur * height)

    if style.surface == "transparent":
        image = _transparent(coverage, INKS[style.ink], rng)
        ok, encoded = cv2.imencode(".png", image)
        extension = ".png"
    else:
        image = _photograph(coverage, style, rng)
        if style.gray:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, style.jpeg or 90])
        extension = ".jpg"
    if not ok:
        raise ImageError("OpenCV could not encode the photo")
    data = encoded.tobytes()
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    label = "".join(str(int(d)) for d in labels)
    return Photo(decoded, data, label, style, extension, _conditions(style, len(digits)))


def synthetic_photos(
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    *,
    seed: int = 0,
    digits: tuple[int, int] = (1, 1),
    **style_options,
) -> Iterator[Photo]:
    """``count`` photos of rows of ``digits[0]``…``digits[1]`` digits picked at random from ``images``.

    The same ``seed`` gives the same photos. ``style_options`` go to :func:`random_style`.
    """
    if count < 0 or not 1 <= digits[0] <= digits[1]:
        raise ImageError(f"count must be >= 0 and digits a range from 1 up, got {count} and {digits}")
    if len(images) == 0 or len(images) != len(labels):
        raise ImageError(f"need as many labels as images, and some images; got {len(images)} and {len(labels)}")
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(digits[0], digits[1] + 1))
        picked = rng.choice(len(images), size=n, replace=len(images) < n)
        style = random_style(rng, digits=n, **style_options)
        photo = draw_photo([images[i] for i in picked], [int(labels[i]) for i in picked], style, rng)
        photo.indices = tuple(int(i) for i in picked)
        yield photo


def _tidy_row(digits, rotations, gaps, style: PhotoStyle, rng: np.random.Generator) -> np.ndarray:
    """Digits left to right within a band a little taller than the tallest, as on a ruler."""
    height = style.height
    # Digits at slightly different sizes and heights, as a hand writes them.
    strokes = [
        _stroke_map(d, round(height * rng.uniform(0.92, 1.08)), r, style.stroke * height, cuts=style.cuts)
        for d, r in zip(digits, rotations)
    ]
    left, top, right, bottom = (round(m * height) for m in style.margin)
    width = left + right + sum(s.shape[1] for s in strokes) + sum(round(g * height) for g in gaps)
    tallest = max(s.shape[0] for s in strokes)
    canvas_h = top + bottom + tallest + round(0.1 * height)
    coverage = np.zeros((canvas_h, width), np.float32)
    x = left
    for i, s in enumerate(strokes):
        y = top + int(rng.integers(0, canvas_h - top - bottom - s.shape[0] + 1))
        _paint(coverage, s, x, y)
        x += s.shape[1] + (round(gaps[i] * height) if i < len(gaps) else 0)
    return coverage


def _free_row(digits, style: PhotoStyle) -> np.ndarray:
    """Digits at their own heights (``offsets``), sizes and turns, the row rising by ``slant``."""
    height = style.height
    sizes = style.sizes or (1.0,) * len(digits)
    offsets = style.offsets or (0.0,) * len(digits)
    if not len(sizes) == len(offsets) == len(digits):
        raise ImageError("the style's sizes and offsets do not match the number of digits")
    strokes = [
        _stroke_map(d, max(8, round(height * z)), r, style.stroke * height)
        for d, r, z in zip(digits, style.rotations, sizes)
    ]
    rise = math.tan(math.radians(style.slant))
    places, x = [], 0
    for i, s in enumerate(strokes):
        # The digit's centre follows the slanted baseline, then its own offset.
        centre = -rise * (x + s.shape[1] / 2) + offsets[i] * height
        places.append((x, round(centre - s.shape[0] / 2)))
        x += s.shape[1] + (round(style.gaps[i] * height) if i < len(style.gaps) else 0)
    left, top, right, bottom = (round(m * height) for m in style.margin)
    high = min(y for _, y in places)
    low = max(y + s.shape[0] for (_, y), s in zip(places, strokes))
    coverage = np.zeros((top + bottom + low - high, left + right + x), np.float32)
    for (px, py), s in zip(places, strokes):
        _paint(coverage, s, left + px, top + py - high)
    return coverage


def _paint(coverage: np.ndarray, strokes: np.ndarray, x: int, y: int) -> None:
    h, w = strokes.shape
    coverage[y : y + h, x : x + w] = np.maximum(coverage[y : y + h, x : x + w], strokes)


def _choice(rng: np.random.Generator, options: dict) -> str:
    names = sorted(options)
    return names[int(rng.integers(len(names)))]


def _stroke_map(digit: np.ndarray, height: int, rotation: float, widen: float, *, cuts=()) -> np.ndarray:
    """Ink coverage in [0, 1] of one MNIST digit ``height`` px tall, rotated, strokes widened by ``widen`` px.

    ``cuts``: blank lines across the strokes, as :attr:`PhotoStyle.cuts` gives them.
    """
    import cv2

    rows, cols = np.flatnonzero(digit.max(axis=1)), np.flatnonzero(digit.max(axis=0))
    if len(rows) == 0:
        raise ImageError("an MNIST digit without ink cannot be drawn")
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0
    crop = np.pad(crop, 2)
    scale = height / (rows[-1] - rows[0] + 1)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    big = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)
    # Upscaling turns MNIST's 1-px soft rim into a wide blur; a pen's edge is sharp.
    big = np.clip((big - 0.3) / 0.35, 0.0, 1.0)
    radius = round(abs(widen) / 2)
    if radius:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        big = cv2.dilate(big, kernel) if widen > 0 else cv2.erode(big, kernel)
    for cx, cy, angle, width in cuts:
        kept = big.copy()
        _cut(big, cx, cy, angle, width * height)
        if big.sum() < 0.8 * kept.sum():  # along a stroke (down a 1) it erases the digit, not breaks it
            big = kept
    pad = round(0.25 * max(big.shape))
    big = np.pad(big, pad)
    centre = (big.shape[1] / 2, big.shape[0] / 2)
    turned = cv2.warpAffine(big, cv2.getRotationMatrix2D(centre, rotation, 1.0), big.shape[::-1], flags=cv2.INTER_LINEAR)
    rows, cols = np.flatnonzero(turned.max(axis=1) > 0.05), np.flatnonzero(turned.max(axis=0) > 0.05)
    if len(rows) == 0:
        raise ImageError("the strokes were thinned away; use a smaller negative stroke")
    return np.ascontiguousarray(turned[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def _cut(strokes: np.ndarray, cx: float, cy: float, angle: float, width: float) -> None:
    """Erase a line ``width`` px wide through (cx, cy) (in heights from the centre) at ``angle`` degrees."""
    import cv2

    h, w = strokes.shape
    centre = np.array([w / 2 + cx * h, h / 2 + cy * h])
    along = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))]) * 2 * max(h, w)
    a, b = np.round(centre - along).astype(int), np.round(centre + along).astype(int)
    cv2.line(strokes, tuple(int(v) for v in a), tuple(int(v) for v in b), 0.0, thickness=max(2, round(width)))


def _add_specks(coverage: np.ndarray, count: int, height: int, rng: np.random.Generator) -> None:
    """Small dots of dirt: at most 2.5% of a digit's height across, far smaller than a stroke."""
    import cv2

    for _ in range(count):
        centre = (int(rng.integers(coverage.shape[1])), int(rng.integers(coverage.shape[0])))
        radius = max(1, round(rng.uniform(0.004, 0.0125) * height))
        cv2.circle(coverage, centre, radius, float(rng.uniform(0.4, 1.0)), thickness=-1, lineType=cv2.LINE_AA)


def _light(shape: tuple[int, int], style: PhotoStyle) -> np.ndarray:
    """How much light falls on each pixel: a gradient across the photo and maybe a soft shadow."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    direction = np.array([math.cos(math.radians(style.angle)), math.sin(math.radians(style.angle))], np.float32)
    along = (xs / max(w - 1, 1) - 0.5) * direction[0] + (ys / max(h - 1, 1) - 0.5) * direction[1]
    light = style.brightness * (1.0 + style.gradient * along * 2 / max(abs(direction).sum(), 1e-6))
    if style.shadow:
        # A shadow's edge is soft: a few percent of the photo wide, placed off-centre.
        edge = 0.04 * max(h, w)
        across = (xs - w * 0.5) * direction[1] - (ys - h * 0.5) * direction[0] + 0.15 * max(h, w)
        light = light * (1.0 - style.shadow / (1.0 + np.exp(-across / edge)))
    return light.astype(np.float32)


def _photograph(coverage: np.ndarray, style: PhotoStyle, rng: np.random.Generator) -> np.ndarray:
    """Ink on a surface under uneven light, with grain and sensor noise: uint8 BGR."""
    import cv2

    h, w = coverage.shape
    surface = np.array(BOARDS[style.background] if style.surface == "board" else PAPERS[style.background], np.float32)
    ink = np.array(CHALKS[style.ink] if style.surface == "board" else INKS[style.ink], np.float32)
    if style.surface == "board":
        # Chalk does not cover fully, and old wiping leaves smudges on the board.
        coverage = coverage * rng.uniform(0.7, 0.95)
        smudge = cv2.GaussianBlur(rng.random((h, w), np.float32), (0, 0), max(2.0, 0.02 * style.height)) - 0.5
        surface = surface + smudge[..., None] * 60.0
    else:
        surface = np.broadcast_to(surface, (h, w, 3))
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.2) * style.grain * 255.0
    mixed = surface * (1.0 - coverage[..., None]) + ink * coverage[..., None] + grain[..., None]
    photo = mixed * _light((h, w), style)[..., None]
    photo += rng.standard_normal(photo.shape).astype(np.float32) * style.noise * 255.0
    return np.clip(photo + 0.5, 0, 255).astype(np.uint8)


def _transparent(coverage: np.ndarray, ink: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Ink in the alpha channel; the colour under fully transparent pixels is black or the ink.

    Drawing programs leave black there as often as not: a reader that ignores alpha sees a black page.
    """
    h, w = coverage.shape
    image = np.zeros((h, w, 4), np.uint8)
    if rng.random() < 0.5:
        image[..., :3] = ink
    else:
        image[..., :3] = np.where(coverage[..., None] > 0, np.array(ink, np.uint8), 0)
    image[..., 3] = np.clip(coverage * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return image


def _conditions(style: PhotoStyle, digits: int) -> dict:
    """The style in words and buckets, for reporting accuracy per condition."""
    conditions = asdict(style)
    conditions["digits"] = digits
    conditions["layout"] = style.layout
    conditions["size"] = "70-130" if style.height < 130 else "130-250" if style.height < 250 else "250-400"
    turn = max(abs(r) for r in style.rotations or (0.0,))
    conditions["rotation"] = "<6°" if turn < 6 else "6-12°" if turn <= MAX_ROTATION else "12-15°"
    conditions["lighting"] = "shadow" if style.shadow else "gradient > 0.25" if style.gradient > 0.25 else "even"
    return conditions

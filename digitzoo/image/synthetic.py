"""Photos of handwriting made from MNIST digits, to measure the photo pipeline on known answers.

Each photo draws one or more MNIST digits as ink on a surface and then spoils it the way a phone
camera does: paper of any brightness and tint or a dark board with chalk, uneven lighting and soft
shadows, grain and sensor noise, stroke width from fine pen to marker, rotation, blur and JPEG
compression; some are transparent PNGs as drawing programs export them, some gray scans. The label
of every photo is known, so ``digitzoo``'s reading of it can be scored exactly.

Use MNIST **test** digits: the zoo's models never trained on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ImageError
from .convert import check_finite

__all__ = ["INKS", "PAPERS", "BOARDS", "CHALKS", "PhotoStyle", "Photo", "random_style", "draw_photo", "synthetic_photos"]

# BGR colours, as OpenCV stores them.
INKS = {"black": (35, 30, 30), "blue": (150, 60, 25), "red": (45, 40, 175), "green": (60, 115, 35), "pencil": (95, 95, 95)}
PAPERS = {"white": (246, 246, 244), "cream": (205, 232, 244), "gray": (205, 205, 205), "blue-gray": (225, 215, 200)}
BOARDS = {"blackboard": (42, 45, 42), "greenboard": (55, 85, 40)}
CHALKS = {"white": (235, 235, 232), "yellow": (130, 225, 240)}

HEIGHTS = (70, 400)  # px of a digit's ink, drawn uniformly on a log scale
MAX_ROTATION = 12.0  # degrees, either way
JPEG_QUALITY = (55, 95)


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
    rng: np.random.Generator, *, digits: int = 1, board_rate: float = 0.2, transparent_rate: float = 0.1
) -> PhotoStyle:
    """A random :class:`PhotoStyle` covering every condition the generator knows."""
    roll = rng.random()
    surface = "transparent" if roll < transparent_rate else "board" if roll < transparent_rate + board_rate else "paper"
    if surface == "board":
        ink, background = _choice(rng, CHALKS), _choice(rng, BOARDS)
    else:
        ink, background = _choice(rng, INKS), _choice(rng, PAPERS)
    height = int(round(math.exp(rng.uniform(math.log(HEIGHTS[0]), math.log(HEIGHTS[1])))))
    photo = surface != "transparent"
    return PhotoStyle(
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
    # Digits at slightly different sizes and heights, as a hand writes them.
    strokes = [_stroke_map(d, round(height * rng.uniform(0.92, 1.08)), r, style.stroke * height) for d, r in zip(digits, rotations)]
    left, top, right, bottom = (round(m * height) for m in style.margin)
    width = left + right + sum(s.shape[1] for s in strokes) + sum(round(g * height) for g in gaps)
    tallest = max(s.shape[0] for s in strokes)
    canvas_h = top + bottom + tallest + round(0.1 * height)
    coverage = np.zeros((canvas_h, width), np.float32)
    x = left
    for i, s in enumerate(strokes):
        y = top + int(rng.integers(0, canvas_h - top - bottom - s.shape[0] + 1))
        coverage[y : y + s.shape[0], x : x + s.shape[1]] = np.maximum(coverage[y : y + s.shape[0], x : x + s.shape[1]], s)
        x += s.shape[1] + (round(gaps[i] * height) if i < len(gaps) else 0)
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


def _choice(rng: np.random.Generator, options: dict) -> str:
    names = sorted(options)
    return names[int(rng.integers(len(names)))]


def _stroke_map(digit: np.ndarray, height: int, rotation: float, widen: float) -> np.ndarray:
    """Ink coverage in [0, 1] of one MNIST digit ``height`` px tall, rotated, strokes widened by ``widen`` px."""
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
    pad = round(0.25 * max(big.shape))
    big = np.pad(big, pad)
    centre = (big.shape[1] / 2, big.shape[0] / 2)
    turned = cv2.warpAffine(big, cv2.getRotationMatrix2D(centre, rotation, 1.0), big.shape[::-1], flags=cv2.INTER_LINEAR)
    rows, cols = np.flatnonzero(turned.max(axis=1) > 0.05), np.flatnonzero(turned.max(axis=0) > 0.05)
    if len(rows) == 0:
        raise ImageError("the strokes were thinned away; use a smaller negative stroke")
    return np.ascontiguousarray(turned[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


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
    conditions["size"] = "70-130" if style.height < 130 else "130-250" if style.height < 250 else "250-400"
    conditions["rotation"] = "<6°" if max(abs(r) for r in style.rotations or (0.0,)) < 6 else "6-12°"
    conditions["lighting"] = "shadow" if style.shadow else "gradient > 0.25" if style.gradient > 0.25 else "even"
    return conditions

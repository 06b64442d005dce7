"""Photos of handwritten digits → MNIST-style 28×28 inputs.

MNIST digits are white ink on black, fitted into a 20×20 box with the aspect ratio kept, then
placed in 28×28 so that the centre of mass is at (14, 14). A photo of a digit on paper is dark ink
on uneven light paper, or chalk on a dark board, with texture, blur and JPEG noise. The pipeline:

1. gray: composite transparency over white, convert to luminance;
2. flatten: estimate the paper (a large median filter, then again from the pixels around the ink
   and not enclosed by it), decide from the image whether the ink is darker or lighter than its
   background, and measure ink as its contrast relative to the paper's brightness, so that
   lighting gradients and shadows vanish; ink is positive;
3. binary: Otsu threshold of the flattened image, with fainter ink kept where it touches ink above
   the threshold (hysteresis), then drop specks far smaller than the strokes;
4. crop each digit from the soft (anti-aliased) ink map, scale it into 20×20 and centre its mass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ImageError
from .convert import check_image, to_gray

__all__ = ["ROW", "SINGLE", "Cut", "DigitStages", "preprocess_digit", "segment_digits", "digit_stages"]

MNIST_SIZE = 28
MNIST_BOX = 20
MNIST_CENTRE = 14.0

_PAPER_SIDE = 64  # px of the shorter side: the paper is smooth, a small copy finds it far faster
_PAPER_PASSES = 2  # re-estimates of the paper around the ink: the second closes the ink's outline
# around a bold stroke that the first, median, estimate followed (a chalk 1 on a narrow photo)
_WORK_SIDE = 1200  # larger photos are shrunk first: speed, and no digit needs more pixels
_HYSTERESIS = 0.5  # of the threshold: fainter ink is kept where it touches ink above the threshold
_SPECK_FRACTION = 0.04  # of the largest ink component's area
_MIN_INK_CONTRAST = 0.08  # ink must differ from paper by this much (gray levels in [0, 1]) …
_MIN_INK_SNR = 6.0  # … and by this many times the paper's noise
_MIN_PAPER = 0.05  # gray level: contrast is measured relative to the paper, never to a blacker one
_MERGE_OVERLAP = 0.4  # pieces overlapping this much horizontally belong to one digit
_FRAGMENT_HEIGHT = 0.45  # of the tallest digit: anything shorter is a detached stroke
_MIN_STROKE = 1.8  # px in the 20×20 box; thinner pen strokes are thickened to MNIST-like width
# Neighbouring columns of ink whose gap is at least half a digit's height, each holding real ink
# (``_ROW_INK``), are clearly two digits: the pieces of a broken digit are never that far apart.
# Closer columns may be a row written tightly or one digit in pieces: both readings are kept and
# the model decides (:func:`digitzoo.predict.predict_stages`); without a model, columns that are
# level with each other (``_ROW_OVERLAP``) and apart (``_ROW_GAP``) are taken as a row. On 2 000
# synthetic single-digit photos the pieces of a broken digit (a 4 in two touching strokes, a dotted
# 1, a stray line beside a 2) failed that; on 200 synthetic rows the closest neighbours had a gap
# of 0.13, an overlap of 0.76 and 0.13 of the inkiest digit's ink.
_ROW_APART = 0.5  # gap, in heights of the taller one, that no broken digit has
_ROW_GAP = 0.05  # blank space between them, in heights of the taller one
_ROW_OVERLAP = 0.5  # how much of the shorter one's height lies beside the other (a row has a baseline)
_ROW_INK = 0.1  # each holds this much of the inkiest column's ink; less is a stray stroke
_DIGIT_SIZED = 0.6  # of the tallest column's height: a mark this tall with real ink could be a digit
# Of MNIST's 60 000 training digits, 1 in 1 000 is more than 1.67 times as wide as tall (99 in 100
# are below 1.43): digit-sized marks whose ink together is wider than this are several digits.
_WIDEST = 1.7

SINGLE, ROW = "single", "row"


@dataclass
class Cut:
    """One way of cutting the ink into digits: per digit its box, its crop and its 28×28 image."""

    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    digits: list[np.ndarray] = field(default_factory=list)


@dataclass
class DigitStages:
    """Every stage of the pipeline, as uint8 images a person can look at.

    ``gray``: the photo in grayscale; ``ink``: flattened, ink bright on black; ``binary``: the
    thresholded ink after specks were dropped; ``boxes``: (x, y, w, h) of each digit in those
    images, left to right; ``crops``: each digit cut from ``ink``; ``digits``: the 28×28 results.
    ``columns``: how many separate digits the ink looks like, even when read as one;
    ``digit_sized``: whether there are several columns and each could be a digit (tall, real ink);
    ``row``: whether the ink alone clearly holds several digits side by side: some two neighbouring
    columns half a digit apart or more, both with real ink, or digit-sized columns whose ink
    together is far wider than any one digit.
    ``reading``: how the digits were cut, ``"single"`` (all ink one digit) or ``"row"``; ``why``:
    why, in a few words. ``alternative``: the other reading when both are plausible and neither
    was forced; :func:`digitzoo.predict.predict_stages` then picks one with the model
    (:meth:`choose`), and sets ``alternative`` to None.
    """

    gray: np.ndarray
    ink: np.ndarray
    binary: np.ndarray
    columns: int = 1
    row: bool = False
    digit_sized: bool = False
    reading: str = SINGLE
    why: str = ""
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    digits: list[np.ndarray] = field(default_factory=list)
    alternative: Cut | None = field(default=None, repr=False)

    def choose(self, reading: str, why: str) -> None:
        """Settle on ``reading`` (``"single"`` or ``"row"``), swapping in the alternative cut if needed."""
        if reading not in (SINGLE, ROW):
            raise ValueError(f"reading must be {SINGLE!r} or {ROW!r}, got {reading!r}")
        if reading != self.reading:
            if self.alternative is None:
                raise ValueError(f"no {reading} reading to choose: it was not kept")
            self.boxes, self.crops, self.digits = self.alternative.boxes, self.alternative.crops, self.alternative.digits
            self.reading = reading
        self.alternative = None
        self.why = why


def preprocess_digit(image: np.ndarray) -> np.ndarray:
    """One digit in a photo → (28, 28) uint8, white ink on black, centred as in MNIST.

    Accepts (H, W) or (H, W, 3|4) arrays, uint8/uint16/float (OpenCV's BGR(A) order). Dark ink
    on light paper and light chalk on a dark board both work. All ink in the image is taken as
    one digit. Raises ``ImageError`` when there is no ink.
    """
    return digit_stages(image, multi=False).digits[0]


def segment_digits(image: np.ndarray) -> list[np.ndarray]:
    """A row of digits in a photo → one (28, 28) uint8 per digit, left to right.

    Separate strokes of one digit (the bar of a 5, a broken 4) stay together; specks are dropped.
    """
    return digit_stages(image, multi=True).digits


def digit_stages(image: np.ndarray, *, multi: bool | None = None) -> DigitStages:
    """Run the pipeline and keep every stage (to look at each one, and to understand a mistake).

    ``multi``: True reads a row of digits, False all ink as one digit, None decides from the ink:
    one column is one digit, columns far apart a row (:attr:`DigitStages.row`); otherwise both
    readings are kept (:attr:`DigitStages.alternative`) for a model to choose between.
    """
    import cv2

    gray = _work_gray(check_image(image))
    ink = _flatten(gray)
    binary = _binarize(ink)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = _real_components(stats[1:, cv2.CC_STAT_AREA])
    if not keep:
        raise ImageError("no ink found in the image")
    comps = [(i + 1, stats[i + 1]) for i in keep]
    columns = _group_by_column(comps)
    boxes = _group_boxes(columns)
    clean = np.isin(labels, [i for i, _ in comps]).astype(np.uint8) * 255
    stages = DigitStages(
        gray=_to_u8(gray), ink=_to_u8(ink), binary=clean, columns=len(columns),
        digit_sized=_digit_sized(boxes),
    )
    stages.row = _clearly_a_row(boxes) or (stages.digit_sized and _too_wide_for_one(boxes))

    def cut(groups) -> Cut:
        out = Cut()
        for group in groups:
            mask = np.isin(labels, [i for i, _ in group])
            box = _bbox(mask)
            crop, digit = _to_mnist(ink, mask, box)
            out.boxes.append(box)
            out.crops.append(crop)
            out.digits.append(digit)
        return out

    if multi is not None:
        reading, why, other = (ROW, "asked to read a row", None) if multi else (SINGLE, "asked to read one digit", None)
    elif len(columns) == 1:
        reading, why, other = SINGLE, "one column of ink", None
    elif stages.row:
        why = "marks half a digit apart or more" if _clearly_a_row(boxes) else "digit-sized marks, too wide for one digit"
        reading, other = ROW, None
    else:
        # Both plausible: a row written tightly, or one digit in pieces. Until a model compares
        # them, pieces level with each other and apart read as a row.
        level = _level_and_apart(boxes)
        reading, other = (ROW, SINGLE) if level else (SINGLE, ROW)
        why = "pieces level and apart, not compared by a model" if level else "pieces close together, not compared by a model"
    first = cut(columns if reading == ROW else [comps])
    stages.reading, stages.why = reading, why
    stages.boxes, stages.crops, stages.digits = first.boxes, first.crops, first.digits
    if other is not None:
        stages.alternative = cut(columns if other == ROW else [comps])
    return stages


def _work_gray(image: np.ndarray) -> np.ndarray:
    """Grayscale in [0, 1], shrunk so that its longer side is at most ``_WORK_SIDE``."""
    import cv2

    gray = to_gray(image)
    low, high = float(gray.min()), float(gray.max())
    if image.dtype.kind == "f" and (low < 0.0 or high > 1.0):
        gray = (gray - low) / (high - low) if high > low else np.zeros_like(gray)
    scale = _WORK_SIDE / max(gray.shape)
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return gray.astype(np.float32)


def _flatten(gray: np.ndarray) -> np.ndarray:
    """Ink strength in [0, 1] (0 = paper) whatever the lighting and the ink's polarity."""
    try:
        return _flatten_from(gray, wide=False)
    except ImageError:
        # A bold digit that fills the picture (drawn on a small canvas) covers most of any window
        # a few strokes wide, so the median there is ink: start once more from the whole picture's.
        return _flatten_from(gray, wide=True)


def _flatten_from(gray: np.ndarray, *, wide: bool) -> np.ndarray:
    import cv2

    diff = gray - (np.full_like(gray, float(np.median(gray))) if wide else _paper(gray))
    dark, light = -float(np.percentile(diff, 0.5)), float(np.percentile(diff, 99.5))
    sign = -1.0 if dark >= light else 1.0  # the stronger tail is the ink
    # A median mistakes the inside of a bold digit for paper: estimate the paper again, from
    # the pixels that the previous pass did not call ink.
    for _ in range(_PAPER_PASSES):
        paper = _paper(gray, exclude=sign * diff > 0.5 * max(dark, light))
        diff = gray - paper
    noise = 1.4826 * float(np.median(np.abs(diff - np.median(diff)))) + 1e-6
    if float(np.percentile(sign * diff, 99.5)) < max(_MIN_INK_CONTRAST, _MIN_INK_SNR * noise):
        raise ImageError("no ink found in the image (it is blank or has too little contrast)")
    # Light multiplies: ink in a shadow differs from its paper by less than the same ink in full
    # light. Relative to the paper's own brightness, every part of the photo has the same contrast.
    ink = sign * diff / np.maximum(paper, _MIN_PAPER)
    strength = float(np.percentile(ink, 99.5))
    # Full strength at the typical stroke core, so strokes saturate as MNIST's do.
    strong = ink > strength / 2
    core = float(np.percentile(ink[strong], 75)) if strong.any() else strength
    ink = np.clip(ink / max(core, 1e-6), 0.0, 1.0)
    return cv2.GaussianBlur(ink, (3, 3), 0) if min(ink.shape) >= 3 else ink


def _paper(gray: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """The background alone, smooth and wider than any stroke; computed on a small copy.

    Without ``exclude``: a median filter a few strokes wide. With it: the pixels neither excluded
    nor enclosed by excluded ones, averaged over a neighbourhood (normalised by how many of them
    it has, so ink does not darken the estimate); a small neighbourhood follows lighting and soft
    shadows, a wide one fills the inside of bold digits where the small one finds no paper.
    """
    import cv2

    scale = min(1.0, _PAPER_SIDE / min(gray.shape))
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    shrink = (lambda a: cv2.resize(a, size, interpolation=cv2.INTER_AREA)) if scale < 1.0 else (lambda a: a)
    small = shrink(gray)
    side = min(small.shape)
    if exclude is None:
        # A window sized by the short side alone fits inside one bold stroke of a narrow photo.
        k = max(3, int(0.4 * np.sqrt(small.shape[0] * small.shape[1])) | 1)
        paper = cv2.medianBlur(_to_u8(small), k).astype(np.float32) / 255.0
    else:
        grown = _fill_holes(cv2.dilate(exclude.astype(np.uint8), np.ones((5, 5), np.uint8)))
        weight = shrink((1 - grown).astype(np.float32))
        estimates = []
        for sigma in (side / 8, side / 2):
            total = cv2.GaussianBlur(small * weight, (0, 0), sigma)
            count = cv2.GaussianBlur(weight, (0, 0), sigma)
            estimates.append((total / np.maximum(count, 1e-6), count))
        (near, near_count), (far, far_count) = estimates
        fallback = float(np.median(small[weight > 0.5])) if (weight > 0.5).any() else float(np.median(small))
        far = np.where(far_count > 1e-3, far, fallback)
        trust = np.clip(near_count / 0.3, 0.0, 1.0)
        paper = (trust * near + (1.0 - trust) * far).astype(np.float32)
    return cv2.resize(paper, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` (uint8 0/1) with every region it encloses set too.

    The edges of a stroke much wider than the first paper estimate's window stand out, its inside
    does not: what the ink encloses is taken as ink. Paper enclosed by ink (the inside of a 0)
    is then estimated from the paper around it, as smooth lighting allows.
    """
    import cv2

    count, labels = cv2.connectedComponents(1 - mask, connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, border[border > 0]) if count > 1 else np.zeros_like(mask, bool)
    return (~outside).astype(np.uint8)


def _binarize(ink: np.ndarray) -> np.ndarray:
    import cv2

    u8 = _to_u8(ink)
    threshold, _ = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Otsu on a nearly empty page can pick noise; never accept less than a quarter of full ink.
    high = max(threshold, 64)
    # Hysteresis: fainter ink joined to a sure stroke is the same stroke (a thin pen's curve that
    # fades in the middle), so a digit does not break into pieces that read as two.
    weak = (u8 > _HYSTERESIS * high).astype(np.uint8)
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    sure = np.zeros(count, bool)
    sure[np.unique(labels[u8 > high])] = True
    sure[0] = False
    return sure[labels].astype(np.uint8) * 255


def _real_components(areas: np.ndarray) -> list[int]:
    """Indices of components big enough to be strokes rather than dirt or noise."""
    if len(areas) == 0:
        return []
    floor = max(4.0, _SPECK_FRACTION * float(areas.max()))
    return [i for i, area in enumerate(areas) if area >= floor]


def _group_by_column(comps: list[tuple[int, np.ndarray]]) -> list[list[tuple[int, np.ndarray]]]:
    """Merge components that overlap horizontally into digits, ordered left to right.

    A group much shorter than the tallest is a detached stroke (the bar of a 5, the top of a 7
    written in two strokes), not a digit: it joins its nearest neighbour.
    """
    import cv2

    groups: list[list[tuple[int, np.ndarray]]] = []
    spans: list[list[int]] = []
    for label, stat in sorted(comps, key=lambda c: c[1][cv2.CC_STAT_LEFT]):
        left, width = int(stat[cv2.CC_STAT_LEFT]), int(stat[cv2.CC_STAT_WIDTH])
        right = left + width
        if spans:
            g_left, g_right = spans[-1]
            overlap = min(right, g_right) - max(left, g_left)
            if overlap >= _MERGE_OVERLAP * min(width, g_right - g_left):
                groups[-1].append((label, stat))
                spans[-1] = [min(left, g_left), max(right, g_right)]
                continue
        groups.append([(label, stat)])
        spans.append([left, right])
    return _merge_fragments(groups, spans)


def _merge_fragments(groups: list, spans: list[list[int]]) -> list:
    import cv2

    def height(group) -> int:
        top = min(int(s[cv2.CC_STAT_TOP]) for _, s in group)
        return max(int(s[cv2.CC_STAT_TOP] + s[cv2.CC_STAT_HEIGHT]) for _, s in group) - top

    while len(groups) > 1:
        heights = [height(g) for g in groups]
        shortest = int(np.argmin(heights))
        if heights[shortest] >= _FRAGMENT_HEIGHT * max(heights):
            break
        gaps = {}
        for other in (shortest - 1, shortest + 1):
            if 0 <= other < len(groups):
                (a_left, a_right), (b_left, b_right) = spans[shortest], spans[other]
                gaps[other] = max(a_left, b_left) - min(a_right, b_right)
        into = min(gaps, key=gaps.get)
        fragment, span = groups.pop(shortest), spans.pop(shortest)
        into -= into > shortest
        groups[into] = groups[into] + fragment
        spans[into] = [min(span[0], spans[into][0]), max(span[1], spans[into][1])]
    return groups


def _group_boxes(groups: list) -> list[tuple[int, int, int, int, int]]:
    """(left, top, right, bottom, ink area) of each group of components."""
    import cv2

    boxes = []
    for group in groups:
        stats = np.array([s for _, s in group])
        left, top = stats[:, cv2.CC_STAT_LEFT].min(), stats[:, cv2.CC_STAT_TOP].min()
        right = (stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH]).max()
        bottom = (stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]).max()
        boxes.append((int(left), int(top), int(right), int(bottom), int(stats[:, cv2.CC_STAT_AREA].sum())))
    return boxes


def _neighbours(boxes: list) -> list[tuple[float, float, bool]]:
    """Per pair of neighbouring columns: gap and vertical overlap (in heights), and whether both hold real ink."""
    inkiest = max((box[4] for box in boxes), default=0)
    pairs = []
    for (l1, t1, r1, b1, ink1), (l2, t2, r2, b2, ink2) in zip(boxes, boxes[1:]):
        gap = (l2 - r1) / max(b1 - t1, b2 - t2)
        overlap = (min(b1, b2) - max(t1, t2)) / min(b1 - t1, b2 - t2)
        pairs.append((gap, overlap, min(ink1, ink2) >= _ROW_INK * inkiest))
    return pairs


def _clearly_a_row(boxes: list) -> bool:
    """Whether some two neighbouring columns are too far apart to be pieces of one digit (see ``_ROW_APART``)."""
    return any(gap >= _ROW_APART and inky for gap, _, inky in _neighbours(boxes))


def _level_and_apart(boxes: list) -> bool:
    """Whether some two neighbouring columns look like digits on one baseline (see ``_ROW_GAP``)."""
    return any(gap >= _ROW_GAP and overlap >= _ROW_OVERLAP and inky for gap, overlap, inky in _neighbours(boxes))


def _too_wide_for_one(boxes: list) -> bool:
    width = max(box[2] for box in boxes) - min(box[0] for box in boxes)
    height = max(box[3] for box in boxes) - min(box[1] for box in boxes)
    return width > _WIDEST * height


def _digit_sized(boxes: list) -> bool:
    """Whether there are several columns and every one is tall enough and inky enough to be a digit."""
    if len(boxes) < 2:
        return False
    tallest = max(b - t for _, t, _, b, _ in boxes)
    inkiest = max(box[4] for box in boxes)
    return all(b - t >= _DIGIT_SIZED * tallest and ink >= _ROW_INK * inkiest for _, t, _, b, ink in boxes)


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def _to_mnist(ink: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Cut one digit from the soft ink map and place it the way MNIST places its digits."""
    import cv2

    x, y, w, h = box
    pad = max(2, round(0.05 * max(w, h)))
    y0, y1 = max(0, y - pad), min(ink.shape[0], y + h + pad)
    x0, x1 = max(0, x - pad), min(ink.shape[1], x + w + pad)
    # Only this digit's ink: its components, widened a little to keep their anti-aliased rims.
    near = cv2.dilate(mask[y0:y1, x0:x1].astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, pad // 2))
    crop = ink[y0:y1, x0:x1] * near
    crop = crop[y - y0 : y - y0 + h, x - x0 : x - x0 + w]

    scale = MNIST_BOX / max(w, h)
    crop = _thicken(crop, mask[y : y + h, x : x + w], scale)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    small = np.clip(cv2.resize(crop, size, interpolation=interpolation), 0.0, 1.0)

    digit = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    top, left = (MNIST_SIZE - size[1]) // 2, (MNIST_SIZE - size[0]) // 2
    digit[top : top + size[1], left : left + size[0]] = small
    digit = _centre_mass(digit)
    return _to_u8(crop), _to_u8(digit)


def _thicken(crop: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """Dilate strokes that would come out thinner than MNIST's after scaling (fine pens)."""
    import cv2

    area = float(mask.sum())
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    if area == 0 or perimeter == 0:
        return crop
    width = 2.0 * area / perimeter * scale  # a stroke of length L and width w: area wL, perimeter 2L
    if width >= _MIN_STROKE:
        return crop
    grow = round((_MIN_STROKE - width) / scale / 2)
    if grow < 1:
        return crop
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(crop, kernel)


def _centre_mass(digit: np.ndarray) -> np.ndarray:
    """Shift so the centre of mass lands on (14, 14), as in MNIST.

    MNIST's centres of mass lie within half a pixel of (14, 14) (whole-pixel shifts); a whole-pixel
    shift here would add up to another half pixel off. The sub-pixel (bilinear) shift puts it on
    the spot: on the photo benchmark it misread 15 → 10 of 2 000 single digits (seed 0), 9 → 7 (seed 1).
    """
    import cv2

    total = float(digit.sum())
    if total == 0:
        return digit
    rows, cols = np.indices(digit.shape)
    dy = MNIST_CENTRE - float((rows * digit).sum()) / total
    dx = MNIST_CENTRE - float((cols * digit).sum()) / total
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(digit, shift, digit.shape[::-1], flags=cv2.INTER_LINEAR, borderValue=0)


def _to_u8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)

"""Make the sample photos in assets/digits/ from MNIST test digits (run once; the files are committed).

    python tools/make_sample_photos.py [OUT_DIR]

Writes seven.jpg (one digit on lined-less paper under a lamp), row.jpg (a row of digits in blue
ink, slightly rotated, lit from one side), board.jpg (chalk on a green board), transparent.png
(ink in the alpha channel, black underneath), free.jpg (four digits written freely across a page,
each at its own height) and row-stages.png (what the pipeline sees in row.jpg).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from digitzoo.data import load_mnist
from digitzoo.figures import save_figure, stages_figure
from digitzoo.image.digits import digit_stages
from digitzoo.image.io import read_image
from digitzoo.image.synthetic import PhotoStyle, draw_photo

# MNIST test digits by index: 0 is a 7, 4 a 4; 1, 2, 3, 4, 7 are 2, 1, 0, 4, 9; 8, 11, 18 are 5, 6, 3; 12 is a 9.
SAMPLES = {
    "seven.jpg": ([0], PhotoStyle("paper", "black", "white", 260, brightness=0.9, gradient=0.35, angle=30,
                                  grain=0.015, noise=0.01, stroke=-0.02, blur=0.004, jpeg=80,
                                  margin=(0.8, 0.4, 0.6, 0.5), rotations=(6.0,))),
    "row.jpg": ([1, 2, 3, 4, 7], PhotoStyle("paper", "blue", "cream", 150, brightness=0.85, gradient=0.4,
                                            angle=200, shadow=0.3, grain=0.02, noise=0.012, stroke=-0.025,
                                            blur=0.006, jpeg=75, specks=3, margin=(0.5, 0.5, 0.5, 0.5),
                                            rotations=(-4.0, 3.0, 8.0, -6.0, 2.0), gaps=(0.3, 0.25, 0.4, 0.3))),
    "board.jpg": ([8, 11, 18], PhotoStyle("board", "white", "greenboard", 180, brightness=0.9, gradient=0.3,
                                          angle=120, grain=0.01, noise=0.015, stroke=0.01, blur=0.006, jpeg=70,
                                          margin=(0.6, 0.5, 0.6, 0.5), rotations=(-5.0, 4.0, -8.0), gaps=(0.35, 0.3))),
    # Written freely across a page: each digit at its own height and size, wide gaps, turned.
    "free.jpg": ([8, 0, 4, 18], PhotoStyle("paper", "black", "white", 130, brightness=0.9, gradient=0.25, angle=60,
                                          grain=0.015, noise=0.01, stroke=-0.02, blur=0.004, jpeg=80,
                                          margin=(0.5, 0.4, 0.5, 0.4), rotations=(10.0, -12.0, 6.0, -8.0),
                                          gaps=(1.2, 0.6, 1.6), layout="free", offsets=(0.0, -0.5, 0.35, -0.2),
                                          sizes=(1.0, 0.85, 1.15, 0.95))),
    "transparent.png": ([12], PhotoStyle("transparent", "black", "white", 200, stroke=0.0, margin=(0.3, 0.3, 0.3, 0.3),
                                         rotations=(-3.0,))),
}


def main(out: Path) -> None:
    (_, _), (x, y) = load_mnist()
    out.mkdir(parents=True, exist_ok=True)
    for name, (indices, style) in SAMPLES.items():
        rng = np.random.default_rng(sum(indices))
        photo = draw_photo([x[i] for i in indices], [int(y[i]) for i in indices], style, rng)
        (out / name).write_bytes(photo.data)
        print(f"{out / name}: {photo.label}")
    # The figure `digitzoo predict --debug` writes, without a model's readings: the pipeline alone.
    stages = digit_stages(read_image(out / "row.jpg"), multi=True)
    _shrink_png(save_figure(stages_figure(stages, title="row.jpg: the pipeline's stages"), out / "row-stages.png"))


def _shrink_png(path: Path) -> None:
    """Rewrite a figure's PNG without its (opaque) alpha channel, compressed harder: same pixels, 15% fewer bytes."""
    from PIL import Image

    with Image.open(path) as picture:
        rgb = picture.convert("RGB")
    rgb.save(path, optimize=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "assets" / "digits")

"""The shared look of figures and how they are saved."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitzoo.errors import DigitzooError
from digitzoo.figures import image_axes, new_figure, save_figure, styled


def _figure_with_a_digit():
    figure = new_figure(4, 2, title="a digit")
    with styled():
        left, right = figure.subplots(1, 2)
        left.plot([1, 2, 3], [0.2, 0.6, 0.9])
        image_axes(right, np.tri(28, dtype=np.uint8) * 255, "triangle")
    return figure


def test_a_figure_is_saved_as_a_png_of_its_size(tmp_path):
    path = save_figure(_figure_with_a_digit(), tmp_path / "figure.png")
    picture = cv2.imread(str(path))
    assert picture.shape == (200, 400, 3)  # 4 × 2 inches at 100 dpi
    assert picture.std() > 10 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 10


def test_a_figure_cannot_be_written_in_an_unknown_format_or_folder(tmp_path):
    with pytest.raises(DigitzooError, match=r"cannot write a figure as 'figure.gif': use a .png, .svg or .pdf"):
        save_figure(_figure_with_a_digit(), tmp_path / "figure.gif")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DigitzooError, match="cannot write .*figure.png"):
        save_figure(_figure_with_a_digit(), tmp_path / "file" / "figure.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_importing_figures_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, digitzoo.figures; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"

"""The filter and kernels commands, their output files and their errors."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from digitzoo.image.filters import apply_kernel
from digitzoo.image.kernels import KERNELS, VERTICAL
from digitzoo_cli.main import cli


@pytest.fixture
def edge_png(tmp_path):
    """A 40×30 gray PNG: dark left, light right, the step between columns 14 and 15."""
    _, cols = np.mgrid[0:30, 0:40]
    path = tmp_path / "edge.png"
    cv2.imwrite(str(path), np.where(cols >= 15, 200, 40).astype(np.uint8))
    return path


def test_filter_writes_the_response_beside_the_input(runner, edge_png):
    result = runner.invoke(cli, ["filter", str(edge_png), "--kernel", "vertical"])
    assert result.exit_code == 0, result.output
    out = edge_png.with_name("edge-vertical.png")
    picture = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert picture.shape == (30, 40) and picture.dtype == np.uint8
    assert set(np.flatnonzero(picture.max(axis=0))) == {14, 15}  # only the edge columns light up
    text = " ".join(result.stdout.split())
    assert result.stdout.count(" 1  0 -1 ") == 3  # the matrix, one row a line
    for expected in ("vertical (3×3)", "reflect101", "40×30", str(out),
                     "correlation: the kernel as written, as Keras Conv2D and cv2.filter2D compute it"):  # fmt: skip
        assert expected in text, expected
    low = 3 * (40 - 200) / 255
    assert f"{low:.4g} / 0" in text


def test_filter_json_matches_the_library(runner, edge_png, tmp_path):
    out = tmp_path / "sub" / "result.png"
    args = ["filter", str(edge_png), "-k", "1,0,-1;2,0,-2;1,0,-1", "--mode", "convolve", "-o", str(out), "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    image = cv2.imread(str(edge_png), cv2.IMREAD_UNCHANGED)
    expected = apply_kernel(image, np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]]), mode="convolve")
    assert summary["kernel"] == "custom" and summary["mode"] == "convolve" and summary["display"] == "abs"
    assert summary["matrix"] == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert summary["response_min"] == pytest.approx(float(expected.min()))
    assert summary["response_max"] == pytest.approx(4 * 160 / 255, rel=1e-5)
    assert summary["input_size"] == summary["output_size"] == [40, 30]
    assert out.is_file()


def test_filter_signed_valid_color_side_by_side(runner, edge_png):
    """--side-by-side writes the library's figure: the input and the response, enlarged 6×, pixel for pixel."""
    from digitzoo.figures import figure_pixels, filter_figure
    from digitzoo.image.filters import filter_image, show_image

    args = ["filter", str(edge_png), "-k", "VERTICAL", "--display", "signed", "--border", "valid"]
    args += ["--color", "--side-by-side", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = edge_png.with_name("edge-vertical-side-by-side.png")
    picture = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert json.loads(result.stdout)["output_size"] == [picture.shape[1], picture.shape[0]]
    image = cv2.imread(str(edge_png), cv2.IMREAD_UNCHANGED)
    filtered = filter_image(image, VERTICAL, border="valid", display="signed", color=True)
    figure = filter_figure(show_image(image, color=True), filtered.picture, kernel_name="vertical", kernel=VERTICAL,
                           display="signed", image_name="edge.png")  # fmt: skip
    np.testing.assert_array_equal(picture, figure_pixels(figure))
    # The response (28×38; gray, as the input is gray) as the figure shows it: each pixel a 6×6 block.
    assert filtered.picture.shape == (28, 38)
    response = np.repeat(np.kron(filtered.picture, np.ones((6, 6), np.uint8))[:, :, None], 3, axis=2)
    found = cv2.matchTemplate(picture.astype(np.float32), response.astype(np.float32), cv2.TM_SQDIFF)
    x, y = cv2.minMaxLoc(found)[2]
    shown = picture[y : y + 28 * 6 : 6, x : x + 38 * 6 : 6, 0]
    np.testing.assert_array_equal(shown, filtered.picture)
    assert (shown[:, 13:15] == 1).all()  # strongly negative: dark left, light right
    assert (np.delete(shown, [13, 14], axis=1) == 128).all()  # zero elsewhere


def test_side_by_side_as_jpeg(runner, edge_png, tmp_path):
    out = tmp_path / "pair.jpg"
    result = runner.invoke(cli, ["filter", str(edge_png), "-k", "vertical", "--side-by-side", "-o", str(out)])
    assert result.exit_code == 0, result.output
    picture = cv2.imread(str(out))
    assert picture.shape[1] > 2 * 240 and picture.std() > 20  # both pictures at 240 px wide, and the kernel


def test_filter_kernel_from_a_file(runner, edge_png, tmp_path):
    np.save(tmp_path / "wide.npy", np.ones((1, 5)) / 5)
    result = runner.invoke(cli, ["filter", str(edge_png), "-k", str(tmp_path / "wide.npy"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["kernel"] == "wide" and summary["display"] == "clip"
    assert summary["output"] == str(edge_png.with_name("edge-wide.png"))


def test_filter_never_overwrites_its_input(runner, edge_png):
    before = edge_png.read_bytes()
    result = runner.invoke(cli, ["filter", str(edge_png), "-k", "vertical", "-o", str(edge_png)])
    assert result.exit_code == 2
    assert f"Invalid value for '--output': {edge_png} is the input image; choose another file\n" in result.stderr
    assert edge_png.read_bytes() == before


def test_a_link_to_the_input_is_the_input(runner, edge_png, tmp_path):
    link = tmp_path / "link.png"
    link.symlink_to(edge_png)
    result = runner.invoke(cli, ["filter", str(edge_png), "-k", "vertical", "-o", str(link)])
    assert result.exit_code == 2
    assert f"Invalid value for '--output': {link} is the input image; choose another file\n" in result.stderr
    assert link.is_symlink()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "file is empty"),
        (b"not an image at all", "not an image digitzoo can read (it reads PNG, JPEG, WebP, BMP, GIF, TIFF, PNM files)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "the PNG file is damaged or cut short"),
    ],
)
def test_filter_unreadable_images_are_one_line_errors(runner, tmp_path, content, message):
    path = tmp_path / "photo.png"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(cli, ["filter", str(path), "-k", "vertical"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: {message}\n"
    assert not (tmp_path / "photo-vertical.png").exists()


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        ("1,0,-1;2,0;1,0,-1", "kernel row 2 has 2 values, row 1 has 3"),
        ("1,-1;1,-1", "kernel must have odd height and width, got 2×2"),
        ("1,2,3;4,5,6;7,8,9;1,1,1", "kernel must have odd height and width, got 4×3"),
        ("vertcal", "unknown kernel 'vertcal'; did you mean vertical?"),
        ("", "kernel is empty: give a name from KERNELS, a matrix or a file"),
        ("1,0,a;2,0,-2;1,0,-1", "kernel row 1: 'a' is not a number"),
        ("1 0 -1\n2 0 x", "kernel row 2: 'x' is not a number"),
        ("0.5 zero", "kernel row 1: 'zero' is not a number"),
        ("zzz", "unknown kernel 'zzz'; the named kernels are vertical, horizontal, sobel-x, sobel-y, scharr-x, "
         "scharr-y, laplacian, laplacian-8, sharpen, box-blur, gaussian-blur, gaussian-blur-5, emboss, identity"),
        ("nothing.npy", "nothing.npy: no such kernel file"),
    ],
)
def test_filter_bad_kernels_exit_2_with_the_reason(runner, edge_png, kernel, message):
    result = runner.invoke(cli, ["filter", str(edge_png), "-k", kernel])
    assert result.exit_code == 2
    assert f"Invalid value for '--kernel': {message}\n" in result.stderr
    assert not edge_png.with_name("edge-vertical.png").exists()


def test_filter_too_small_for_valid_is_an_error(runner, tmp_path):
    path = tmp_path / "dot.png"
    cv2.imwrite(str(path), np.zeros((2, 2), np.uint8))
    result = runner.invoke(cli, ["filter", str(path), "-k", "vertical", "--border", "valid"])
    assert result.exit_code == 1
    assert result.stderr == "Error: border 'valid' needs an image at least as large as the kernel (3×3), got 2×2\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["filter", "-k", "vertical"], "Missing argument 'IMAGE' (or use --demo)."),
        (["filter", "x.png"], "Missing option '--kernel' (see 'digitzoo kernels')."),
        (["filter", "x.png", "--demo"], "--demo takes only --kernel, --mode, --border and --json"),
        (["filter", "x.png", "-k", "vertical", "--display", "loud"], "Invalid value for '--display'"),
        (["filter", "x.png", "-k", "vertical", "--border", "same"], "Invalid value for '--border'"),
    ],
)
def test_filter_usage_errors_exit_2(runner, args, message):
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_demo_shows_the_tutorials_8x8(runner):
    result = runner.invoke(cli, ["filter", "--demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "bright left, dark right (the tutorial's 8×8)" in out and "response (6×6)" in out
    assert "10  10  10  10  0  0  0  0" in out
    assert "0  0  30  30  0  0" in out and "0  0  -30  0  30  0" in out
    assert "Nonzero only in response columns 3, 4 (from 1); largest |value| 30." in out
    assert "border valid" in out


def test_demo_json_and_other_kernels(runner):
    listed = json.loads(runner.invoke(cli, ["filter", "--demo", "--json"]).stdout)
    assert listed[0]["image"][0] == [10, 10, 10, 10, 0, 0, 0, 0]
    assert listed[0]["response"] == [[0, 0, 30, 30, 0, 0]] * 6
    assert [case["responding_columns"] for case in listed] == [[2, 3], [2, 3], [2, 4]]
    result = runner.invoke(cli, ["filter", "--demo", "-k", "horizontal"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("No response anywhere: this kernel does not see this edge.") == 3
    args = ["filter", "--demo", "--mode", "convolve", "--json", "--border", "zero"]
    convolved = json.loads(runner.invoke(cli, args).stdout)
    assert convolved[0]["response"][3] == [30, 0, 0, -30, -30, 0, 0, 0]  # flipped; zeros padded left


def test_kernels_lists_every_kernel_with_its_matrix(runner):
    result = runner.invoke(cli, ["kernels"])
    assert result.exit_code == 0, result.output
    for name in KERNELS:
        assert name in result.stdout
    assert "1/16 ×" in result.stdout and "-10   0  10" in result.stdout
    listed = json.loads(runner.invoke(cli, ["kernels", "--json"]).stdout)
    assert [k["name"] for k in listed] == list(KERNELS)
    assert listed[0]["matrix"] == VERTICAL.tolist()


def test_filter_and_kernels_do_not_import_tensorflow(edge_png):
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from digitzoo_cli.main import cli\n"
        f"for args in (['filter', {str(edge_png)!r}, '-k', 'sobel-x'], ['filter', '--demo'], ['kernels']):\n"
        "    result = CliRunner().invoke(cli, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert edge_png.with_name("edge-sobel-x.png").is_file()


@pytest.mark.parametrize("name", ["x.gif", "x.xyz", "noextension"])
def test_filter_refuses_an_output_format_before_any_work(runner, edge_png, tmp_path, name):
    out = tmp_path / name
    result = runner.invoke(cli, ["filter", str(edge_png), "-k", "vertical", "-o", str(out)])
    assert result.exit_code == 2
    kind = f"{out.suffix} files" if out.suffix else "files without an extension"
    expected = f"{out}: cannot write {kind}; name a .png, .jpg, .jpeg, .bmp, .tif, .tiff or .webp file"
    assert f"Invalid value for '--output' / '-o': {expected}\n" in result.stderr
    assert "OpenCV" not in result.stderr and "[ERROR" not in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_filter_shrinks_a_large_image_and_says_so(runner, tmp_path):
    """6000×3000 (18 megapixels) is over the 16.8 read: OpenCV decodes the JPEG at half size."""
    _, cols = np.mgrid[0:3000, 0:6000]
    path = tmp_path / "wide.jpg"
    cv2.imwrite(str(path), np.where(cols >= 3001, 200, 40).astype(np.uint8))
    result = runner.invoke(cli, ["filter", str(path), "-k", "vertical", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["input_size"] == [6000, 3000]
    assert summary["read_size"] == summary["response_size"] == summary["output_size"] == [3000, 1500]
    table = runner.invoke(cli, ["filter", str(path), "-k", "vertical"])
    assert "(6000×3000, shrunk to 3000×1500)" in " ".join(table.stdout.split())


@pytest.mark.parametrize("device", ["/dev/urandom", "/dev/zero"])
def test_filter_refuses_a_device_without_reading_it_to_the_end(runner, tmp_path, device):
    """A device reports size 0 and never ends: read whole, it used to end in a MemoryError."""
    output = tmp_path / "x.png"
    result = runner.invoke(cli, ["filter", device, "-k", "vertical", "-o", str(output)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {device}: is a character device, not an image\n"
    assert not output.exists()


def test_filter_refuses_a_folder_as_the_image(runner, tmp_path):
    result = runner.invoke(cli, ["filter", str(tmp_path), "-k", "vertical", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path}: is a folder, not an image\n"
    assert not (tmp_path / "x.png").exists()

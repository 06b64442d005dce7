"""Reading image files: EXIF orientation, header limits before decoding, shrinking; writing formats.

The test files are made here: cv2 encodes the pixels and the EXIF block (a TIFF structure with
one Orientation entry) is written by hand into the JPEG, PNG, WebP or TIFF container.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from digitzoo.errors import ImageError
from digitzoo.image import io
from digitzoo.image.header import read_header
from digitzoo.image.io import MAX_DECODE_BYTES, load_image, read_image, write_image
from digitzoo_cli.main import cli

cv2 = pytest.importorskip("cv2")

# EXIF orientation → how a viewer turns the stored pixels for display (the EXIF 2.3 definitions).
SHOWN = {
    1: lambda x: x,
    2: np.fliplr,  # mirrored left-right
    3: lambda x: np.rot90(x, 2),
    4: np.flipud,
    5: lambda x: x.T,  # mirrored along the main diagonal
    6: lambda x: np.rot90(x, -1),  # turned a quarter clockwise
    7: lambda x: np.rot90(np.fliplr(x), -1),
    8: lambda x: np.rot90(x, 1),  # turned a quarter anticlockwise
}
STORED = {**SHOWN, 6: SHOWN[8], 8: SHOWN[6]}  # what to store so that it is shown upright


def _seven() -> np.ndarray:
    """A blocky 7 (bar along the top, stem on the right), 48×80: no turn or mirror leaves it as it is."""
    image = np.full((48, 80), 30, np.uint8)
    image[:16, :] = 220
    image[16:, 64:] = 220
    return image


def _exif(orientation: int, order: str = ">") -> bytes:
    mark = b"MM" if order == ">" else b"II"
    entry = struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0)
    return mark + struct.pack(order + "HI", 42, 8) + struct.pack(order + "H", 1) + entry + b"\0\0\0\0"


def _jpeg(image: np.ndarray, orientation: int) -> bytes:
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    payload = b"Exif\0\0" + _exif(orientation)
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def _png(image: np.ndarray, orientation: int) -> bytes:
    data = cv2.imencode(".png", image)[1].tobytes()
    body = _exif(orientation, "<")
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body))
    return data[:33] + chunk + data[33:]  # right after IHDR


def _webp(image: np.ndarray, orientation: int) -> bytes:
    """An extended (VP8X) WebP: the lossless picture cv2 makes, and an EXIF chunk."""
    vp8l = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()[12:]
    height, width = image.shape[:2]
    size = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x08, 0, 0, 0]) + size
    exif = b"EXIF" + struct.pack("<I", len(_exif(orientation))) + _exif(orientation)
    body = b"WEBP" + vp8x + vp8l + exif
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _tiff(image: np.ndarray, orientation: int) -> bytes:
    """An uncompressed 8-bit gray TIFF in one strip, with an Orientation tag."""
    height, width = image.shape
    entries = [(256, width), (257, height), (258, 8), (259, 1), (262, 1), (273, 0), (274, orientation),
               (277, 1), (278, height), (279, width * height)]  # fmt: skip
    pixels_at = 8 + 2 + 12 * len(entries) + 4
    out = b"II" + struct.pack("<HI", 42, 8) + struct.pack("<H", len(entries))
    for tag, value in entries:
        if tag in (273, 279):
            out += struct.pack("<HHII", tag, 4, 1, pixels_at if tag == 273 else value)
        else:
            out += struct.pack("<HHIHH", tag, 3, 1, value, 0)
    return out + b"\0\0\0\0" + image.tobytes()


MAKERS = {"jpg": _jpeg, "png": _png, "webp": _webp, "tif": _tiff}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", list(MAKERS))
def test_exif_orientation_turns_the_image_upright(tmp_path, kind, orientation):
    upright = _seven()
    path = tmp_path / f"seven.{kind}"
    path.write_bytes(MAKERS[kind](np.ascontiguousarray(STORED[orientation](upright)), orientation))
    assert read_header(path.read_bytes()).orientation == orientation
    image = read_image(path)
    image = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)  # WebP is BGR
    assert image.shape == upright.shape
    assert np.abs(image.astype(int) - upright).max() <= (8 if kind == "jpg" else 0)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_also_applies_when_a_large_jpeg_is_decoded_small(tmp_path, orientation):
    upright = cv2.resize(_seven(), (640, 384), interpolation=cv2.INTER_NEAREST)  # 8× each way
    path = tmp_path / "big.jpg"
    path.write_bytes(_jpeg(np.ascontiguousarray(STORED[orientation](upright)), orientation))
    loaded = load_image(path, max_pixels=48 * 80)
    assert loaded.size == (640, 384) and loaded.shrunk
    assert loaded.pixels.shape == (48, 80)  # decoded at 1/8 by libjpeg, then turned
    assert np.abs(loaded.pixels.astype(int) - _seven()).max() <= 8


def test_filter_output_of_a_phone_photo_is_upright(tmp_path):
    path = tmp_path / "phone.jpg"
    path.write_bytes(_jpeg(np.ascontiguousarray(STORED[6](_seven())), 6))
    result = CliRunner().invoke(cli, ["filter", str(path), "-k", "identity", "--json"])
    assert result.exit_code == 0, result.output
    picture = cv2.imread(str(tmp_path / "phone-identity.png"), cv2.IMREAD_UNCHANGED)
    assert picture.shape == (48, 80)
    assert np.abs(picture.astype(int) - _seven()).max() <= 8


# Limits checked on the header, before anything is decoded --------------------------------------


def _png_header(width: int, height: int, depth: int = 8, color: int = 2) -> bytes:
    """A PNG that claims a size and has no pixels: only its header can be read."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _jpeg_header(width: int, height: int, data: int = 0) -> bytes:
    """A JPEG that claims a size, with ``data`` bytes where its pixels would be: (1 bit per 8×8
    block, a sixteenth of the pixels in 4:2:0, is the least any such file holds)."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + bytes([1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + bytes(data) + b"\xff\xd9"


def _claiming(width: int, height: int) -> bytes:
    """A real 200×200 JPEG of a 7 whose frame header claims ``width``×``height`` pixels."""
    image = np.full((200, 200, 3), 255, np.uint8)
    cv2.putText(image, "7", (50, 170), cv2.FONT_HERSHEY_SIMPLEX, 6, (0, 0, 0), 20)
    data = bytearray(cv2.imencode(".jpg", image)[1].tobytes())
    struct.pack_into(">HH", data, data.index(b"\xff\xc0") + 5, height, width)
    return bytes(data)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if OpenCV is asked to decode anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("cv2.imdecode was called")

    monkeypatch.setattr(cv2, "imdecode", refuse)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_png_header(32000, 32000), "32000×32000 pixels is too large (at most 268 megapixels); shrink it first"),
        (_png_header(20000, 20000), "20000×20000 pixels is too large (at most 268 megapixels); shrink it first"),
        (_jpeg_header(65000, 65000), "65000×65000 pixels is too large (at most 268 megapixels); shrink it first"),
        # 81 megapixels of 16-bit RGBA: 648 MB, twice at once while decoding; PNG has no smaller way
        (_png_header(9000, 9000, depth=16, color=6),
         f"9000×9000 pixels would take 1.3 GB to decode (at most {MAX_DECODE_BYTES / 1e9:.1f} GB); "
         "shrink it or save it as JPEG"),
    ],
)  # fmt: skip
def test_too_large_images_are_refused_from_their_header(tmp_path, no_decoding, data, message):
    path = tmp_path / "huge.img"
    path.write_bytes(data)
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(info.value) == f"{path}: {message}"


def test_a_large_jpeg_is_accepted_because_it_is_decoded_small(tmp_path, monkeypatch):
    """16000×12000 (192 megapixels, a big phone photo): libjpeg decodes it at 1/4, 36 MB."""
    reductions = []

    def decode(data, header, reduction, *, what):
        reductions.append(reduction)
        return np.zeros((header.height // reduction, header.width // reduction, 3), np.uint8)

    monkeypatch.setattr(io, "_decode", decode)
    path = tmp_path / "phone.jpg"
    path.write_bytes(_jpeg_header(16000, 12000, data=16000 * 12000 // 16 // 8 * 2))
    loaded = load_image(path)
    assert reductions == [4] and loaded.pixels.shape == (3000, 4000, 3) and loaded.size == (16000, 12000)


def test_files_over_the_size_limit_are_not_read(tmp_path, monkeypatch, no_decoding):
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 1_000_000)
    path = tmp_path / "big.png"
    path.write_bytes(bytes(1_500_000))
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(info.value) == f"{path}: the file is 1.5 MB (at most 1.0 MB)"


def test_a_device_is_refused_not_read_without_end(no_decoding):
    """A device reports size 0 and never ends: read whole, /dev/zero filled the memory."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with pytest.raises(ImageError) as info:
        read_image("/dev/zero")
    assert str(info.value) == "/dev/zero: is a character device, not an image"


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)

    def write_an_image():  # waits for a reader, so a reader that waits for a writer finds one
        try:
            with open(pipe, "wb") as out:
                out.write(cv2.imencode(".png", _seven())[1].tobytes())
        except BrokenPipeError:
            pass  # refused: the reader is gone

    writer = threading.Thread(target=write_an_image, daemon=True)
    writer.start()
    try:
        with pytest.raises(ImageError) as info:
            read_image(pipe)
    finally:
        release = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer's open return
        writer.join()
        os.close(release)
    assert str(info.value) == f"{pipe}: is a pipe, not an image"


def test_a_folder_is_refused_as_not_an_image(tmp_path, no_decoding):
    with pytest.raises(ImageError) as info:
        read_image(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a folder, not an image"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\0\0\0\x1cftypavif", "not an image digitzoo can read (it reads PNG, JPEG, WebP, BMP, GIF, TIFF, PNM files)"),
        (_png_header(40, 30)[:-12], "the PNG file is damaged or cut short"),  # no IEND: cut short
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "the JPEG file is damaged or cut short"),
        (_png_header(0, 30), "the PNG file is damaged or cut short"),
    ],
)
def test_unknown_or_broken_headers_are_refused(tmp_path, no_decoding, data, message):
    path = tmp_path / "broken.img"
    path.write_bytes(data)
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(info.value) == f"{path}: {message}"


def test_a_jpeg_claiming_far_more_pixels_than_its_data_hold_is_damaged(tmp_path, no_decoding, capfd):
    """16000×16000 over 200×200 of data: libjpeg would warn on stderr, fill in gray, and no ink be found."""
    path = tmp_path / "claims.jpg"
    path.write_bytes(_claiming(16000, 16000))
    with pytest.raises(ImageError) as info:
        read_image(path)
    size = path.stat().st_size
    assert str(info.value) == (
        f"{path}: the JPEG file is damaged or cut short: its header says 16000×16000 pixels, "
        f"more than its {size} bytes can hold"
    )
    assert capfd.readouterr().err == ""


def test_a_jpeg_whose_data_end_early_is_damaged_without_libjpegs_line(tmp_path, capfd):
    """Twice the size its data hold: within what a file could hold, so it is decoded, and libjpeg
    says "Corrupt JPEG data: premature end of data segment" on stderr itself."""
    path = tmp_path / "claims.jpg"
    path.write_bytes(_claiming(400, 400))
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(info.value) == f"{path}: the JPEG file is damaged or cut short"
    assert capfd.readouterr().err == ""


def test_other_lines_on_stderr_while_decoding_pass_and_harmless_warnings_are_dropped(tmp_path, monkeypatch, capfd):
    decode = cv2.imdecode

    def noisy(*args):
        os.write(2, b"a line of another thread\n")
        os.write(2, b"Corrupt JPEG data: 3 extraneous bytes before marker 0xd9\n")  # padding: pixels all there
        return decode(*args)

    monkeypatch.setattr(cv2, "imdecode", noisy)
    path = tmp_path / "seven.jpg"
    path.write_bytes(_jpeg(_seven(), 1))
    assert read_image(path).shape == (48, 80)
    assert capfd.readouterr().err == "a line of another thread\n"


def test_damaged_pixel_data_is_our_error_without_opencv_log_lines(tmp_path, capfd):
    data = cv2.imencode(".bmp", np.zeros((50, 60, 3), np.uint8))[1].tobytes()
    path = tmp_path / "cut.bmp"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(info.value) == f"{path}: the BMP data is damaged; OpenCV cannot decode it"
    assert capfd.readouterr().err == ""


# Shrinking on read -------------------------------------------------------------------------------


def test_larger_than_asked_is_averaged_down_keeping_the_aspect_ratio(tmp_path):
    _, cols = np.mgrid[0:300, 0:400]
    image = np.where(cols < 200, 0, 255).astype(np.uint8)
    path = tmp_path / "halves.png"
    cv2.imwrite(str(path), image)
    loaded = load_image(path, max_pixels=10_000)
    height, width = loaded.pixels.shape
    assert height * width <= 10_000 and (width, height) == (115, 86)  # 400:300 kept, to the pixel
    assert loaded.size == (400, 300) and loaded.shrunk
    assert (loaded.pixels[:, :56] == 0).all() and (loaded.pixels[:, 59:] == 255).all()
    assert read_image(path, max_pixels=None).shape == (300, 400)
    assert not load_image(path).shrunk


def test_max_pixels_must_be_positive(tmp_path):
    path = tmp_path / "dot.png"
    cv2.imwrite(str(path), np.zeros((3, 3), np.uint8))
    with pytest.raises(ImageError, match="max_pixels must be at least 1, got 0"):
        read_image(path, max_pixels=0)


# Writing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.gif", "out.exr", "out"])
def test_write_refuses_formats_it_cannot_write_without_opencv_noise(tmp_path, capfd, name):
    path = tmp_path / name
    with pytest.raises(ImageError) as info:
        write_image(path, np.zeros((4, 4), np.uint8))
    kind = f"{path.suffix} files" if path.suffix else "files without an extension"
    assert str(info.value) == f"{path}: cannot write {kind}; name a .png, .jpg, .jpeg, .bmp, .tif, .tiff or .webp file"
    assert not path.exists() and capfd.readouterr().err == ""


def test_16_bit_images_are_scaled_to_8_bits_where_the_format_has_no_16(tmp_path):
    image = np.array([[0, 257 * 100, 65535, 128]], np.uint16)
    write_image(tmp_path / "ramp.bmp", image)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "ramp.bmp"), cv2.IMREAD_UNCHANGED), [[0, 100, 255, 0]])
    write_image(tmp_path / "ramp.png", image)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "ramp.png"), cv2.IMREAD_UNCHANGED), image)


# Images in memory --------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [1, 6, 8])
@pytest.mark.parametrize("kind", list(MAKERS))
def test_decode_image_reads_bytes_as_read_image_reads_the_file(tmp_path, kind, orientation):
    data = MAKERS[kind](STORED[orientation](_seven()), orientation)
    path = tmp_path / f"seven.{kind}"
    path.write_bytes(data)
    decoded = io.decode_image(data)
    np.testing.assert_array_equal(decoded, read_image(path))
    np.testing.assert_array_equal(io.decode_image(data, max_pixels=500), read_image(path, max_pixels=500))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "canvas: is empty"),
        (b"hello", "canvas: not an image digitzoo can read"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "canvas: the JPEG file is damaged or cut short"),
        ("text", "canvas: image data must be bytes, got str"),
    ],
)
def test_decode_image_refuses_what_read_image_refuses_naming_the_image(data, message):
    with pytest.raises(ImageError) as info:
        io.decode_image(data, name="canvas")
    assert str(info.value).startswith(message)


def test_decode_image_checks_the_header_before_decoding(monkeypatch, no_decoding):
    with pytest.raises(ImageError, match=r"^upload: 20000×20000 pixels is too large"):
        io.decode_image(_png_header(20000, 20000))
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 10)
    with pytest.raises(ImageError, match=r"^upload: the image is 0.0 MB \(at most 0.0 MB\)"):
        io.decode_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)


@pytest.mark.parametrize("image", [np.arange(60, dtype=np.uint8).reshape(6, 10),
                                   np.full((5, 4, 3), 7, np.uint8),
                                   np.full((5, 4, 4), 65535, np.uint16)])  # fmt: skip
def test_encode_png_round_trips(image):
    data = io.encode_png(image)
    assert data.startswith(b"\x89PNG")
    np.testing.assert_array_equal(io.decode_image(data), image)


def test_encode_png_refuses_floats():
    with pytest.raises(ImageError, match="only uint8 or uint16 images can be encoded, got float32"):
        io.encode_png(np.zeros((3, 3), np.float32))


def test_fit_side_shrinks_the_longer_side_keeping_the_aspect_ratio():
    image = np.zeros((1500, 3000, 3), np.uint8)
    assert io.fit_side(image, 1024).shape == (512, 1024, 3)
    assert io.fit_side(image.transpose(1, 0, 2), 1024).shape == (1024, 512, 3)
    small = np.zeros((10, 20), np.uint8)
    assert io.fit_side(small, 1024) is small
    with pytest.raises(ImageError, match="max_side must be a whole number of at least 1, got 0"):
        io.fit_side(small, 0)

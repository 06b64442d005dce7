"""Size, layout and EXIF orientation of an image file, read from its header without decoding it.

A 1 MB PNG can hold 20000×20000 pixels: whether a file is safe to decode, and at which scale,
must be known before OpenCV allocates anything. The parsers here read only the few bytes that
say so, for the formats digitzoo reads: PNG, JPEG, WebP, BMP, GIF, TIFF and PNM.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

from ..errors import ImageError

__all__ = ["FORMATS", "ImageHeader", "read_header"]

#: The formats whose header digitzoo can read, so the only ones it decodes.
FORMATS = ("PNG", "JPEG", "WebP", "BMP", "GIF", "TIFF", "PNM")

_EXIF_ORIENTATION = 0x0112
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
_JPEG_HUFFMAN = {0xC0, 0xC1, 0xC2, 0xC3}  # the frames whose every 8×8 block costs a bit at least
_JPEG_NO_LENGTH = {0x01, 0xD8, *range(0xD0, 0xD8)}


@dataclass(frozen=True)
class ImageHeader:
    """What a file's header says. ``width``, ``height``: as stored, before ``orientation``.

    ``channels`` and ``sample_bytes``: the most OpenCV decodes it into when reading it unchanged
    (an upper bound where the header leaves it open). ``orientation``: the EXIF tag, 1 (upright)
    to 8. ``progressive``: a progressive JPEG, which libjpeg decodes through a buffer of the
    whole image's coefficients (2 bytes per sample) whatever the output scale. ``min_bytes``: the
    fewest bytes a file with this header can hold, 0 where the format leaves it open; a file
    shorter than that is damaged or cut short, whatever its header claims.
    """

    format: str
    width: int
    height: int
    channels: int = 3
    sample_bytes: int = 1
    orientation: int = 1
    progressive: bool = False
    min_bytes: int = 0

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) as a viewer shows the image: orientations 5 to 8 turn it a quarter."""
        return (self.height, self.width) if self.orientation >= 5 else (self.width, self.height)


def read_header(data: bytes, *, what: str = "image") -> ImageHeader:
    """The header of an encoded image; ``ImageError`` if the format is not one of ``FORMATS``
    or the header is cut short or impossible (no pixels)."""
    parser = _parser(data)
    if parser is None:
        raise ImageError(f"{what}: not an image digitzoo can read (it reads {', '.join(FORMATS)} files)")
    try:
        header = parser(data)
    except (struct.error, IndexError, ValueError):
        header = None
    if header is None or header.width <= 0 or header.height <= 0:
        raise ImageError(f"{what}: the {_name(parser)} file is damaged or cut short")
    return header


def _parser(data: bytes):
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp
    if data.startswith(b"BM"):
        return _bmp
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff
    if re.match(rb"P[1-6]\s", data[:3]):
        return _pnm
    return None


def _name(parser) -> str:
    return {_png: "PNG", _jpeg: "JPEG", _webp: "WebP", _bmp: "BMP", _gif: "GIF", _tiff: "TIFF", _pnm: "PNM"}[parser]


def _png(data: bytes) -> ImageHeader | None:
    """IHDR for size and layout, tRNS (transparency, decoded as a 4th channel), eXIf; and the
    chunks must run to IEND, so that a file cut short is known before libpng complains about it."""
    if data[12:16] != b"IHDR":
        return None
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}.get(color)
    orientation, offset = 1, 8
    while channels is not None and offset + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"IEND":
            return ImageHeader("PNG", width, height, channels, 2 if depth == 16 else 1, orientation)
        if kind == b"tRNS":
            channels = 4
        elif kind == b"eXIf":
            orientation = _exif_orientation(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return None


def _jpeg(data: bytes) -> ImageHeader | None:
    """Walk the segments up to the frame header (SOFn), picking up the EXIF orientation on the way."""
    orientation, offset = 1, 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in _JPEG_NO_LENGTH:
            offset += 2
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        segment = data[offset + 4 : offset + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00") and orientation == 1:
            orientation = _exif_orientation(segment[6:])
        elif marker in _JPEG_SOF:
            precision, height, width, components = struct.unpack(">BHHB", segment[:6])
            channels = 1 if components == 1 else 3  # OpenCV turns YCbCr, RGB and CMYK into BGR
            sample_bytes = 2 if precision > 8 else 1
            least = _jpeg_min_bytes(segment[6 : 6 + 3 * components], width, height) if marker in _JPEG_HUFFMAN else 0
            return ImageHeader(
                "JPEG", width, height, channels, sample_bytes, orientation, marker in _JPEG_PROGRESSIVE, least
            )
        elif marker in (0xD9, 0xDA):  # end of image or scan data before any frame header
            return None
        offset += 2 + length
    return None


def _jpeg_min_bytes(components: bytes, width: int, height: int) -> int:
    """The fewest bytes of Huffman-coded data that can fill a ``width``×``height`` frame.

    Every 8×8 block of every component starts with its DC difference, a Huffman code of at least
    one bit (in a progressive file too: its first DC scan codes every block). A component
    sampled h×v of the largest hmax×vmax covers ceil(width·h/hmax) × ceil(height·v/vmax) samples.
    """
    factors = [(b >> 4, b & 15) for b in components[1::3]]
    if not factors or any(h == 0 or v == 0 for h, v in factors):
        return 0  # impossible sampling: libjpeg refuses the file, and says so
    hmax, vmax = max(h for h, _ in factors), max(v for _, v in factors)
    blocks = sum(
        math.ceil(math.ceil(width * h / hmax) / 8) * math.ceil(math.ceil(height * v / vmax) / 8) for h, v in factors
    )
    return math.ceil(blocks / 8)


def _webp(data: bytes) -> ImageHeader | None:
    """The first chunk gives the size: VP8 (lossy), VP8L (lossless) or VP8X (extended, with EXIF)."""
    kind = data[12:16]
    body = data[20:]
    if kind == b"VP8 ":
        if body[3:6] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", body[6:10])
        return ImageHeader("WebP", width & 0x3FFF, height & 0x3FFF, 3)
    if kind == b"VP8L":
        if body[0] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", body[1:5])
        alpha = bits >> 28 & 1
        return ImageHeader("WebP", (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1, 4 if alpha else 3)
    if kind == b"VP8X":
        flags = body[0]
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        orientation = _webp_exif(data) if flags & 0x08 else 1
        return ImageHeader("WebP", width, height, 4 if flags & 0x10 else 3, 1, orientation)
    return None


def _webp_exif(data: bytes) -> int:
    offset = 12
    while offset + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[offset : offset + 8])
        if kind == b"EXIF":
            payload = data[offset + 8 : offset + 8 + length]
            return _exif_orientation(payload[6:] if payload.startswith(b"Exif\x00\x00") else payload)
        offset += 8 + length + (length & 1)
    return 1


def _bmp(data: bytes) -> ImageHeader | None:
    (info_size,) = struct.unpack("<I", data[14:18])
    if info_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height, _, bits = struct.unpack("<hhHH", data[18:26])
    else:
        width, height, _, bits = struct.unpack("<iiHH", data[18:30])
    channels = 4 if bits == 32 else 3  # palettes decode to BGR (or gray, which is less)
    return ImageHeader("BMP", width, abs(height), channels)


def _gif(data: bytes) -> ImageHeader:
    width, height = struct.unpack("<HH", data[6:10])
    return ImageHeader("GIF", width, height, 4)


def _tiff(data: bytes) -> ImageHeader | None:
    tags = _tiff_tags(data, {256, 257, 258, 277, _EXIF_ORIENTATION})
    if 256 not in tags or 257 not in tags:
        return None
    samples = tags.get(277, 1)
    bits = tags.get(258, 8)
    channels = 1 if samples == 1 else max(3, min(samples, 4))
    orientation = tags.get(_EXIF_ORIENTATION, 1)
    return ImageHeader("TIFF", tags[256], tags[257], channels, max(1, (bits + 7) // 8), orientation)


def _pnm(data: bytes) -> ImageHeader | None:
    """P1–P6: width, height and (except for bitmaps) the largest value, as text; '#' comments."""
    text = re.sub(rb"#[^\n]*", b" ", data[2:512])
    fields = text.split()
    kind = data[1:2]
    count = 2 if kind in (b"1", b"4") else 3
    if len(fields) < count:
        return None
    numbers = [int(f) for f in fields[:count]]
    maxval = numbers[2] if count == 3 else 1
    channels = 3 if kind in (b"3", b"6") else 1
    return ImageHeader("PNM", numbers[0], numbers[1], channels, 2 if maxval > 255 else 1)


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag of an EXIF block (a TIFF structure); 1 when it is absent or nonsense."""
    try:
        orientation = _tiff_tags(tiff, {_EXIF_ORIENTATION}).get(_EXIF_ORIENTATION, 1)
    except (struct.error, IndexError, ValueError):
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _tiff_tags(tiff: bytes, wanted: set[int]) -> dict[int, int]:
    """The first value of each ``wanted`` SHORT or LONG tag in the first image directory (IFD0)."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        raise ValueError("not a TIFF structure")
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    found = {}
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        tag, kind, number = struct.unpack(order + "HHI", entry[:8])
        if tag not in wanted or number < 1:
            continue
        if kind == 3:  # SHORT: the first value sits in the entry when it fits, else at an offset
            where = entry[8:10] if number <= 2 else tiff[_offset(entry, order) :][:2]
            found[tag] = struct.unpack(order + "H", where)[0]
        elif kind == 4:  # LONG
            where = entry[8:12] if number == 1 else tiff[_offset(entry, order) :][:4]
            found[tag] = struct.unpack(order + "I", where)[0]
    return found


def _offset(entry: bytes, order: str) -> int:
    return struct.unpack(order + "I", entry[8:12])[0]

"""What an image is, read from its first bytes only: its type and its size in pixels, before any decode.

A JPEG of 631 bytes can claim 30000x30000 pixels, and decoding it (or a real 12000x12000 photo) takes
gigabytes. So every image that enters (a seal photo at push, a complaint photo on the residents' page) and
every image the office checks open is first read here: the markers that say what the bytes are (JPEG
`FF D8 FF`, WebP `RIFF....WEBP`) and the frame header that says how large the picture is (JPEG SOF, WebP
`VP8 `/`VP8L`/`VP8X`). Nothing here decodes pixels, so the cost is a few hundred bytes whatever the image.

The budget: `MAX_IMAGE_PIXELS` (4096x4096, 16.7 megapixels) and `MAX_IMAGE_SIDE` (8192 px on either side).
The PWA sends seal photos of at most 1600 px on the long edge, and phones save 12-megapixel photos by
default, so an honest photo is far inside it; decoding the largest allowed costs about 50 MB (RGB).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from records.texts import in_both

MAX_IMAGE_PIXELS = 4096 * 4096
MAX_IMAGE_SIDE = 8192

JPEG = "image/jpeg"
WEBP = "image/webp"

#: JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the picture size.
_SOF_MARKERS = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)})
#: Markers that stand alone, without a length.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
#: A WebP has its frame in the first few chunks; reading further is not needed for an honest file.
_MAX_WEBP_CHUNKS = 16


class ImageError(ValueError):
    """The bytes are not a usable image: `code` for machines (`image_type`, `image_too_large`), `reason` in
    both languages (records/texts.py; `message` and `values` are its msgid and what fills it), and the size
    in pixels a too large one claims (`size`, width and height), for a reader's own wording."""

    def __init__(self, code: str, message: str, size: tuple[int, int] | None = None, **values: str) -> None:
        self.reason = in_both(message, **values)
        super().__init__(self.reason)
        self.code = code
        self.message = message
        self.values = values
        self.size = size


@dataclass(frozen=True)
class ImageHeader:
    content_type: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def sniff_type(data: bytes) -> str | None:
    """The image type the bytes start with (JPEG or WebP), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def read_header(data: bytes, declared: str | None = None) -> ImageHeader:
    """Type and size of the image in `data`; raises `ImageError` when it is not the `declared` type (or,
    without one, neither JPEG nor WebP), has no readable frame header, or is larger than the budget."""
    found = sniff_type(data)
    if found is None or (declared is not None and found != declared):
        if declared is None:
            raise ImageError("image_type", "Isi foto bukan JPEG atau WebP; ambil foto lagi.")
        raise ImageError("image_type", "Isi foto bukan %(format)s; ambil foto lagi.", format=_name(declared))
    size = _jpeg_size(data) if found == JPEG else _webp_size(data)
    if size is None:
        raise ImageError(
            "image_type",
            "Foto rusak: ukurannya tidak terbaca; ambil foto lagi.",
        )
    width, height = size
    header = ImageHeader(found, width, height)
    check_dimensions(width, height)
    return header


def check_dimensions(width: int, height: int) -> None:
    """Refuse a picture larger than the budget, or with no pixels at all."""
    if width < 1 or height < 1:
        raise ImageError("image_type", "Foto tanpa ukuran; ambil foto lagi.")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise ImageError(
            "image_too_large",
            "Foto %(width)sx%(height)s piksel terlalu besar (maksimal %(millions)s juta piksel, sisi "
            "terpanjang %(side)s); kirim foto yang lebih kecil.",
            size=(width, height),
            width=str(width),
            height=str(height),
            millions=str(MAX_IMAGE_PIXELS // 1_000_000),
            side=str(MAX_IMAGE_SIDE),
        )


def _name(content_type: str | None) -> str:
    return {JPEG: "JPEG", WEBP: "WebP"}.get(content_type or "", str(content_type))


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first SOF segment, walking the segments by their lengths."""
    at = 2
    end = len(data)
    while at + 4 <= end:
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker in (0xDA, 0xD9):  # scan data or end of image before any frame header
            return None
        (length,) = struct.unpack_from(">H", data, at + 2)
        if length < 2:
            return None
        if marker in _SOF_MARKERS:
            if at + 9 > end:
                return None
            height, width = struct.unpack_from(">HH", data, at + 5)
            return width, height
        at += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the canvas (`VP8X`) and the frame (`VP8 ` or `VP8L`); the larger counts."""
    at = 12
    canvas: tuple[int, int] | None = None
    for _ in range(_MAX_WEBP_CHUNKS):
        if at + 8 > len(data):
            break
        fourcc = data[at : at + 4]
        (length,) = struct.unpack_from("<I", data, at + 4)
        payload = data[at + 8 : at + 8 + min(length, 32)]
        if fourcc == b"VP8X":
            if len(payload) < 10:
                return None
            width = int.from_bytes(payload[4:7], "little") + 1
            height = int.from_bytes(payload[7:10], "little") + 1
            canvas = (width, height)
        elif fourcc in (b"VP8 ", b"VP8L"):
            frame = _vp8_size(payload) if fourcc == b"VP8 " else _vp8l_size(payload)
            if frame is None:
                return None
            if canvas is None:
                return frame
            return max(canvas[0], frame[0]), max(canvas[1], frame[1])
        at += 8 + length + (length & 1)  # chunks are padded to an even length
    return canvas


def _vp8_size(payload: bytes) -> tuple[int, int] | None:
    if len(payload) < 10 or payload[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack_from("<HH", payload, 6)
    return width & 0x3FFF, height & 0x3FFF


def _vp8l_size(payload: bytes) -> tuple[int, int] | None:
    if len(payload) < 5 or payload[0] != 0x2F:
        return None
    (bits,) = struct.unpack_from("<I", payload, 1)
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1

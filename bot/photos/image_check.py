"""Check a headshot's bytes before spending a Tavus training run on it.

Tavus accepts JPG or PNG photos of at least 512×512 pixels. Everything here is pure (bytes in,
`ImageInfo` or `PreflightRefusal` out, with the measured facts and no wording) and safe to call from
several worker threads at once.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass

# Importing the plugins registers JPEG and PNG up front, so Image.open in a worker thread never has to
# run Pillow's lazy plugin discovery. MPO needs no entry of its own: Pillow opens phone MPO files
# through the JPEG opener (asking for "MPO" by name raises KeyError) and reports them as "MPO".
from PIL import Image, JpegImagePlugin, MpoImagePlugin, PngImagePlugin  # noqa: F401

from bot.photos.refusals import PreflightRefusal

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "MIN_SIDE",
    "ImageInfo",
    "PreflightRefusal",
    "check_image",
]

MIN_SIDE = 512
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# 50 MP lets through the largest photos phones commonly produce (48 MP sensors write 8064×6048 =
# 48.8 MP) and stays below Pillow's own 89.5 MP warning threshold, so our check is the one that fires.
# It also caps the one full decode we do (PNG, up to 4 bytes a pixel) at about 200 MB.
DEFAULT_MAX_PIXELS = 50_000_000

_OPEN_FORMATS = ["JPEG", "PNG"]
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
_EXIF_ORIENTATION = 0x0112
_SWAPPED_ORIENTATIONS = frozenset({5, 6, 7, 8})

# warnings.catch_warnings swaps the process-wide filter list, so two threads inside it at once can
# restore each other's filters and leave one installed for good. We serialise our own use and hold
# the lock only around Image.open (header parsing, well under a millisecond), never around decoding.
# Our own pixel check below is what actually refuses bombs; the filter only keeps Pillow's warning
# from leaking to stderr and makes its >2× error path land in the same place.
_WARNINGS_LOCK = threading.Lock()

_HTML_START = re.compile(
    rb"^(?:\s|<\?xml.*?\?>|<!--.*?-->)*<(?:!doctype\s+html|html|head|body|meta|title|script)\b",
    re.IGNORECASE | re.DOTALL,
)
_SVG_START = re.compile(rb"^(?:\s|<\?xml.*?\?>|<!--.*?-->|<!doctype\s+svg[^>]*>)*<svg\b", re.I | re.S)
_SNIFF_BYTES = 2048

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})

# Container brands that tell a phone photo (HEIC/AVIF) apart from a video in the same ISO box format.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" or "PNG"; phone MPO files count as JPEG
    content_type: str
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    size_bytes: int


def check_image(
    data: bytes,
    *,
    min_side: int = MIN_SIDE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageInfo:
    """Return what the image is, or raise `PreflightRefusal` saying why Tavus would reject it.

    The format comes from the bytes, never from a file name or Content-Type. Pillow's own
    `Image.MAX_IMAGE_PIXELS` still applies on top of `max_pixels`.
    """
    size = len(data)
    if size == 0:
        raise PreflightRefusal("empty")
    if size > max_bytes:
        raise PreflightRefusal("too_large", size=size, limit=max_bytes)

    head = _text_head(data)
    if _HTML_START.match(head):
        raise PreflightRefusal("html_page")

    im = _open(data, max_pixels)
    with im:
        fmt = "JPEG" if im.format in ("JPEG", "MPO") else "PNG"
        declared_width, declared_height = im.size
        _check_pixels(declared_width, declared_height, max_pixels)
        if min(declared_width, declared_height) < min_side:
            # Orientation only swaps the sides, so the smaller side is known without decoding.
            width, height = _displayed_size(im, declared_width, declared_height)
            raise PreflightRefusal("too_small", width=width, height=height, limit=min_side)
        _decode(im, fmt)
        width, height = _displayed_size(im, declared_width, declared_height)

    return ImageInfo(
        format=fmt, content_type=_CONTENT_TYPES[fmt], width=width, height=height, size_bytes=size
    )


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        width, height = _declared_size(data) or (0, 0)
        raise _bomb(width, height, max_pixels) from None
    except Image.UnidentifiedImageError:
        pass
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error):
        # Pillow recognised the file but choked on its header: a damaged JPG/PNG rather than junk.
        raise _damaged(_magic_format(data) or "image") from None

    magic = _magic_format(data)
    if magic is not None:
        # Starts like a JPG/PNG yet Pillow couldn't identify it: the header itself is cut off or broken.
        raise _damaged(magic)
    other = _other_format(data)
    if other is not None:
        raise PreflightRefusal("unsupported_format", file_format=other)
    raise PreflightRefusal("not_an_image")


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise _bomb(width, height, max_pixels)


def _bomb(width: int, height: int, max_pixels: int) -> PreflightRefusal:
    return PreflightRefusal(
        "decompression_bomb", width=width or None, height=height or None, limit=max_pixels
    )


def _decode(im: Image.Image, fmt: str) -> None:
    """Decode every pixel once: only a full decode notices a file that was cut off mid-way."""
    if fmt == "JPEG":
        # Decoding at 1/8 scale still reads the whole compressed stream (so truncation is caught)
        # but skips most of the work; grayscale skips the colour conversion as well.
        im.draft("L" if im.mode == "RGB" else im.mode, (1, 1))
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError):
        raise _damaged(fmt) from None


def _damaged(fmt: str) -> PreflightRefusal:
    return PreflightRefusal("truncated", file_format=fmt)


def _displayed_size(im: Image.Image, width: int, height: int) -> tuple[int, int]:
    try:
        orientation = im.getexif().get(_EXIF_ORIENTATION)
    except Exception:
        # Broken EXIF is common in edited photos and doesn't stop Tavus using the pixels.
        return width, height
    if isinstance(orientation, int) and orientation in _SWAPPED_ORIENTATIONS:
        return height, width
    return width, height


def _text_head(data: bytes) -> bytes:
    """The first bytes as ASCII-compatible text, so HTML/SVG sniffing copes with BOMs and UTF-16."""
    head = data[: _SNIFF_BYTES * 2]
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, "ignore").encode("utf-8", "ignore")[:_SNIFF_BYTES]
    return head.removeprefix(b"\xef\xbb\xbf")[:_SNIFF_BYTES]


def _magic_format(data: bytes) -> str | None:
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    return None


def _other_format(data: bytes) -> str | None:
    """Name formats people often send by mistake, so the requester can be told which one it was."""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:2] == b"BM" and data[6:10] == b"\0\0\0\0":
        return "BMP"
    if data[:4] in (b"II*\0", b"MM\0*"):
        return "TIFF"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC"
        if brand in _AVIF_BRANDS:
            return "AVIF"
        return "video"
    if data[:4] == b"\0\0\1\0":
        return "ICO"
    if data[:4] == b"8BPS":
        return "PSD"
    if data[:5] == b"%PDF-":
        return "PDF"
    if data.startswith(b"\0\0\0\x0cjP  \r\n\x87\n") or data[:4] == b"\xff\x4f\xff\x51":
        return "JPEG 2000"
    if data.startswith(b"\0\0\0\x0cJXL \r\n\x87\n") or data[:2] == b"\xff\x0a":
        return "JPEG XL"
    if _SVG_START.match(_text_head(data)):
        return "SVG"
    return None


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header, for the message when Pillow refused to open the file."""
    if data.startswith(_PNG_MAGIC) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(_JPEG_MAGIC):
        return _jpeg_frame_size(data)
    return None


def _jpeg_frame_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _JPEG_SOF_MARKERS:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length field
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return None

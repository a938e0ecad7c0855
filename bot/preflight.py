"""Check a headshot's bytes before spending a Tavus training run on it.

Tavus accepts JPG or PNG photos of at least 512×512 pixels. Everything here is pure (bytes in,
`ImageInfo` or `PreflightRefusal` out) and safe to call from several worker threads at once.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from typing import ClassVar

# Importing the plugins registers JPEG and PNG up front, so Image.open in a worker thread never has to
# run Pillow's lazy plugin discovery. MPO needs no entry of its own: Pillow opens phone MPO files
# through the JPEG opener (asking for "MPO" by name raises KeyError) and reports them as "MPO".
from PIL import Image, JpegImagePlugin, MpoImagePlugin, PngImagePlugin  # noqa: F401

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


class PreflightRefusal(Exception):
    """The file can't be used; `message` is written for the person who sent it."""

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {
            "empty",
            "too_large",
            "html_page",
            "not_an_image",
            "unsupported_format",
            "truncated",
            "decompression_bomb",
            "too_small",
        }
    )

    def __init__(self, reason: str, message: str) -> None:
        # A typo in a reason code would silently fall through callers' lookups; fail loudly instead.
        if reason not in self.REASONS:
            raise ValueError(f"unknown {type(self).__name__} reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.message!r})"


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
        raise PreflightRefusal("empty", "The file is empty (0 bytes). Please send the photo again.")
    if size > max_bytes:
        shown, limit = _sizes(size, max_bytes)
        raise PreflightRefusal(
            "too_large",
            f"This file is {shown}; the limit is {limit}. Please send a smaller version of the photo.",
        )

    head = _text_head(data)
    if _HTML_START.match(head):
        raise PreflightRefusal(
            "html_page",
            "This is a web page, not a photo — often a sign-in or preview page instead of the image "
            "itself. Please send the JPG or PNG file directly, or a link that opens the image "
            "without signing in.",
        )

    im = _open(data, max_pixels)
    with im:
        fmt = "JPEG" if im.format in ("JPEG", "MPO") else "PNG"
        declared_width, declared_height = im.size
        _check_pixels(declared_width, declared_height, max_pixels)
        if min(declared_width, declared_height) < min_side:
            # Orientation only swaps the sides, so the smaller side is known without decoding.
            width, height = _displayed_size(im, declared_width, declared_height)
            raise PreflightRefusal(
                "too_small",
                f"This image is {width}×{height} pixels; Tavus needs at least {min_side}×{min_side}. "
                "Please use a larger photo.",
            )
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
        raise PreflightRefusal(
            "unsupported_format",
            f"This file is {other}; Tavus needs a JPG or PNG. Please convert or export it as JPG or PNG "
            "and send it again.",
        )
    raise PreflightRefusal(
        "not_an_image",
        "This file isn't a picture we can read (it isn't a JPG or PNG). Please send the headshot as a "
        "JPG or PNG photo.",
    )


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise _bomb(width, height, max_pixels)


def _bomb(width: int, height: int, max_pixels: int) -> PreflightRefusal:
    if width and height:
        dimensions = f"{width}×{height} pixels ({_megapixels(width * height)})"
    else:
        dimensions = "far too many pixels"
    return PreflightRefusal(
        "decompression_bomb",
        f"This image claims to be {dimensions}, more than the {_megapixels(max_pixels)} we accept, so "
        "we didn't open it. Please export the photo at a normal size (for example 4000×3000).",
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
    name = {"JPEG": "JPG", "PNG": "PNG"}.get(fmt, fmt)
    return PreflightRefusal(
        "truncated",
        f"This {name} file is incomplete or damaged, so it can't be read to the end — it was probably "
        "cut off while uploading or downloading. Please send the original photo again.",
    )


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
    """Name formats people often send by mistake, so the message can say which one it was."""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[:2] == b"BM" and data[6:10] == b"\0\0\0\0":
        return "a BMP image"
    if data[:4] in (b"II*\0", b"MM\0*"):
        return "a TIFF (or camera RAW) image"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "a HEIC photo (the iPhone default)"
        if brand in _AVIF_BRANDS:
            return "an AVIF image"
        return "a video"
    if data[:4] == b"\0\0\1\0":
        return "an icon (ICO)"
    if data[:4] == b"8BPS":
        return "a Photoshop (PSD) file"
    if data[:5] == b"%PDF-":
        return "a PDF document"
    if data.startswith(b"\0\0\0\x0cjP  \r\n\x87\n") or data[:4] == b"\xff\x4f\xff\x51":
        return "a JPEG 2000 image"
    if data.startswith(b"\0\0\0\x0cJXL \r\n\x87\n") or data[:2] == b"\xff\x0a":
        return "a JPEG XL image"
    if _SVG_START.match(_text_head(data)):
        return "an SVG drawing"
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


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0") + " megapixels"


def _sizes(size: int, limit: int) -> tuple[str, str]:
    shown, shown_limit = _human_size(size), _human_size(limit)
    if shown == shown_limit:
        # "10 MB; the limit is 10 MB" reads as nonsense; fall back to exact counts.
        return f"{size:,} bytes", f"{limit:,} bytes"
    return shown, shown_limit


def _human_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"

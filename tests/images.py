"""Build test images in memory, including deliberately broken ones."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

from PIL import Image

from bot.photos.image_check import check_image

# Real photos, with their sources and terms in its README.
PHOTOS = Path(__file__).parent / "photos"

_EXIF_ORIENTATION = 0x0112


def _picture(width: int, height: int, *, noise: bool = False) -> Image.Image:
    if noise:
        # Random detail at a quarter of the resolution, smoothed up: compresses like a real photo
        # (a 4000×3000 one is about 6 MB), unlike flat colour or pure noise.
        small = (max(1, width // 4), max(1, height // 4))
        detail = Image.frombytes("RGB", small, os.urandom(small[0] * small[1] * 3))
        return detail.resize((width, height), Image.Resampling.BICUBIC)
    return Image.linear_gradient("L").resize((width, height)).convert("RGB")


def _exif(orientation: int | None) -> bytes:
    if orientation is None:
        return b""
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def jpeg(width: int, height: int, *, orientation: int | None = None, noise: bool = False) -> bytes:
    buf = io.BytesIO()
    _picture(width, height, noise=noise).save(buf, "JPEG", quality=90, exif=_exif(orientation))
    return buf.getvalue()


def png(width: int, height: int, *, orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    _picture(width, height).save(buf, "PNG", exif=_exif(orientation))
    return buf.getvalue()


def mpo(width: int, height: int) -> bytes:
    """A two-frame MPO, the container some phones use for their JPEGs."""
    buf = io.BytesIO()
    first = _picture(width, height)
    first.save(buf, "MPO", save_all=True, append_images=[first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    return buf.getvalue()


def other_format(fmt: str, width: int = 600, height: int = 600) -> bytes:
    buf = io.BytesIO()
    _picture(width, height).save(buf, fmt)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A few-hundred-byte PNG whose header claims width×height: only the header is ever trusted."""
    data = bytearray(png(8, 8))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims width×height."""
    data = bytearray(jpeg(16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def photo(name: str) -> Image.Image:
    path = next(PHOTOS.glob(f"{name}.*"))
    with Image.open(io.BytesIO(path.read_bytes())) as im:
        return im.convert("RGB")


def at_least_512(im: Image.Image) -> Image.Image:
    """Tavus' minimum side (preflight refuses anything smaller), reached the way a user would."""
    if min(im.size) >= 512:
        return im
    scale = 512 / min(im.size)
    return im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)


def photo_jpeg(im: Image.Image, *, orientation: int | None = None, quality: int = 92) -> bytes:
    """A real photo as the JPEG a person would send; it passes preflight (the offline check's
    precondition)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    data = buf.getvalue()
    check_image(data)  # check_photo's precondition; also proves every case is a photo Tavus would take
    return data


def two_up(left: Image.Image, right: Image.Image) -> Image.Image:
    """Two portraits side by side, as in a photo of two people."""
    right = right.resize((round(right.width * left.height / right.height), left.height))
    both = Image.new("RGB", (left.width + right.width, left.height))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    return both

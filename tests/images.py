"""Build test images in memory, including deliberately broken ones."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image

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

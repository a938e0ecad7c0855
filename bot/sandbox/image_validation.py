"""The Tavus emulator's image check (`POST /v2/faces/image-validation` and the legacy
`/v2/replicas/image-validation`) and its AI Image Fixer (`auto_fix_training_image` on create).

Like the real service, HTTP 200 means the check ran: `passed` is the verdict and `checks` lists
`{id, label, passed}`. The ids are this emulator's own and mean nothing (Tavus publishes none), so a client
can only understand a check by its label. Tests script which checks fail next, make the endpoint time out,
fail or go missing, and see the fixer turn a scripted training failure into a success.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

IMAGE_VALIDATION_SUFFIX = "/image-validation"
FACES_PATH = "/v2/faces" + IMAGE_VALIDATION_SUFFIX
LEGACY_PATH = "/v2/replicas" + IMAGE_VALIDATION_SUFFIX
PATHS = {"faces": FACES_PATH, "legacy": LEGACY_PATH}
_MAX_BODY_BYTES = 30 * 1024 * 1024
_MAX_BASE64_CHARS = 28 * 1024 * 1024
_MIME_TYPES = frozenset({"image/jpeg", "image/png"})

# Every check this emulator runs: a short name for tests, an opaque id, and a label in plain words.
CHECKS: dict[str, tuple[str, str]] = {
    "one_person": ("vx-alpha", "Only one person appears in the photo"),
    "gaze": ("vx-beta", "Subject is looking straight at the camera"),
    "head_in_frame": ("vx-gamma", "Whole head is inside the frame"),
    "quality": ("vx-delta", "Photo is sharp and well lit"),
    "pose": ("vx-epsilon", "Pose is upright and neutral"),
    "headphones": ("vx-zeta", "No headphones or earbuds"),
    "celebrity": ("vx-eta", "Not a celebrity or public figure"),
    "adult": ("vx-theta", "Subject appears to be 18 or older"),
    "human": ("vx-iota", "Subject is a real human"),
    "uncovered": ("vx-kappa", "Face is not covered or obscured"),
    "centred": ("vx-lambda", "Face is centred and clearly visible"),
}
Outage = Literal["timeout", "error", "missing"]
Endpoint = Callable[[Request, Any], Awaitable[Response]]
Wrap = Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]


@dataclasses.dataclass
class _Verdict:
    failed: frozenset[str]
    extra: tuple[dict[str, Any], ...]
    remaining: int


class ValidationEmulator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verdicts: deque[_Verdict] = deque()
        self._outages: dict[str, tuple[Outage, float]] = {}
        self.fixed = 0
        # How long each check takes to answer (a realistic latency, for the batch benchmark), and how many
        # were in flight at once at most (whether a batch floods Tavus).
        self.latency = 0.0
        self.in_flight = 0
        self.max_in_flight = 0

    # --- control -------------------------------------------------------------------------------------

    def script(
        self, *, failed: Sequence[str] = (), extra: Sequence[dict[str, Any]] = (), count: int = 1
    ) -> None:
        """The next `count` checks fail `failed` (names from CHECKS) and add `extra` checks as given."""
        unknown = set(failed) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown checks {sorted(unknown)}; known: {sorted(CHECKS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._verdicts.append(_Verdict(frozenset(failed), tuple(dict(e) for e in extra), count))

    def outage(
        self, mode: Outage | None, *, paths: Iterable[str] = ("faces", "legacy"), seconds: float = 30.0
    ) -> None:
        """Make the endpoint time out (answer only after `seconds`), fail (500) or be missing (404) on
        `paths` ("faces", "legacy"); None ends it."""
        with self._lock:
            for name in paths:
                path = PATHS[name]
                if mode is None:
                    self._outages.pop(path, None)
                else:
                    self._outages[path] = (mode, seconds)

    def set_latency(self, seconds: float) -> None:
        """Every check answers after `seconds` (0: at once)."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self.latency = seconds

    def reset(self) -> None:
        with self._lock:
            self._verdicts.clear()
            self._outages.clear()
            self.fixed = 0
            self.latency = 0.0
            self.max_in_flight = 0

    # --- the fixer, on create -------------------------------------------------------------------------

    @staticmethod
    def create_error(body: dict[str, Any]) -> str | None:
        value = body.get("auto_fix_training_image")
        if value is not None and not isinstance(value, bool):
            return "auto_fix_training_image must be a boolean"
        return None

    def fix(self, body: dict[str, Any], scripted: Any) -> Any:
        """With `auto_fix_training_image: true` on an image, a photo whose training was scripted to fail
        is fixed first, and trains."""
        if body.get("auto_fix_training_image") is not True or not body.get("train_image_url"):
            return scripted
        if scripted is None or scripted.outcome != "error":
            return scripted
        with self._lock:
            self.fixed += 1
        return dataclasses.replace(scripted, outcome="completed", error_message=None)

    # --- HTTP -----------------------------------------------------------------------------------------

    def routes(self, wrap: Wrap) -> list[Route]:
        """The two API paths (through the emulator's auth, faults and call log) and the control surface."""
        return [
            Route(FACES_PATH, wrap(self._faces), methods=["POST"]),
            Route(LEGACY_PATH, wrap(self._legacy), methods=["POST"]),
            Route("/_emulator/image-validation", self._ctl_script, methods=["POST"]),
            Route("/_emulator/image-validation/outage", self._ctl_outage, methods=["POST"]),
            Route("/_emulator/image-validation/latency", self._ctl_latency, methods=["POST", "GET"]),
        ]

    async def _faces(self, request: Request, body: Any) -> Response:
        return await self._validate(FACES_PATH, request, body, "pose_suitable_for_face")

    async def _legacy(self, request: Request, body: Any) -> Response:
        return await self._validate(LEGACY_PATH, request, body, "pose_suitable_for_replica")

    async def _validate(self, path: str, request: Request, body: Any, pose_detail: str) -> Response:
        with self._lock:
            outage = self._outages.get(path)
        if outage is not None:
            mode, seconds = outage
            if mode == "timeout":
                await asyncio.sleep(seconds)
                return JSONResponse({"message": "Gateway Timeout"}, status_code=504)
            if mode == "error":
                return JSONResponse({"message": "Internal Server Error"}, status_code=500)
            return JSONResponse({"message": "Not Found"}, status_code=404)
        if int(request.headers.get("content-length") or 0) > _MAX_BODY_BYTES:
            return JSONResponse({"message": "Request body too large"}, status_code=413)
        problem = _body_problem(body)
        if problem is not None:
            return JSONResponse({"message": problem}, status_code=400)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            latency = self.latency
        try:
            if latency:
                await asyncio.sleep(latency)
        finally:
            with self._lock:
                self.in_flight -= 1
        verdict = self._take()
        failed = verdict.failed if verdict else frozenset()
        checks = [
            {"id": check_id, "label": label, "passed": name not in failed}
            for name, (check_id, label) in CHECKS.items()
        ]
        checks.extend(verdict.extra if verdict else ())
        passed = all(bool(c.get("passed")) for c in checks)
        details = {"model": body.get("model") or "phoenix-4", pose_detail: "pose" not in failed}
        return JSONResponse({"passed": passed, "checks": checks, "details": details})

    def _take(self) -> _Verdict | None:
        with self._lock:
            if not self._verdicts:
                return None
            verdict = self._verdicts[0]
            verdict.remaining -= 1
            if verdict.remaining <= 0:
                self._verdicts.popleft()
            return verdict

    async def _ctl_script(self, request: Request) -> Response:
        try:
            self.script(**(await request.json() or {}))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def _ctl_latency(self, request: Request) -> Response:
        """POST {"seconds": 1.5} sets the latency; GET says it, and the most checks in flight at once."""
        if request.method == "POST":
            try:
                self.set_latency(float((await request.json() or {}).get("seconds", 0)))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"message": str(exc)}, status_code=400)
        with self._lock:
            return JSONResponse({"seconds": self.latency, "max_in_flight": self.max_in_flight})

    async def _ctl_outage(self, request: Request) -> Response:
        try:
            data = await request.json() or {}
            self.outage(data.pop("mode", None), **data)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})


def _body_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    image = body.get("imageBase64")
    if not isinstance(image, str) or not image:
        return "imageBase64 is required"
    if image.startswith("data:"):
        return "imageBase64 must be plain base64, without a data: prefix"
    if len(image) > _MAX_BASE64_CHARS:
        return "imageBase64 is larger than 28 MiB"
    try:
        base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        return "imageBase64 is not valid base64"
    if body.get("mimeType") not in _MIME_TYPES:
        return "mimeType must be image/jpeg or image/png"
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        return "model must be a string"
    return None

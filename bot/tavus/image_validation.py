"""Tavus' own image check, `POST /v2/faces/image-validation` (legacy alias `/v2/replicas/image-validation`).

HTTP 200 means the check ran, not that the photo passed: `passed` is the verdict and `checks` lists what
was looked at. The check ids are not published and vary by model, so every field is read tolerantly and
nothing here gives them a meaning (that is `bot.domain.image_checks`).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

from bot.tavus.client import TavusClient
from bot.tavus.errors import TavusError
from bot.tavus.paths import FACES, REPLICAS, PathFamily

_ENDPOINT = "/image-validation"
FACES_PATH = FACES.collection + _ENDPOINT
LEGACY_PATH = REPLICAS.collection + _ENDPOINT
# The documented limits: the base64 text at most 28 MiB, the whole body at most 30 MiB.
MAX_BASE64_CHARS = 28 * 1024 * 1024
MAX_BODY_BYTES = 30 * 1024 * 1024
# Room for the JSON around the base64 text (keys, MIME type, model name).
_BODY_OVERHEAD = 1024


class ImageTooLargeToValidate(TavusError):
    """The photo's base64 text would exceed what the endpoint accepts; it is not sent."""


@dataclass(frozen=True)
class ImageCheck:
    """One check Tavus ran: its id (unpublished, model-specific), its label, and whether it passed."""

    id: str
    label: str
    passed: bool


@dataclass(frozen=True)
class ImageValidation:
    passed: bool
    checks: tuple[ImageCheck, ...]

    @property
    def failed(self) -> tuple[ImageCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ImageValidation:
        checks = tuple(c for c in (_check(item) for item in _items(data.get("checks"))) if c is not None)
        passed = _flag(data.get("passed"))
        if passed is None:
            # No overall verdict: the checks are the verdict (and no checks at all is no objection).
            passed = all(check.passed for check in checks)
        return cls(passed=passed, checks=checks)


def fits(data: bytes) -> bool:
    """Whether a photo of this size can be sent within the documented limits."""
    encoded = 4 * math.ceil(len(data) / 3)
    return encoded <= MAX_BASE64_CHARS and encoded + _BODY_OVERHEAD <= MAX_BODY_BYTES


class ImageValidator:
    """Asks Tavus about one photo, on the path family the client's process speaks: a 404 on the new path
    moves the whole process to the legacy aliases, the same decision (and log line) as for faces."""

    def __init__(self, client: TavusClient) -> None:
        self._client = client

    def validate(self, data: bytes, mime_type: str, model: str) -> ImageValidation:
        """The verdict; raises TavusError (or a subclass) when the check could not run."""
        if not fits(data):
            raise ImageTooLargeToValidate(f"a {len(data)}-byte photo is over the image-validation limits")
        body = {"imageBase64": base64.b64encode(data).decode("ascii"), "mimeType": mime_type, "model": model}

        def send(family: PathFamily) -> dict[str, Any]:
            return self._client.call_json("POST", family.collection + _ENDPOINT, body)

        _, answer = self._client.paths.on_collection("POST", send)
        return ImageValidation.from_api(answer)


def _items(value: object) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        # A mapping of id → result is a shape the docs do not show, but it is unambiguous.
        return [{"id": key, **item} if isinstance(item, dict) else {"id": key, "passed": item}
                for key, item in value.items()]
    return []


def _check(item: object) -> ImageCheck | None:
    if not isinstance(item, dict):
        return None
    passed = _flag(item.get("passed"))
    if passed is None:
        return None
    raw_id, raw_label = item.get("id"), item.get("label")
    check_id = str(raw_id).strip() if raw_id is not None else ""
    label = raw_label.strip() if isinstance(raw_label, str) else ""
    if not check_id and not label:
        return None
    return ImageCheck(id=check_id, label=label or check_id, passed=passed)


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None

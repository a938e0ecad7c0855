"""Asking Tavus about a photo before a training run is spent, and carrying on without it when it cannot say.

Tavus' check is advice the requester is better off having, never a gate that can fail a request: when it
is slow, down, missing or refuses our key, the request goes on with the offline check alone. The operator
hears about an outage once, when it starts (and again only after it recovered and failed anew).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.domain.image_checks import TavusVerdict, read_verdict
from bot.tavus import TavusError
from bot.tavus.image_validation import ImageTooLargeToValidate, ImageValidator

log = logging.getLogger(__name__)


class TavusPhotoCheck:
    def __init__(
        self,
        validator: ImageValidator | None,
        *,
        on_check: Callable[[str, str], None] = lambda source, verdict: None,
    ) -> None:
        """`validator` None: switched off (TAVUS_IMAGE_VALIDATION=off). `on_check` hears each verdict
        (`tavus`, then `passed`, `failed` or `unavailable`)."""
        self._validator = validator
        self._on_check = on_check
        self._lock = threading.Lock()
        self._down = False

    @property
    def enabled(self) -> bool:
        return self._validator is not None

    def verdict(self, data: bytes, mime_type: str, model: str) -> TavusVerdict | None:
        """Tavus' verdict on the photo, or None when it was not asked or could not answer."""
        if self._validator is None:
            return None
        try:
            answer = self._validator.validate(data, mime_type, model)
        except ImageTooLargeToValidate as exc:
            log.info("not asking Tavus about this photo: %s", exc)
            return None
        except TavusError as exc:
            self._on_check("tavus", "unavailable")
            self._unavailable(exc)
            return None
        self._available()
        verdict = read_verdict(answer)
        self._on_check("tavus", "passed" if verdict.passed else "failed")
        log.info("tavus image check: %s", "passed" if verdict.passed else
                 "failed " + ", ".join(c.id or c.label for c in verdict.failed))
        return verdict

    def _unavailable(self, exc: TavusError) -> None:
        with self._lock:
            if self._down:
                return
            self._down = True
        log.warning(
            "Tavus' image check is unavailable (%s); requests go on with the offline photo check alone "
            "until it answers again", exc,
        )

    def _available(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
        log.info("Tavus' image check answers again")

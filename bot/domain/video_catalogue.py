"""Catalogue of Tavus video-training failures, in plain language.

Video failures arrive as `error_message` text only, with no code; the key of each entry is Tavus' own name
for the type on its "Errors and status details" page. Two texts share the key `video_processing`, so those
two entries are told apart by a suffix ("video_processing (face)", "video_processing (file)") that the
docs use too. The texts and our words for them are in `bot.domain.video_specs`; `bot.domain.catalogue`
consults these entries and recognises the texts with `bot.domain.video_matcher`.
"""

from __future__ import annotations

import re

from bot.domain.catalogue_entry import CatalogueEntry
from bot.domain.video_specs import (
    CONSENT_MISMATCH,
    DEFAULT_SUPPORT_EMAIL,
    DEVELOPER_SUPPORT_EMAIL,
    SHARED_OPENINGS,
    VIDEO_SPECS,
    VideoSpec,
)

__all__ = [
    "CONSENT_MISMATCH",
    "CONSENT_STATEMENT",
    "DEFAULT_SUPPORT_EMAIL",
    "DEVELOPER_SUPPORT_EMAIL",
    "SHARED_OPENINGS",
    "VIDEO_REQUIREMENTS",
    "VIDEO_SPECS",
    "VideoSpec",
    "consent_statement",
    "entries",
    "support_address",
    "tavus_key",
]

VIDEO_REQUIREMENTS_PATH = "/sections/replica/train-with-a-video"
VIDEO_REQUIREMENTS_LABEL = "Tavus video requirements"
VIDEO_REQUIREMENTS = (
    "30 s of you speaking, then 30 s of you listening quietly · 1080p · your face at least 25 % of the "
    "frame · at most 750 MB · MP4 encoded with H.264 · at least 25 fps"
)
NAME_PLACEHOLDER = "[FULL NAME]"
# Published in Tavus' own API description; it must open the training video when no consent video is sent.
CONSENT_STATEMENT = (
    "I, [FULL NAME], am currently speaking and consent Tavus to create an AI clone of me by using the audio "
    "and video samples I provide. I understand that this AI clone can be used to create videos that look "
    "and sound like me."
)
# An address ending in tavus.io, wherever Tavus put it in its message.
_TAVUS_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)*tavus\.io\b", re.I)


def entries(docs_base_url: str) -> tuple[CatalogueEntry, ...]:
    """The catalogue's entries for the video failures, linking the video requirements page."""
    url = docs_base_url.rstrip("/") + VIDEO_REQUIREMENTS_PATH
    return tuple(
        CatalogueEntry(
            code=spec.code,
            title=spec.title,
            tavus_message=spec.tavus_message,
            explanation=spec.explanation,
            advice=spec.advice,
            guideline_url=url,
            guideline_label=VIDEO_REQUIREMENTS_LABEL,
            video=True,
            support_email=spec.support_email,
        )
        for spec in VIDEO_SPECS
    )


def tavus_key(code: str) -> str:
    """Tavus' name for the type of a video entry's code (the two `video_processing` texts share one)."""
    return code.split(" ", 1)[0]


def consent_statement(full_name: str) -> str:
    return CONSENT_STATEMENT.replace(NAME_PLACEHOLDER, full_name.strip() or NAME_PLACEHOLDER)


def support_address(raw_message: str | None, documented: str) -> str:
    """The support address the message names, or the documented one when it names none."""
    found = _TAVUS_ADDRESS.search(raw_message or "")
    return found.group(0).lower() if found else documented

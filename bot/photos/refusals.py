"""Why a photo, or a link to one, cannot be used: a reason code and the measured facts behind it.

The words the requester reads are the rendering layer's (`bot.slack.render.photos`); these carry only
what was found. Facts name a link's host at most, never the whole URL: presigned links carry signatures.
"""

from __future__ import annotations

from typing import ClassVar


class PreflightRefusal(Exception):
    """The file cannot be used. `reason` is one of `REASONS`; the other attributes are the facts that
    apply to it (None where they do not)."""

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {
            "empty",
            "too_large",
            "html_page",
            "not_an_image",
            "unsupported_format",
            "truncated",
            "decompression_bomb",
            "too_small",
        }
    )

    def __init__(
        self,
        reason: str,
        *,
        size: int | None = None,
        limit: int | None = None,
        width: int | None = None,
        height: int | None = None,
        file_format: str | None = None,
        host: str | None = None,
        http_status: int | None = None,
        status_text: str = "",
        scheme: str | None = None,
        seconds: float | None = None,
        cause: str | None = None,
    ) -> None:
        # A typo in a reason code would silently fall through the renderer's lookup; fail loudly instead.
        if reason not in self.REASONS:
            raise ValueError(f"unknown {type(self).__name__} reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        # Bytes of the file, and the limit it broke: bytes, pixels on a side, megapixels or redirects,
        # depending on the reason.
        self.size = size
        self.limit = limit
        # As displayed, after EXIF rotation.
        self.width = width
        self.height = height
        # "JPEG"/"PNG" for a damaged file; what it really is for an unsupported one ("GIF", "HEIC", …).
        self.file_format = file_format
        self.host = host
        # What the link's server answered.
        self.http_status = http_status
        self.status_text = status_text
        self.scheme = scheme
        self.seconds = seconds
        # Which step failed, for reasons with several ways to happen (see `FetchRefusal`).
        self.cause = cause

    def __str__(self) -> str:
        facts = {k: v for k, v in vars(self).items() if k != "reason" and v not in (None, "")}
        return self.reason + (f" {facts}" if facts else "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self})"


class FetchRefusal(PreflightRefusal):
    """The link could not be downloaded. `download_failed` says how in `cause`: `host_not_found`,
    `unreachable`, `not_a_file` (a 3xx that is no redirect), `no_location` (a redirect to nowhere),
    `no_link` (Slack gave no download link); `bad_url` with `cause="not_slack"` is a file link that does
    not point at Slack."""

    REASONS: ClassVar[frozenset[str]] = PreflightRefusal.REASONS | {
        "bad_url",
        "bad_scheme",
        "private_address",
        "download_failed",
        "http_error",
        "too_many_redirects",
        "timeout",
    }

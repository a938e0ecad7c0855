"""Where photos uploaded to Slack are hosted so Tavus can download them: what submission needs of a store.

The stores themselves (in the database behind `/media/<token>`, or S3) are built by `bot.service.media`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class StoredMedia:
    key: str  # token (builtin) or object key (s3)
    url: str  # what Tavus gets as train_image_url
    expires_at: datetime  # tz-aware UTC


class MediaStore(Protocol):
    def put(self, data: bytes, content_type: str, *, request_id: int | None = None) -> StoredMedia: ...

    def attach(self, key: str, request_id: int) -> None: ...

    def purge_finished(self, *, retention: timedelta, now: datetime | None = None) -> int: ...

    def read(self, key: str) -> bytes | None:
        """The bytes stored under `key`, or None if they are gone."""
        ...

    def erase(self, request_ids: Sequence[int]) -> int:
        """Delete every stored photo of these requests; how many."""
        ...

"""Tavus' answers as typed values, read tolerantly: the docs disagree on status words and only promise
"a string like 37/100" for progress."""

from __future__ import annotations

import email.utils
import math
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, field_validator


class ReplicaState(StrEnum):
    TRAINING = "training"
    COMPLETED = "completed"
    ERROR = "error"


_STATUS_MAP: dict[str, ReplicaState] = {
    "started": ReplicaState.TRAINING,
    "training": ReplicaState.TRAINING,
    "queued": ReplicaState.TRAINING,
    "processing": ReplicaState.TRAINING,
    "completed": ReplicaState.COMPLETED,
    "ready": ReplicaState.COMPLETED,
    "error": ReplicaState.ERROR,
    "failed": ReplicaState.ERROR,
}


class FinetuneState(StrEnum):
    """Where phoenix-4.5's background tuning stands, once its preview is usable."""

    TUNING = "tuning"
    COMPLETED = "completed"
    ERRORED = "errored"


_FINETUNE_MAP: dict[str, FinetuneState] = {
    "completed": FinetuneState.COMPLETED,
    "complete": FinetuneState.COMPLETED,
    "errored": FinetuneState.ERRORED,
    "error": FinetuneState.ERRORED,
    "failed": FinetuneState.ERRORED,
}


def normalise_finetune(raw: object) -> FinetuneState:
    """Map `finetune_status` onto three states. Its in-progress value is not documented, so anything else
    (null, "training", a word never seen) reads as still tuning: keep polling, never announce."""
    if not isinstance(raw, str):
        return FinetuneState.TUNING
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    return _FINETUNE_MAP.get(key, FinetuneState.TUNING)


def first_str(data: dict[str, Any], *keys: str) -> str | None:
    """The first of `keys` with a value: faces and replicas name the same field differently."""
    for key in keys:
        value = optional_str(data.get(key))
        if value is not None:
            return value
    return None


def normalise_status(raw: str | None) -> ReplicaState:
    """Map Tavus' status words (old and new docs disagree) onto three states.

    Unknown words count as still training: the safe reading is "keep polling", never "done".
    """
    return _STATUS_MAP.get((raw or "").strip().lower(), ReplicaState.TRAINING)


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_FRACTION_RE = re.compile(rf"^({_NUMBER})\s*/\s*({_NUMBER})$")
_PERCENT_RE = re.compile(rf"^({_NUMBER})\s*%?$")


def parse_training_progress(value: object) -> int | None:
    """Turn ``"37/100"``, ``"37%"``, ``"37"``, ``"0.37"`` or ``37`` into 37 (clamped to 0..100).

    The docs only promise "a string like 37/100", so anything unreadable is ``None`` rather than an error.
    """
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    fraction = _FRACTION_RE.match(text)
    if fraction:
        done, total = float(fraction.group(1)), float(fraction.group(2))
        if total <= 0:
            return None
        percent = 100.0 * done / total
    else:
        match = _PERCENT_RE.match(text)
        if not match:
            return None
        percent = float(match.group(1))
        # A bare number with a decimal point no larger than 1 reads as a ratio ("0.37"), but "1" alone
        # is far more likely to mean 1 % than "finished".
        if not text.endswith("%") and "." in text and percent <= 1.0:
            percent *= 100.0
    if not math.isfinite(percent):
        return None
    # Floor, so 99.6 % never reads as 100 % before Tavus says the replica is complete.
    return max(0, min(100, math.floor(percent + 1e-9)))


def parse_timestamp(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def optional_str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text else None


class Replica(BaseModel):
    replica_id: str
    replica_name: str | None = None
    status: ReplicaState
    raw_status: str
    training_progress: str | None = None
    progress_percent: int | None = None
    error_message: str | None = None
    thumbnail_video_url: str | None = None
    model_name: str | None = None
    # phoenix-4.5 only; kept as Tavus wrote it (`finetune_state` reads it).
    finetune_status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("created_at", "updated_at")
    @classmethod
    def _assume_utc(cls, value: datetime | None) -> datetime | None:
        # Naive datetimes break timezone-aware columns downstream (see pitfalls.md).
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def finetune_state(self) -> FinetuneState:
        return normalise_finetune(self.finetune_status)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Replica:
        """Build from a Tavus face or replica object (either family's names), tolerating missing or oddly
        typed fields."""
        raw_status = optional_str(data.get("status")) or ""
        progress = optional_str(data.get("training_progress"))
        return cls(
            replica_id=first_str(data, "face_id", "replica_id") or "",
            replica_name=first_str(data, "face_name", "replica_name"),
            status=normalise_status(raw_status),
            raw_status=raw_status,
            training_progress=progress,
            progress_percent=parse_training_progress(progress),
            error_message=optional_str(data.get("error_message")),
            thumbnail_video_url=optional_str(data.get("thumbnail_video_url")),
            model_name=optional_str(data.get("model_name")),
            finetune_status=optional_str(data.get("finetune_status")),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
        )


class CreatedReplica(BaseModel):
    replica_id: str
    status: ReplicaState
    raw_status: str

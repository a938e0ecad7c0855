"""Tables of what the bot runs with a finished face at someone's click in its thread: sample videos and
test calls (`FaceJob`), and what it made in Tavus once to reuse (`TavusObject`). Every datetime is
timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


class JobKind(StrEnum):
    """What Tavus runs with a finished face, at someone's click in its thread."""

    VIDEO = "video"
    CALL = "call"


class VideoStatus(StrEnum):
    # Written before Tavus is called: a crash mid-create leaves a row to reconcile, never a second video.
    CREATING = "creating"
    # Tavus has it (queued or generating): polled, with callbacks as the fast path.
    GENERATING = "generating"
    READY = "ready"
    FAILED = "failed"
    # Deleted in Tavus before it was ready.
    DELETED = "deleted"
    # Tavus refused the create (a 4xx), or stayed unreachable: nothing is made, nothing is spent.
    REFUSED = "refused"
    NOT_MADE = "not_made"


class CallStatus(StrEnum):
    CREATING = "creating"
    # The conversation exists (and is billed) until it ends; polled so its end is said once.
    LIVE = "live"
    ENDED = "ended"
    REFUSED = "refused"
    NOT_STARTED = "not_started"


# Jobs that cost nothing: they never count against a face's allowance.
UNSPENT = (VideoStatus.REFUSED, VideoStatus.NOT_MADE, CallStatus.REFUSED, CallStatus.NOT_STARTED)


class FaceJob(SQLModel, table=True):
    """A sample video or a test call of a finished face: like the face's training, recorded before Tavus
    is called, followed with polls (callbacks are the fast path) and told in the face's thread."""

    __tablename__ = "face_job"
    __table_args__ = (
        Index("ix_face_job_due", "kind", "status", "next_poll_at"),
        UniqueConstraint("kind", "tavus_id", name="uq_face_job_tavus_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    # The face's own request: its thread is where the job is told, its card's channel where it is asked.
    request_id: int = Field(foreign_key="replica_request.id", index=True)
    replica_id: str
    asked_by: str
    # Where the person clicked (or typed): the call's link goes to them there, privately.
    asked_in: str
    status: str
    # Held while the job runs, cleared when it ends; unique, so one of each at a time: one call per face,
    # one video of the same script per face (a double click, a double submit, a Slack retry).
    active_key: str | None = Field(default=None, unique=True)
    callback_token: str = Field(unique=True)
    # The video's or the conversation's id in Tavus.
    tavus_id: str | None = None
    script: str | None = Field(default=None, sa_column=Column(Text))
    # Where the video can be watched, and its thumbnail (GIF or still).
    video_url: str | None = Field(default=None, sa_column=Column(Text))
    thumbnail_url: str | None = Field(default=None, sa_column=Column(Text))
    # The call's link: only ever sent to the person who asked, never posted.
    join_url: str | None = Field(default=None, sa_column=Column(Text))
    generation_progress: str | None = None
    # Tavus' words about a video that failed, or the stored reason a create did not happen.
    status_details: str | None = Field(default=None, sa_column=Column(Text))
    create_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # When Tavus took it, when it ended, and (a call) when the bot ends it if Tavus has not.
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    ends_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_poll_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_polled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    @property
    def subject(self) -> str:
        """How the job's posts are told apart in the outbox: `video:17`."""
        return f"{self.kind}:{self.id}"


class TavusObject(SQLModel, table=True):
    """Something made in Tavus once and reused by every process (the small PAL test calls talk with)."""

    __tablename__ = "tavus_object"

    key: str = Field(primary_key=True)
    tavus_id: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))

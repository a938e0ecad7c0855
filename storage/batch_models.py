"""Tables of a batch: many replica requests asked for at once (a CSV, or a handful of photos), checked
together, submitted with one click and followed on one card (`Batch`), row by row (`BatchRow`). Every
datetime is timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


class BatchStatus(StrEnum):
    # Written before the ack: the file is read, then every row is checked (none is submitted).
    CHECKING = "checking"
    # Every row checked: waiting for Submit (the requester or an admin) or Cancel.
    CHECKED = "checked"
    # Submit was clicked and an approver must agree first (one decision for the whole batch).
    AWAITING_APPROVAL = "awaiting_approval"
    # Each ready row is an ordinary request now, linked to the batch.
    SUBMITTED = "submitted"
    # Every row has ended (ready or not); the summary is posted.
    FINISHED = "finished"
    # Cancelled before anything was submitted, or denied (or not approved in time).
    CANCELLED = "cancelled"
    # The file could not be read as a batch at all (not a CSV, no header, too big …).
    REFUSED = "refused"


BATCH_ENDED = (BatchStatus.FINISHED, BatchStatus.CANCELLED, BatchStatus.REFUSED)


class RowVerdict(StrEnum):
    """What checking a row found (None while it waits to be checked)."""

    READY = "ready"
    ATTENTION = "attention"


class Batch(SQLModel, table=True):
    __tablename__ = "batch"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str | None = None
    channel_id: str
    requester_id: str = Field(index=True)
    # The thread of the message that brought the file (a mention, a DM); None: the card starts its own.
    thread_ts: str | None = None
    # The CSV as Slack holds it, read after the ack (again after a crash); None for photos or pasted rows.
    file_id: str | None = None
    file_name: str | None = None
    # For photos: the one voice and model of every row (a CSV row may name its own).
    voice_name: str | None = None
    model_name: str | None = None
    status: str = Field(index=True)
    # How many rows the file had; None until it is read.
    total: int | None = None
    # Why the file could not be read (`BatchStatus.REFUSED`), as the domain stores it.
    refusal: str | None = Field(default=None, sa_column=Column(Text))
    # The batch message: one card, kept current; its thread takes the batch's posts.
    card_channel_id: str | None = None
    card_ts: str | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    cancelled_by: str | None = None
    # One approver's decision for the whole batch ("asked", "approved", "denied", "expired").
    approval_status: str | None = None
    approval_by: str | None = None
    approval_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    approval_reason: str | None = Field(default=None, sa_column=Column(Text))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Held while a worker reads the file.
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    @property
    def public_id(self) -> str:
        """How people name a batch (`/replica status b12`)."""
        return f"b{self.id}"


class BatchRow(SQLModel, table=True):
    """One row of a batch as it was given, what checking it found, and (once submitted) its request."""

    __tablename__ = "batch_row"
    __table_args__ = (UniqueConstraint("batch_id", "row_number", name="uq_batch_row_number"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    # As a person counts it: the CSV's line of the row (the header is row 1), or the photo's place.
    row_number: int
    name: str
    photo_url: str | None = Field(default=None, sa_column=Column(Text))
    # A photo uploaded in the batch form (its Slack file id), instead of a link.
    slack_file_id: str | None = None
    voice_name: str | None = None
    model_name: str | None = None
    # The `for` cell as typed, and whose face it names once read (`Likeness`; a colleague's user id).
    for_cell: str | None = Field(default=None, sa_column=Column(Text))
    likeness: str | None = None
    depicted_id: str | None = Field(default=None, index=True)
    verdict: str | None = None
    # Why the row needs attention: the column and the reason, as the domain stores them.
    problem: str | None = Field(default=None, sa_column=Column(Text))
    # What the checks learned, carried into the request: the offline check's findings, Tavus' verdict,
    # the hosted copy of an uploaded photo.
    preflight_findings: str | None = None
    tavus_verdict: str | None = Field(default=None, sa_column=Column(Text))
    tavus_checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    photo_key: str | None = None
    train_image_url: str | None = Field(default=None, sa_column=Column(Text))
    checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The request the row became after Submit (exactly one: unique).
    request_id: int | None = Field(default=None, foreign_key="replica_request.id", unique=True)
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

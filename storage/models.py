"""Tables. Every datetime is timezone-aware UTC (sqlmodel rejects naive ones)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, LargeBinary, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for statements that need its columns."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware on the way in and out. SQLite stores no offset and hands back naive values, which
    would then fail to compare with `utcnow()`; PostgreSQL keeps the offset anyway."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use storage.models.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RequestStatus(StrEnum):
    # Acknowledged in Slack, photo not checked yet: written before the ack, so a crash while the photo is
    # downloaded and checked cannot lose the request (SubmissionService.claim_received picks it up).
    RECEIVED = "received"
    # The row exists before Tavus is called, so a crash mid-create leaves a trace to reconcile.
    SUBMITTING = "submitting"
    TRAINING = "training"
    # phoenix-4.5: the watermarked preview is usable while tuning goes on for hours (still polled).
    PREVIEW_READY = "preview_ready"
    COMPLETED = "completed"
    FAILED = "failed"
    # Tavus refused the request or stayed unreachable: nothing is training, nothing to poll.
    SUBMIT_FAILED = "submit_failed"
    # Waiting for the requester to confirm something (rights to the likeness, consent in the video).
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    # Deleted in Tavus at the requester's (or an admin's) request.
    DELETED = "deleted"
    # The colleague in the photo was asked in a DM; nothing of the photo has reached Tavus.
    AWAITING_CONSENT = "awaiting_consent"
    # An approver must agree before the team's credits are spent; the checks have run.
    AWAITING_APPROVAL = "awaiting_approval"
    # The person in the photo said no; the photo was purged.
    DECLINED = "declined"
    # An approver said no, with a reason the requester sees.
    DENIED = "denied"
    # Nobody answered within CONSENT_EXPIRES_HOURS / APPROVAL_EXPIRES_HOURS.
    EXPIRED = "expired"


IN_FLIGHT = (RequestStatus.TRAINING, RequestStatus.PREVIEW_READY)
TERMINAL = (
    RequestStatus.COMPLETED,
    RequestStatus.FAILED,
    RequestStatus.SUBMIT_FAILED,
    RequestStatus.DELETED,
    RequestStatus.DECLINED,
    RequestStatus.DENIED,
    RequestStatus.EXPIRED,
)
# Ended by someone else's "no" (or nobody's answer): the photo is purged at once.
REFUSED_BY_OTHERS = (RequestStatus.DECLINED, RequestStatus.DENIED, RequestStatus.EXPIRED)
# Waiting for someone other than the requester to answer; each wait expires.
WAITING_FOR_OTHERS = (RequestStatus.AWAITING_CONSENT, RequestStatus.AWAITING_APPROVAL)


class Likeness(StrEnum):
    """Whose face a request is of."""

    SELF = "self"
    COLLEAGUE = "colleague"
    # Someone outside the workspace, or a synthetic character.
    OUTSIDE = "outside"


class ReplicaRequest(SQLModel, table=True):
    __tablename__ = "replica_request"
    __table_args__ = (Index("ix_replica_request_due", "status", "next_poll_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str | None = None
    channel_id: str = Field(index=True)
    requester_id: str = Field(index=True)
    replica_name: str
    voice_name: str | None = None
    source_url: str | None = Field(default=None, sa_column=Column(Text))
    # Where the photo came from when it was uploaded to Slack (file id), for retries and auditing.
    slack_file_id: str | None = None
    thread_ts: str | None = None
    # Who affirmed the rights to this likeness (and consent for video), and when: kept as the record.
    rights_affirmed_by: str | None = None
    rights_affirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    retry_of: int | None = Field(default=None, foreign_key="replica_request.id")
    train_image_url: str | None = Field(default=None, sa_column=Column(Text))
    train_video_url: str | None = Field(default=None, sa_column=Column(Text))
    consent_video_url: str | None = Field(default=None, sa_column=Column(Text))

    status: str = Field(default=RequestStatus.SUBMITTING, index=True)
    replica_id: str | None = Field(default=None, unique=True)
    training_progress: str | None = None
    progress_percent: int | None = None
    error_code: str | None = None
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    submit_error: str | None = Field(default=None, sa_column=Column(Text))
    thumbnail_video_url: str | None = Field(default=None, sa_column=Column(Text))

    card_channel_id: str | None = None
    card_ts: str | None = None
    callback_token: str = Field(unique=True)
    idempotency_key: str = Field(unique=True)

    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_polled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # When training_progress last changed: a long stall earns one reassuring notice.
    progress_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # What the offline photo check found (finding kinds, comma-separated; "" for a clean photo), kept to
    # measure later how often it predicted Tavus' verdict.
    preflight_findings: str | None = None
    # Tavus' own image check (JSON: the verdict and every check, with the code each was matched to); None
    # when it was not asked or could not answer.
    tavus_verdict: str | None = Field(default=None, sa_column=Column(Text))
    # What was chosen after Tavus' check failed ("anyway", or "auto_fix" for Tavus' AI Image Fixer), by
    # whom (the requester or an admin) and when: kept as the record.
    photo_choice: str | None = None
    photo_choice_by: str | None = None
    photo_choice_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    deleted_by: str | None = None
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_poll_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The model the face is trained with, chosen when the request was made (phoenix-4.5 has two stages).
    model_name: str | None = None
    # phoenix-4.5's tuning, as Tavus last reported it ("completed", "errored", or still tuning).
    finetune_status: str | None = None
    # When the phoenix-4.5 preview became usable.
    preview_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    # Whose face it is (`Likeness`; None until the requester says) and, for a colleague, who.
    likeness: str | None = None
    depicted_id: str | None = Field(default=None, index=True)
    # The colleague's answer ("allowed", "declined", "expired"; "asked" while waiting), who gave it
    # (always the depicted person) and when, with the note they may add to a "no".
    consent_status: str | None = None
    consent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    consent_note: str | None = Field(default=None, sa_column=Column(Text))
    # The approvers' decision ("approved", "denied", "expired"; "asked" while waiting), by whom, when, why.
    approval_status: str | None = None
    approval_by: str | None = None
    approval_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    approval_reason: str | None = Field(default=None, sa_column=Column(Text))
    # When the current wait for someone else's answer runs out.
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # When the photo passed the local checks (a request resumed after an answer goes on from there), and
    # when the requester saw what the offline photo check doubted and chose to go on.
    checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    findings_accepted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Set once Tavus' image check has been asked (whatever it said, or that it could not say), so a
    # request resumed after an answer asks it once.
    tavus_checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The photo the bot hosts for this request (its media key) and a small copy shown to the people asked.
    photo_key: str | None = None
    thumbnail_url: str | None = Field(default=None, sa_column=Column(Text))
    # The batch this request is a row of (`storage.batch_models`): no card of its own, its posts go in the
    # batch message's thread.
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)


class OutboxKind(StrEnum):
    # One card row per request, re-armed on every change: delivery renders the latest state, so a burst
    # of progress changes coalesces into one chat.update.
    CARD = "card"
    FAILURE = "failure"
    COMPLETION = "completion"
    STUCK = "stuck"
    # phoenix-4.5's two stages: the preview is usable; tuning finished (watermark gone) or failed.
    PREVIEW_READY = "preview_ready"
    TUNED = "tuned"
    TUNING_FAILED = "tuning_failed"
    # A short DM to the requester pointing at the failure/completion post; queued with it, sent after it.
    REQUESTER_DM = "requester_dm"
    # The colleague in the photo is asked in a DM (Allow / Decline); edited to say what was decided.
    CONSENT_ASK = "consent_ask"
    # One per approver (a DM), or one post in APPROVAL_CHANNEL; edited to say who decided what.
    APPROVAL_ASK = "approval_ask"
    # In the request's thread: the colleague said no (and, later, the note they added).
    DECLINED = "declined"
    DECLINE_NOTE = "decline_note"
    # In the request's thread: an approver said no, and why.
    DENIED = "denied"
    # In the request's thread: nobody answered in time.
    EXPIRED = "expired"
    # In the request's thread: the DM to the colleague could not be sent (whom to ask instead, and how).
    CONSENT_UNREACHABLE = "consent_unreachable"
    # Trying a face out, in its request's thread (`subject` names the job: "video:17", "call:4").
    VIDEO_STARTED = "video_started"
    VIDEO_READY = "video_ready"
    VIDEO_FAILED = "video_failed"
    VIDEO_DELETED = "video_deleted"
    VIDEO_NOT_MADE = "video_not_made"
    CALL_STARTED = "call_started"
    CALL_ENDED = "call_ended"
    CALL_NOT_STARTED = "call_not_started"
    # A batch (`batch_id`, no request): its one card, the approvers' messages for it, the summary in its
    # thread once every row has ended, the requester's one DM, and an approver's no.
    BATCH_CARD = "batch_card"
    BATCH_APPROVAL_ASK = "batch_approval_ask"
    BATCH_SUMMARY = "batch_summary"
    BATCH_DM = "batch_dm"
    BATCH_DENIED = "batch_denied"


# The cards: one message per request (or batch), edited in place, refreshed within chat.update's budget.
CARDS = (OutboxKind.CARD, OutboxKind.BATCH_CARD)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Slack said no for good (e.g. channel gone); kept for the operator, never retried.
    DEAD = "dead"
    # The channel refused it for good, so it went to the requester's DM instead (see fallback_*).
    SENT_VIA_FALLBACK = "sent_via_fallback"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # The request it is about; None for a batch's own rows (its card, summary, DM).
    request_id: int | None = Field(default=None, foreign_key="replica_request.id", index=True)
    # Set for everything posted where a batch is followed: the batch's own rows, and the thread posts of
    # its requests (they have no card: their posts go in the batch message's thread).
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    # When several rows' posts of one kind and cause are told in one post (many failures at once): the
    # outbox id of the row whose post carries them all.
    group_lead: int | None = None
    kind: str
    # Which one, where a request has several rows of one kind (one per approver, per sample video, …);
    # None for the kinds a request has once.
    subject: str | None = None
    # Where it goes when not into the request's own card or thread: a user (their DM) or a channel.
    recipient: str | None = None
    # Unique per request, kind and subject: a failure or completion can be queued only once, whatever
    # races.
    dedupe_key: str = Field(unique=True)
    status: str = Field(default=OutboxStatus.PENDING)
    version: int = 1
    delivered_version: int = 0
    # Posts sent to Slack (an attempt may have landed even if we never heard back) vs. errors seen.
    attempts: int = 0
    failures: int = 0
    # When the latest post was sent: a look for it after a crash reads the channel around this moment only.
    attempted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    slack_ts: str | None = None
    # Where a message sent to a `recipient` was posted (a user's DM channel), so it can be edited later.
    posted_channel_id: str | None = None
    # Set when the channel refused the post for good (channel_not_found, is_archived, …): from then on it
    # goes to the requester's DM (fallback_channel_id, once opened) and never to the channel again.
    fallback_reason: str | None = None
    fallback_channel_id: str | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Decision(SQLModel, table=True):
    """Every decision about whose face a request is and whether it may be made: who, what, when, and for
    which request. Written in the same transaction as the move it caused; the audit reads it."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="replica_request.id", index=True)
    # likeness, consent, approval or cancel.
    topic: str
    # What was decided: self/colleague/outside; allowed/declined; approved/denied; expired; cancelled.
    outcome: str
    # Who decided (None when the wait expired).
    by_user: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class SlackBudget(SQLModel, table=True):
    """What one Slack rate limit has left, shared by every process on the database: per workspace and
    method (and channel, for chat.postMessage). `tat` is the generic cell rate algorithm's theoretical
    arrival time; `paused_until` is a Retry-After Slack gave. Both are epoch seconds."""

    __tablename__ = "slack_budget"

    key: str = Field(primary_key=True)
    tat: float = 0.0
    paused_until: float = 0.0


class MediaObject(SQLModel, table=True):
    """A photo the bot hosts for Tavus (built-in media store). Kept in the database so every process behind
    the load balancer can serve it."""

    __tablename__ = "media_object"

    # token_urlsafe(32): 256 bits, unguessable, and the only key a URL carries.
    token: str = Field(primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="replica_request.id", index=True)
    content_type: str
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class SeenEvent(SQLModel, table=True):
    """Slack deliveries already acted on: by event_id, and by channel+ts of an uploaded message, so retries
    and the app_mention/message twins of one upload start one request, across processes and restarts."""

    __tablename__ = "seen_event"

    key: str = Field(primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )

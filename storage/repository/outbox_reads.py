"""What delivery reads from the outbox: each row with what rendering it needs, the order rows are delivered
in and where each goes, and which workspaces have card edits due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.batch_models import Batch
from storage.db import session_scope
from storage.job_models import FaceJob, JobKind
from storage.models import CARDS, OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, table, utcnow
from storage.repository.leases import ANY_TEAM

_requests = table(ReplicaRequest)
_outbox = table(OutboxMessage)
_batches = table(Batch)


class ForDelivery(NamedTuple):
    """An outbox row and what rendering it reads: its request, for a card the failed request it retries
    (its card links back), for a post about a sample video or a test call the job its subject names, and
    for anything posted where a batch is followed, the batch (a batch's own rows have no request)."""

    row: OutboxMessage
    request: ReplicaRequest | None
    original: ReplicaRequest | None = None
    job: FaceJob | None = None
    batch: Batch | None = None


def load_for_delivery(engine: Engine, outbox_id: int) -> ForDelivery | None:
    with session_scope(engine) as session:
        row = session.get(OutboxMessage, outbox_id)
        if row is None:
            return None
        request = session.get(ReplicaRequest, row.request_id) if row.request_id is not None else None
        batch = session.get(Batch, row.batch_id) if row.batch_id is not None else None
        if request is None and batch is None:
            return None
        original = (
            session.get(ReplicaRequest, request.retry_of)
            if request is not None and row.kind == OutboxKind.CARD and request.retry_of
            else None
        )
        return ForDelivery(row, request, original, _job_named(session, row.subject), batch)


def _job_named(session: Session, subject: str | None) -> FaceJob | None:
    """The job a subject like `video:17` names, if it is one."""
    kind, _, job_id = (subject or "").partition(":")
    if kind not in set(JobKind) or not job_id.isdigit():
        return None
    job = session.get(FaceJob, int(job_id))
    return job if job is not None and job.kind == kind else None


def in_delivery_order(engine: Engine, outbox_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(outbox id, where it goes) for these rows, in the order they are delivered: where it goes is the
    channel of the request's card (or of the batch's, for anything posted where a batch is followed), or
    `dm:<user>` for a note to the requester.

    Posts under cards already in Slack come first: an outcome under a card people are watching never
    waits behind cards for newer requests. Then each new card, followed at once by its own thread posts
    (they need its ts)."""
    if not outbox_ids:
        return []
    in_batch = _outbox.c.batch_id.is_not(None)
    card_posted = sa.or_(
        sa.and_(in_batch, _batches.c.card_ts.is_not(None)),
        sa.and_(~in_batch, _requests.c.card_ts.is_not(None)),
    )
    channel = sa.case(
        (in_batch, sa.func.coalesce(_batches.c.card_channel_id, _batches.c.channel_id)),
        else_=sa.func.coalesce(_requests.c.card_channel_id, _requests.c.channel_id),
    )
    requester = sa.case((in_batch, _batches.c.requester_id), else_=_requests.c.requester_id)
    statement = (
        sa.select(_outbox.c.id, _outbox.c.kind, channel, requester, _outbox.c.recipient)
        .select_from(
            _outbox.outerjoin(_requests, _requests.c.id == _outbox.c.request_id).outerjoin(
                _batches, _batches.c.id == _outbox.c.batch_id
            )
        )
        .where(_outbox.c.id.in_(list(outbox_ids)))
        .order_by(
            sa.case((card_posted, 0), else_=1),
            # A batch's rows stay together like a request's (negative: batch and request ids never meet).
            sa.case((card_posted, 0), (in_batch, -_outbox.c.batch_id), else_=_outbox.c.request_id),
            sa.case((_outbox.c.kind.in_([k.value for k in CARDS]), 0), else_=1),
            _outbox.c.id,
        )
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return [(row[0], _destination(row[1], row[4], str(row[2]), str(row[3]))) for row in rows]


_TO_REQUESTER = (OutboxKind.REQUESTER_DM, OutboxKind.BATCH_DM)


def _destination(kind: str, recipient: str | None, channel: str, requester: str) -> str:
    if recipient is not None:
        return f"dm:{recipient}" if recipient[:1] in ("U", "W") else recipient
    return f"dm:{requester}" if kind in _TO_REQUESTER else channel


def teams_with_due_refreshes(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """The workspaces (team ids, `leases.ANY_TEAM` for requests without one) with card edits due."""
    due = sa.and_(
        _outbox.c.status == OutboxStatus.PENDING.value, _outbox.c.next_attempt_at <= (now or utcnow())
    )
    cards = (
        sa.select(sa.func.coalesce(_requests.c.team_id, ANY_TEAM))
        .join(_requests, _requests.c.id == _outbox.c.request_id)
        .where(due, _outbox.c.kind == OutboxKind.CARD.value, _requests.c.card_ts.is_not(None))
    )
    batch_cards = (
        sa.select(sa.func.coalesce(_batches.c.team_id, ANY_TEAM))
        .join(_batches, _batches.c.id == _outbox.c.batch_id)
        .where(due, _outbox.c.kind == OutboxKind.BATCH_CARD.value, _batches.c.card_ts.is_not(None))
    )
    with engine.connect() as connection:
        return sorted({str(row[0]) for row in connection.execute(sa.union(cards, batch_cards))})


def outcome_post(engine: Engine, request_id: int) -> OutboxMessage | None:
    """The failure, completion or (phoenix-4.5) preview post queued for a request, if any."""
    kinds = [OutboxKind.FAILURE.value, OutboxKind.COMPLETION.value, OutboxKind.PREVIEW_READY.value]
    statement = select(OutboxMessage).where(
        OutboxMessage.request_id == request_id, col(OutboxMessage.kind).in_(kinds)
    )
    with session_scope(engine) as session:
        return session.exec(statement).first()

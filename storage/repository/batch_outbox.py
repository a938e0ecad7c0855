"""What delivery records about a batch's messages: where its card is, and posts that tell several rows at
once (many failures of one cause: one post, not one each, so the channel's posting limit never holds an
explanation back for long).

A group is written down before its post is made (`group_lead` on each row it tells), so a post retried
after a crash tells the same rows, and each row is told once: by its own post, or by its group's.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage.batch_models import Batch
from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, table, utcnow
from storage.repository.outbox import record_outbox_sent

_outbox = table(OutboxMessage)
_batches = table(Batch)
_requests = table(ReplicaRequest)

# Rows one post tells at most: past this, the next rows of the same cause make another post.
GROUP_LIMIT = 100


def record_card(
    engine: Engine,
    outbox_id: int,
    *,
    ts: str,
    rendered_version: int,
    batch_id: int,
    channel: str,
    moved: bool = False,
    fallback_channel: str | None = None,
) -> None:
    """Mark the batch's card delivered and remember where it is (the first post wins unless it `moved`
    to the requester's DM), in one transaction."""
    placed = update(_batches).where(_batches.c.id == batch_id).values(card_channel_id=channel, card_ts=ts)
    if not moved:
        placed = placed.where(_batches.c.card_ts.is_(None))
    with engine.begin() as connection:
        connection.execute(placed)
        record_outbox_sent(
            connection, outbox_id, ts=ts, rendered_version=rendered_version, fallback_channel=fallback_channel
        )


def gather(engine: Engine, lead: OutboxMessage, *, owner: str, lease_seconds: float, grow: bool) -> list[int]:
    """The rows the post of `lead` tells, in order: its group as written down, and (`grow`: nothing of it
    was posted yet) every other pending row of the same batch, kind and cause (the request's error code)
    that no other worker holds, up to GROUP_LIMIT. They are leased to `owner` with the lead."""
    assert lead.id is not None
    now = utcnow()
    mine = sa.or_(
        _outbox.c.lease_until.is_(None), _outbox.c.lease_until < now, _outbox.c.lease_owner == owner
    )
    in_group = sa.select(_outbox.c.id).where(_outbox.c.group_lead == lead.id).order_by(_outbox.c.id)
    with engine.begin() as connection:
        told = [int(row[0]) for row in connection.execute(in_group)]
        room = GROUP_LIMIT - max(len(told), 1)
        if grow and room > 0:
            cause = sa.select(sa.func.coalesce(_requests.c.error_code, "")).where(
                _requests.c.id == lead.request_id
            )
            same_cause = sa.exists().where(
                _requests.c.id == _outbox.c.request_id,
                sa.func.coalesce(_requests.c.error_code, "") == cause.scalar_subquery(),
            )
            joinable = sa.and_(
                _outbox.c.batch_id == lead.batch_id,
                _outbox.c.kind == lead.kind,
                _outbox.c.status == OutboxStatus.PENDING.value,
                _outbox.c.id != lead.id,
                _outbox.c.group_lead.is_(None),
                mine,
                same_cause,
            )
            candidates = sa.select(_outbox.c.id).where(joinable).order_by(_outbox.c.id).limit(room)
            chosen = [row[0] for row in connection.execute(candidates)]
            lease = {"lease_owner": owner, "lease_until": now + timedelta(seconds=lease_seconds)}
            # The conditions again: a row another worker grouped meanwhile is left to it (as a claim is
            # exclusive, `storage.repository.leases`).
            connection.execute(
                update(_outbox)
                .where(sa.or_(_outbox.c.id == lead.id, sa.and_(_outbox.c.id.in_(chosen), joinable)))
                .values(group_lead=lead.id, **lease)
            )
            told = [int(row[0]) for row in connection.execute(in_group)]
    return told or [lead.id]


def group(engine: Engine, lead_id: int) -> list[tuple[OutboxMessage, ReplicaRequest]]:
    """The rows the post of `lead_id` tells, with their requests, in the order of the requests."""
    statement = (
        select(OutboxMessage, ReplicaRequest)
        .join(ReplicaRequest, col(OutboxMessage.request_id) == col(ReplicaRequest.id))
        .where(sa.or_(col(OutboxMessage.group_lead) == lead_id, col(OutboxMessage.id) == lead_id))
        .order_by(col(ReplicaRequest.id))
    )
    with session_scope(engine) as session:
        return [(row, request) for row, request in session.exec(statement).all()]


def posted(engine: Engine, batch_id: int, kind: OutboxKind) -> OutboxMessage | None:
    """The batch's own message of `kind` (its summary, say), if it was queued."""
    statement = select(OutboxMessage).where(
        col(OutboxMessage.batch_id) == batch_id,
        col(OutboxMessage.request_id).is_(None),
        col(OutboxMessage.kind) == kind.value,
    )
    with session_scope(engine) as session:
        return session.exec(statement).first()

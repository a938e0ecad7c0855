"""Replica requests: reads, new rows, and the one statement that changes a request's status.

`transition` is a compare-and-set (`storage.repository.moves`): it moves a request only from the statuses it
names, and queues the notifications that change causes in the same transaction. Two workers recording the
same change (a callback and a sweep, two processes) cannot both succeed: the second finds the status moved
on, and the outbox's unique key refuses a notification queued twice. Which transitions exist is decided by
`bot.domain.lifecycle`, the only caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.batch_models import BatchRow
from storage.db import affected, session_scope
from storage.group_insert import GroupInsert
from storage.models import (
    WAITING_FOR_OTHERS,
    Decision,
    OutboxKind,
    OutboxMessage,
    ReplicaRequest,
    RequestStatus,
    table,
)
from storage.repository import moves
from storage.repository.outbox import BATCH_CARD, Queued, arm

_requests = table(ReplicaRequest)
_rows = table(BatchRow)


def get(engine: Engine, request_id: int) -> ReplicaRequest | None:
    with session_scope(engine) as session:
        return session.get(ReplicaRequest, request_id)


def get_many(engine: Engine, request_ids: Sequence[int]) -> list[ReplicaRequest]:
    """The requests that still exist, oldest first."""
    if not request_ids:
        return []
    statement = (
        select(ReplicaRequest)
        .where(col(ReplicaRequest.id).in_(list(request_ids)))
        .order_by(col(ReplicaRequest.created_at), col(ReplicaRequest.id))
    )
    with session_scope(engine) as session:
        return list(session.exec(statement).all())


def find_by_replica_id(engine: Engine, replica_id: str) -> ReplicaRequest | None:
    statement = select(ReplicaRequest).where(ReplicaRequest.replica_id == replica_id)
    with session_scope(engine) as session:
        return session.exec(statement).first()


def known_replica_ids(engine: Engine, replica_ids: Sequence[str]) -> set[str]:
    """Which of these replica ids already belong to a request."""
    if not replica_ids:
        return set()
    statement = select(ReplicaRequest.replica_id).where(col(ReplicaRequest.replica_id).in_(list(replica_ids)))
    with session_scope(engine) as session:
        return {replica_id for replica_id in session.exec(statement).all() if replica_id is not None}


def request_id_for_callback(engine: Engine, token: str) -> int | None:
    statement = select(ReplicaRequest.id).where(ReplicaRequest.callback_token == token)
    with session_scope(engine) as session:
        return session.exec(statement).first()


def recent(
    engine: Engine,
    *,
    requester_id: str | None = None,
    statuses: Sequence[str] | None = None,
    limit: int = 25,
) -> list[ReplicaRequest]:
    """Newest first: one requester's (or everyone's, for admins), optionally only some statuses."""
    statement = select(ReplicaRequest)
    if requester_id is not None:
        statement = statement.where(ReplicaRequest.requester_id == requester_id)
    if statuses is not None:
        statement = statement.where(col(ReplicaRequest.status).in_([str(s) for s in statuses]))
    statement = statement.order_by(col(ReplicaRequest.created_at).desc(), col(ReplicaRequest.id).desc())
    with session_scope(engine) as session:
        return list(session.exec(statement.limit(limit)).all())


def group_inserter(engine: Engine) -> GroupInsert:
    """Inserts of new request rows that arrive at the same moment share one transaction."""
    return GroupInsert(engine, _requests)


def insert(engine: Engine, values: Mapping[str, Any]) -> ReplicaRequest:
    with session_scope(engine) as session:
        request = ReplicaRequest(**values)
        session.add(request)
        session.flush()
        return request


def insert_for_row(
    engine: Engine, values: Mapping[str, Any], row_id: int, *, decision: Mapping[str, Any] | None = None
) -> ReplicaRequest | None:
    """The request a batch row becomes, linked to the row in the same transaction, and the batch's card
    re-rendered: exactly one per row (None if the row has one already). `decision`: the record of the
    batch's approval, for this request."""
    try:
        with session_scope(engine) as session:
            request = ReplicaRequest(**values)
            session.add(request)
            session.flush()
            assert request.id is not None
            linked = update(_rows).where(_rows.c.id == row_id, _rows.c.request_id.is_(None))
            if affected(session.execute(linked.values(request_id=request.id))) != 1:
                raise _RowTaken
            if decision is not None:
                session.add(Decision(request_id=request.id, **decision))
            arm(session, None, BATCH_CARD, batch_id=request.batch_id)
            return request
    except _RowTaken:
        return None


class _RowTaken(Exception):
    """Another worker made the row's request first: this one is rolled back."""


def transition(
    engine: Engine,
    request_id: int,
    *,
    sources: Sequence[str],
    target: str,
    values: Mapping[str, Any],
    queue: Sequence[OutboxKind | Queued] = (),
    arm_card: bool = False,
    rearm: Sequence[OutboxKind] = (),
    decision: Mapping[str, Any] | None = None,
    release_lease_of: str | None = None,
    requester_id: str | None = None,
    batch_id: int | None = None,
) -> ReplicaRequest | None:
    """Move the request to `target` if its status is one of `sources` (and, given `requester_id`, it is
    theirs), writing `values` with it; queue `queue` once each and re-render its card (`arm_card`) in the same
    transaction. `rearm`: re-render the messages of these kinds already sent for it (a question that now
    says what was decided); `decision`: the record of who decided what (a `Decision` row's values). The
    moved request, or None if it was not in one of `sources` or the change was recorded elsewhere first.
    `release_lease_of`: also give up that worker's lease on the row. `batch_id`: the request is a row of
    that batch, whose card and thread take its card and posts."""
    return moves.compare_and_set(
        engine,
        _requests,
        request_id,
        sources=sources,
        target=target,
        values=values,
        request_id=request_id,
        load=lambda session: session.get(ReplicaRequest, request_id),
        queue=queue,
        arm_card=arm_card,
        rearm=rearm,
        add=[Decision(request_id=request_id, **decision)] if decision is not None else [],
        release_lease_of=release_lease_of,
        condition=_requests.c.requester_id == requester_id if requester_id is not None else None,
        batch_id=batch_id,
    )


def batch_of(engine: Engine, request_id: int) -> int | None:
    """The batch a request is a row of (it never changes), if any."""
    with engine.connect() as connection:
        found = connection.execute(sa.select(_requests.c.batch_id).where(_requests.c.id == request_id))
        return found.scalar_one_or_none()


def remove(engine: Engine, request_id: int, *, status: str) -> bool:
    """Delete the request if it still has `status`; False if it moved on (someone else took it)."""
    with session_scope(engine) as session:
        statement = delete(_requests).where(_requests.c.id == request_id, _requests.c.status == status)
        return affected(session.execute(statement)) == 1


def record_poll(engine: Engine, request_id: int, *, owner: str, values: Mapping[str, Any]) -> None:
    """Bookkeeping of a poll that changed nothing (when it ran, when the next is due), releasing the
    worker's lease."""
    moves.record_poll(engine, _requests, request_id, owner=owner, values=values)


def queued_kinds(engine: Engine, request_id: int) -> set[str]:
    """The notification kinds ever queued for this request."""
    statement = select(OutboxMessage.kind).where(OutboxMessage.request_id == request_id)
    with session_scope(engine) as session:
        return set(session.exec(statement).all())


def preflight_outcomes(engine: Engine, statuses: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """(offline photo check findings, status, error code) of every request in `statuses` that was checked."""
    statement = select(
        ReplicaRequest.preflight_findings, ReplicaRequest.status, ReplicaRequest.error_code
    ).where(
        col(ReplicaRequest.preflight_findings).is_not(None), col(ReplicaRequest.status).in_(list(statuses))
    )
    with Session(engine) as session:
        return [(findings or "", status, code) for findings, status, code in session.exec(statement).all()]


def verdict_outcomes(
    engine: Engine, statuses: Sequence[str]
) -> list[tuple[str | None, str | None, str | None, str, str | None]]:
    """(offline findings, Tavus' verdict, photo choice, status, error code) of every request in `statuses`
    that either check looked at."""
    c = _requests.c
    columns = (c.preflight_findings, c.tavus_verdict, c.photo_choice, c.status, c.error_code)
    statement = sa.select(*columns).where(
        sa.or_(c.preflight_findings.is_not(None), c.tavus_verdict.is_not(None)), c.status.in_(list(statuses))
    )
    with Session(engine) as session:
        return [(a, b, d, e, f) for a, b, d, e, f in session.execute(statement).all()]


def waiting_for(engine: Engine, user_id: str, *, limit: int = 10) -> list[ReplicaRequest]:
    """Requests waiting for this person's answer: their consent to a replica of their face, or their
    approval (an approver's message was queued for them), oldest first."""
    asked_to_approve = sa.select(col(OutboxMessage.request_id)).where(
        col(OutboxMessage.kind) == OutboxKind.APPROVAL_ASK.value, col(OutboxMessage.subject) == user_id
    )
    statement = (
        select(ReplicaRequest)
        .where(
            sa.or_(
                sa.and_(
                    col(ReplicaRequest.status) == RequestStatus.AWAITING_CONSENT.value,
                    col(ReplicaRequest.depicted_id) == user_id,
                ),
                sa.and_(
                    col(ReplicaRequest.status) == RequestStatus.AWAITING_APPROVAL.value,
                    col(ReplicaRequest.id).in_(asked_to_approve),
                ),
            )
        )
        .order_by(col(ReplicaRequest.created_at), col(ReplicaRequest.id))
        .limit(limit)
    )
    with session_scope(engine) as session:
        return list(session.exec(statement).all())


def expired_waits(engine: Engine, now: datetime, *, limit: int = 200) -> list[tuple[int, str]]:
    """(id, status) of requests waiting for someone else's answer past their expiry, oldest first."""
    c = _requests.c
    statement = (
        sa.select(c.id, c.status)
        .where(c.status.in_([str(s) for s in WAITING_FOR_OTHERS]), c.expires_at <= now)
        .order_by(c.expires_at)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [(int(row[0]), str(row[1])) for row in connection.execute(statement)]


def spent_since(engine: Engine, requester_id: str, since: datetime, *, excluding: int | None = None) -> int:
    """How many of this person's requests made since `since` went to Tavus (or are on their way)."""
    c = _requests.c
    condition = sa.and_(
        c.requester_id == requester_id,
        c.created_at >= since,
        sa.or_(c.submitted_at.is_not(None), c.status == RequestStatus.SUBMITTING.value),
    )
    if excluding is not None:
        condition = sa.and_(condition, c.id != excluding)
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).where(condition)).scalar_one())


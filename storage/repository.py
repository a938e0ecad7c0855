"""Queries over requests and the outbox, including the exclusive leases that let several workers share one
database without polling a replica twice or delivering a notification twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Table, and_, or_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.models import (
    IN_FLIGHT,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    ReplicaRequest,
    RequestStatus,
    SeenEvent,
    UTCDateTime,
    utcnow,
)

_requests: Table = ReplicaRequest.__table__  # type: ignore[assignment]
_outbox: Table = OutboxMessage.__table__  # type: ignore[assignment]


def _claim(
    engine: Engine,
    table: Table,
    due: ColumnElement[bool],
    order_by: ColumnElement[object] | tuple[ColumnElement[object], ...],
    *,
    owner: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    columns: Sequence[ColumnElement[object]] = (),
) -> list[tuple[Any, ...]]:
    """Lease up to `limit` due rows to `owner` in one statement; returns (id, *columns) for each, by id.

    The condition is repeated in the outer WHERE on purpose: SQLite has no SKIP LOCKED, and on PostgreSQL
    a row can stop being due between the subquery and the update; the outer check keeps the claim exclusive.
    """
    free = or_(table.c.lease_until.is_(None), table.c.lease_until < now)
    condition = and_(due, free)
    ordering = order_by if isinstance(order_by, tuple) else (order_by,)
    candidates = sa.select(table.c.id).where(condition).order_by(*ordering).limit(limit)
    if engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    # A CTE, not `IN (subquery)`: PostgreSQL may re-run a correlated-looking subquery per outer row, and
    # with SKIP LOCKED each re-run picks other rows, so one claim could lease far more than `limit`.
    # A CTE that locks rows is always evaluated once.
    chosen = candidates.cte("chosen")
    statement = (
        update(table)
        .where(table.c.id.in_(sa.select(chosen.c.id)), condition)
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(table.c.id, *columns)
    )
    with engine.begin() as connection:
        return sorted((tuple(row) for row in connection.execute(statement)), key=lambda row: row[0])


def claim_due_requests(
    engine: Engine, *, owner: str, now: datetime | None = None, limit: int = 500, lease_seconds: float = 120
) -> list[int]:
    claimed = claim_due_polls(engine, owner=owner, now=now, limit=limit, lease_seconds=lease_seconds)
    return [request_id for request_id, _ in claimed]


def claim_due_polls(
    engine: Engine,
    *,
    owner: str,
    now: datetime | None = None,
    due_by: datetime | None = None,
    limit: int = 500,
    lease_seconds: float = 120,
) -> list[tuple[int, str | None]]:
    """Lease in-flight requests due by `due_by` (default: now), most overdue first; (request id, replica id)
    for each, by id.

    The replica id comes back from the same UPDATE … RETURNING, so the poller needs no read per request.
    """
    now = now or utcnow()
    due = and_(
        _requests.c.status.in_([s.value for s in IN_FLIGHT]), _requests.c.next_poll_at <= (due_by or now)
    )
    rows = _claim(
        engine,
        _requests,
        due,
        _requests.c.next_poll_at,
        owner=owner,
        now=now,
        limit=limit,
        lease_seconds=lease_seconds,
        columns=(_requests.c.replica_id,),
    )
    return [(row[0], row[1]) for row in rows]


def outbox_destinations(engine: Engine, outbox_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(outbox id, kind, where it goes) for each row, in one query: the channel of the request's card,
    or `dm:<user>` for a note to the requester. One destination's rows are delivered in order."""
    if not outbox_ids:
        return []
    statement = (
        sa.select(
            _outbox.c.id,
            _outbox.c.kind,
            sa.func.coalesce(_requests.c.card_channel_id, _requests.c.channel_id),
            _requests.c.requester_id,
        )
        .join(_requests, _requests.c.id == _outbox.c.request_id)
        .where(_outbox.c.id.in_(list(outbox_ids)))
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return [
        (row[0], row[1], f"dm:{row[3]}" if row[1] == OutboxKind.REQUESTER_DM else str(row[2])) for row in rows
    ]


def claim_due_outbox(
    engine: Engine, *, owner: str, now: datetime | None = None, limit: int = 200, lease_seconds: float = 60
) -> list[int]:
    now = now or utcnow()
    due = and_(_outbox.c.status == OutboxStatus.PENDING.value, _outbox.c.next_attempt_at <= now)
    # Cards and thread posts first; the DM that points at a thread post can wait for a busy moment to pass.
    dm_last = sa.case((_outbox.c.kind == OutboxKind.REQUESTER_DM.value, 1), else_=0)
    rows = _claim(
        engine, _outbox, due, (dm_last, _outbox.c.id), owner=owner, now=now, limit=limit,
        lease_seconds=lease_seconds,
    )
    return [row[0] for row in rows]


def release_request_lease(session: Session, request: ReplicaRequest, owner: str) -> None:
    if request.lease_owner == owner:
        request.lease_owner = None
        request.lease_until = None


def arm_card(session: Session, request: ReplicaRequest) -> None:
    """Ask for the request card to be (re)rendered; repeated calls before delivery coalesce into one."""
    assert request.id is not None
    key = f"{request.id}:{OutboxKind.CARD}"
    row = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).first()
    if row is None:
        session.add(OutboxMessage(request_id=request.id, kind=OutboxKind.CARD, dedupe_key=key))
        return
    row.version += 1
    if row.status != OutboxStatus.DEAD:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = utcnow()
    session.add(row)


def enqueue_once(session: Session, request: ReplicaRequest, kind: OutboxKind) -> bool:
    """Queue a one-off notification; False if it was already queued (or sent) for this request."""
    assert request.id is not None
    key = f"{request.id}:{kind}"
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None:
        return False
    # The unique dedupe_key is the real guard: a concurrent insert of the same key fails the transaction,
    # which rolls back the status change with it, so the other worker's identical change stands alone.
    session.add(OutboxMessage(request_id=request.id, kind=kind, dedupe_key=key))
    return True


def find_by_replica_id(session: Session, replica_id: str) -> ReplicaRequest | None:
    statement = select(ReplicaRequest).where(ReplicaRequest.replica_id == replica_id)
    return session.exec(statement).first()


def find_by_callback_token(session: Session, token: str) -> ReplicaRequest | None:
    statement = select(ReplicaRequest).where(ReplicaRequest.callback_token == token)
    return session.exec(statement).first()


def recent_requests_for(session: Session, requester_id: str, limit: int = 10) -> Sequence[ReplicaRequest]:
    statement = (
        select(ReplicaRequest)
        .where(ReplicaRequest.requester_id == requester_id)
        .order_by(col(ReplicaRequest.created_at).desc(), col(ReplicaRequest.id).desc())
        .limit(limit)
    )
    return session.exec(statement).all()


def is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text


def claim_request(engine: Engine, request_id: int, *, owner: str, lease_seconds: float = 30) -> bool:
    """Lease one in-flight request now, whether or not it is due (a callback is a reason to look)."""
    now = utcnow()
    due = and_(_requests.c.id == request_id, _requests.c.status.in_([s.value for s in IN_FLIGHT]))
    return bool(
        _claim(
            engine, _requests, due, _requests.c.id, owner=owner, now=now, limit=1, lease_seconds=lease_seconds
        )
    )


def renew_outbox_lease(engine: Engine, outbox_id: int, *, owner: str, lease_seconds: float) -> bool:
    """Extend our lease just before talking to Slack; False means another worker took the row over."""
    return _extend_outbox_lease(engine, outbox_id, owner=owner, lease_seconds=lease_seconds) is not None


def start_outbox_attempt(engine: Engine, outbox_id: int, *, owner: str, lease_seconds: float) -> int | None:
    """Extend our lease and count one more post, in one statement, just before posting: the attempt count
    (so a later retry knows to look for this post first), or None if another worker took the row over."""
    return _extend_outbox_lease(
        engine, outbox_id, owner=owner, lease_seconds=lease_seconds, attempts=_outbox.c.attempts + 1
    )


def _extend_outbox_lease(
    engine: Engine, outbox_id: int, *, owner: str, lease_seconds: float, **values: object
) -> int | None:
    now = utcnow()
    statement = (
        update(_outbox)
        .where(_outbox.c.id == outbox_id, _outbox.c.lease_owner == owner, _outbox.c.lease_until > now)
        .values(lease_until=now + timedelta(seconds=lease_seconds), **values)
        .returning(_outbox.c.attempts)
    )
    with engine.begin() as connection:
        return connection.execute(statement).scalar_one_or_none()


def record_outbox_sent(
    connection: Connection,
    outbox_id: int,
    *,
    ts: str | None,
    rendered_version: int,
    fallback_channel: str | None = None,
) -> None:
    """Mark a row delivered (`ts` None: nothing needed posting), via the requester's DM with
    `fallback_channel`. A change that arrived while we were posting (a newer version) re-arms the row
    instead, for the next pass."""
    now = sa.literal(utcnow(), UTCDateTime())
    current = _outbox.c.version == rendered_version
    sent = OutboxStatus.SENT_VIA_FALLBACK if fallback_channel else OutboxStatus.SENT
    values: dict[str, object] = {
        "slack_ts": ts if fallback_channel else sa.func.coalesce(_outbox.c.slack_ts, ts),
        "delivered_version": rendered_version,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
        "status": sa.case((current, sent.value), else_=_outbox.c.status),
        "sent_at": sa.case((current, now), else_=_outbox.c.sent_at),
        "next_attempt_at": sa.case((current, _outbox.c.next_attempt_at), else_=now),
    }
    if fallback_channel is not None:
        values["fallback_channel_id"] = fallback_channel
    connection.execute(update(_outbox).where(_outbox.c.id == outbox_id).values(**values))


def place_card(
    connection: Connection, request_id: int, channel: str, ts: str, *, moved: bool = False
) -> None:
    """Remember where the request's card is; the first post wins unless the card `moved` to another place."""
    statement = (
        update(_requests).where(_requests.c.id == request_id).values(card_channel_id=channel, card_ts=ts)
    )
    if not moved:
        statement = statement.where(_requests.c.card_ts.is_(None))
    connection.execute(statement)


def first_time(engine: Engine, keys: Sequence[str]) -> bool:
    """Record Slack delivery keys; False if any was seen before (a retry, or the twin event of an upload).

    The primary key does the deciding, so two processes receiving twins at the same moment agree.
    """
    try:
        with session_scope(engine) as session:
            for key in keys:
                session.add(SeenEvent(key=key))
    except IntegrityError:
        return False
    return True


def claim_stalled_submissions(
    engine: Engine,
    *,
    owner: str,
    older_than: timedelta,
    status: RequestStatus = RequestStatus.SUBMITTING,
    limit: int = 20,
    lease_seconds: float = 300,
) -> list[int]:
    """Requests left in "submitting" (a crash between calling Tavus and recording its answer), or with
    `status` RECEIVED, acked but never checked (a crash before that)."""
    now = utcnow()
    due = and_(_requests.c.status == status.value, _requests.c.updated_at < now - older_than)
    rows = _claim(
        engine, _requests, due, _requests.c.id, owner=owner, now=now, limit=limit, lease_seconds=lease_seconds
    )
    return [row[0] for row in rows]


def recent_requests(
    session: Session,
    *,
    requester_id: str | None = None,
    statuses: Sequence[str] | None = None,
    limit: int = 25,
) -> Sequence[ReplicaRequest]:
    """Newest first: one requester's (or everyone's, for admins), optionally only some statuses."""
    statement = select(ReplicaRequest)
    if requester_id is not None:
        statement = statement.where(ReplicaRequest.requester_id == requester_id)
    if statuses is not None:
        statement = statement.where(col(ReplicaRequest.status).in_([str(s) for s in statuses]))
    statement = statement.order_by(col(ReplicaRequest.created_at).desc(), col(ReplicaRequest.id).desc())
    return session.exec(statement.limit(limit)).all()


def outcome_post(session: Session, request_id: int) -> OutboxMessage | None:
    """The failure or completion post queued for a request, if any."""
    statement = select(OutboxMessage).where(
        OutboxMessage.request_id == request_id,
        col(OutboxMessage.kind).in_([OutboxKind.FAILURE.value, OutboxKind.COMPLETION.value]),
    )
    return session.exec(statement).first()

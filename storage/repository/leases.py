"""Exclusive leases: a worker takes rows with one `UPDATE … RETURNING`, so several processes sharing one
database never poll a replica (or a sample video, a test call) twice or deliver a notification twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Table, and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from storage.batch_models import BATCH_ENDED, Batch, BatchRow
from storage.job_models import FaceJob
from storage.models import (
    IN_FLIGHT,
    TERMINAL,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    ReplicaRequest,
    RequestStatus,
    UTCDateTime,
    table,
    utcnow,
)

_requests = table(ReplicaRequest)
_outbox = table(OutboxMessage)
_jobs = table(FaceJob)
_batches = table(Batch)
_batch_rows = table(BatchRow)
# The workspace of requests recorded without a team id.
ANY_TEAM = "-"


def claim(
    engine: Engine,
    table: Table,
    due: ColumnElement[bool],
    order_by: ColumnElement[Any] | tuple[ColumnElement[Any], ...],
    *,
    owner: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    columns: Sequence[ColumnElement[Any]] = (),
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
    return [poll.request_id for poll in claimed]


class DuePoll(NamedTuple):
    """A leased in-flight request, with what the poller needs to judge Tavus' answer about it."""

    request_id: int
    replica_id: str | None
    training_progress: str | None
    # When training started (or, before that, when the request was made) and when progress last moved.
    started_at: datetime
    progress_changed_at: datetime | None
    # Which stage it is in (training, or phoenix-4.5's preview while tuning) and the model it trains with.
    status: str | None = None
    model_name: str | None = None


_POLL_COLUMNS = (
    _requests.c.replica_id,
    _requests.c.training_progress,
    # Typed, so the value comes back timezone-aware like the columns themselves.
    sa.type_coerce(sa.func.coalesce(_requests.c.submitted_at, _requests.c.created_at), UTCDateTime()),
    _requests.c.progress_changed_at,
    _requests.c.status,
    _requests.c.model_name,
)


def claim_due_polls(
    engine: Engine,
    *,
    owner: str,
    now: datetime | None = None,
    due_by: datetime | None = None,
    limit: int = 500,
    lease_seconds: float = 120,
) -> list[DuePoll]:
    """Lease in-flight requests due by `due_by` (default: now), most overdue first, by id.

    What the poller needs comes back from the same UPDATE … RETURNING, so it reads nothing per request.
    """
    rows = _claim_due(
        engine, _requests, _in_flight(_requests, IN_FLIGHT), owner=owner, now=now, due_by=due_by,
        limit=limit, lease_seconds=lease_seconds, columns=_POLL_COLUMNS,
    )
    return [DuePoll(*row) for row in rows]


def claim_request(engine: Engine, request_id: int, *, owner: str, lease_seconds: float = 30) -> bool:
    """Lease one in-flight request now, whether or not it is due (a callback is a reason to look)."""
    return _claim_one(engine, _requests, request_id, _in_flight(_requests, IN_FLIGHT), owner, lease_seconds)


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
    stalled = _requests.c.status == status.value
    return _claim_stalled(engine, _requests, stalled, owner, older_than, limit, lease_seconds)


def claim_due_jobs(
    engine: Engine,
    kind: str,
    in_flight: Sequence[str],
    *,
    owner: str,
    due_by: datetime | None = None,
    limit: int = 500,
    lease_seconds: float = 120,
) -> list[int]:
    """Lease jobs of `kind` in one of the `in_flight` statuses due by `due_by`, like `claim_due_polls`; their
    ids (jobs are few: the poller reads each one)."""
    in_flight_jobs = and_(_jobs.c.kind == kind, _in_flight(_jobs, in_flight))
    rows = _claim_due(
        engine, _jobs, in_flight_jobs, owner=owner, now=None, due_by=due_by, limit=limit,
        lease_seconds=lease_seconds, columns=(),
    )
    return [row[0] for row in rows]


def claim_job(
    engine: Engine, job_id: int, in_flight: Sequence[str], *, owner: str, lease_seconds: float = 30
) -> bool:
    """Lease one job in one of the `in_flight` statuses now, due or not (a callback is a reason to look)."""
    return _claim_one(engine, _jobs, job_id, _in_flight(_jobs, in_flight), owner, lease_seconds)


def claim_stalled_jobs(
    engine: Engine,
    kind: str,
    status: str,
    *,
    owner: str,
    older_than: timedelta,
    limit: int = 20,
    lease_seconds: float = 300,
) -> list[int]:
    """Jobs of `kind` left in `status` (a crash between calling Tavus and recording its answer)."""
    stalled = and_(_jobs.c.kind == kind, _jobs.c.status == status)
    return _claim_stalled(engine, _jobs, stalled, owner, older_than, limit, lease_seconds)


def _in_flight(table: Table, statuses: Sequence[str]) -> ColumnElement[bool]:
    return table.c.status.in_([str(s) for s in statuses])


def _claim_due(
    engine: Engine,
    table: Table,
    in_flight: ColumnElement[bool],
    *,
    owner: str,
    now: datetime | None,
    due_by: datetime | None,
    limit: int,
    lease_seconds: float,
    columns: Sequence[ColumnElement[Any]],
) -> list[tuple[Any, ...]]:
    """The sweep's claim, whatever it follows: rows in flight whose next poll is due, most overdue first."""
    now = now or utcnow()
    due = and_(in_flight, table.c.next_poll_at <= (due_by or now))
    return claim(
        engine, table, due, table.c.next_poll_at, owner=owner, now=now, limit=limit,
        lease_seconds=lease_seconds, columns=columns,
    )


def _claim_one(
    engine: Engine,
    table: Table,
    row_id: int,
    in_flight: ColumnElement[bool],
    owner: str,
    lease_seconds: float,
) -> bool:
    due = and_(table.c.id == row_id, in_flight)
    claimed = claim(
        engine, table, due, table.c.id, owner=owner, now=utcnow(), limit=1, lease_seconds=lease_seconds
    )
    return bool(claimed)


def _claim_stalled(
    engine: Engine,
    table: Table,
    stalled: ColumnElement[bool],
    owner: str,
    older_than: timedelta,
    limit: int,
    lease_seconds: float,
) -> list[int]:
    now = utcnow()
    due = and_(stalled, table.c.updated_at < now - older_than)
    rows = claim(
        engine, table, due, table.c.id, owner=owner, now=now, limit=limit, lease_seconds=lease_seconds
    )
    return [row[0] for row in rows]


def claim_due_outbox(
    engine: Engine, *, owner: str, now: datetime | None = None, limit: int = 200, lease_seconds: float = 60
) -> list[int]:
    """Lease due notifications other than card refreshes: the thread posts, DMs, and cards not posted
    yet (a thread needs its card). Card refreshes have their own, rationed claim (`claim_card_refreshes`)."""
    now = now or utcnow()
    due = and_(_due_outbox(now), ~_is_refresh())
    # Cards and thread posts first; the DM that points at a thread post can wait for a busy moment to pass.
    dm_last = sa.case((_outbox.c.kind == OutboxKind.REQUESTER_DM.value, 1), else_=0)
    rows = claim(
        engine, _outbox, due, (dm_last, _outbox.c.id), owner=owner, now=now, limit=limit,
        lease_seconds=lease_seconds,
    )
    return [row[0] for row in rows]


def claim_card_refreshes(
    engine: Engine,
    *,
    owner: str,
    team: str,
    limit: int,
    now: datetime | None = None,
    lease_seconds: float = 60,
) -> list[int]:
    """Lease up to `limit` due edits of cards already in Slack, in workspace `team` (the team id, or
    `any_team` for requests without one): cards of finished requests (and batches) first, then the
    longest unrefreshed. A card left out stays due with its latest state; nothing is retried for it."""
    if limit <= 0:
        return []
    now = now or utcnow()
    request = _outbox_request("refreshed_request")
    batch = _batches.alias("refreshed_batch")
    due = and_(_due_outbox(now), _is_refresh(team))
    finished = sa.case((request.c.status.in_([s.value for s in TERMINAL]), 0), else_=1)
    batch_ended = sa.case((batch.c.status.in_([s.value for s in BATCH_ENDED]), 0), else_=1)
    status_first = sa.func.coalesce(
        sa.select(finished).where(request.c.id == _outbox.c.request_id).scalar_subquery(),
        sa.select(batch_ended).where(batch.c.id == _outbox.c.batch_id).scalar_subquery(),
    )
    # Never refreshed before first, then the stalest.
    stalest = (_outbox.c.sent_at.is_not(None), _outbox.c.sent_at)
    rows = claim(
        engine, _outbox, due, (status_first, *stalest, _outbox.c.id), owner=owner, now=now, limit=limit,
        lease_seconds=lease_seconds,
    )
    return [row[0] for row in rows]


def _due_outbox(now: datetime) -> ColumnElement[bool]:
    return and_(_outbox.c.status == OutboxStatus.PENDING.value, _outbox.c.next_attempt_at <= now)


def _outbox_request(name: str = "outbox_request") -> Any:
    return _requests.alias(name)


def _is_refresh(team: str | None = None) -> ColumnElement[bool]:
    """The row edits a card already in Slack (of a request, or a batch, in `team`, if given)."""
    request = _outbox_request()
    placed = sa.exists().where(
        request.c.id == _outbox.c.request_id,
        request.c.card_ts.is_not(None),
        *([sa.func.coalesce(request.c.team_id, ANY_TEAM) == team] if team is not None else []),
    )
    batch = _batches.alias("outbox_batch")
    batch_placed = sa.exists().where(
        batch.c.id == _outbox.c.batch_id,
        batch.c.card_ts.is_not(None),
        *([sa.func.coalesce(batch.c.team_id, ANY_TEAM) == team] if team is not None else []),
    )
    return or_(
        and_(_outbox.c.kind == OutboxKind.CARD.value, placed),
        and_(_outbox.c.kind == OutboxKind.BATCH_CARD.value, batch_placed),
    )


def renew_outbox_lease(engine: Engine, outbox_id: int, *, owner: str, lease_seconds: float) -> bool:
    """Extend our lease just before talking to Slack; False means another worker took the row over."""
    return _extend_outbox_lease(engine, outbox_id, owner=owner, lease_seconds=lease_seconds) is not None


def start_outbox_attempt(engine: Engine, outbox_id: int, *, owner: str, lease_seconds: float) -> int | None:
    """Extend our lease and count one more post, in one statement, just before posting: the attempt count
    (so a later retry knows to look for this post first), or None if another worker took the row over."""
    return _extend_outbox_lease(
        engine,
        outbox_id,
        owner=owner,
        lease_seconds=lease_seconds,
        attempts=_outbox.c.attempts + 1,
        attempted_at=utcnow(),
    )


def forget_outbox_attempt(engine: Engine, outbox_id: int, *, owner: str) -> None:
    """Slack answered the post with an error (a 429, or ok: false): it did not land, so a later attempt
    need not look for it first."""
    statement = (
        update(_outbox)
        .where(_outbox.c.id == outbox_id, _outbox.c.lease_owner == owner, _outbox.c.attempts > 0)
        .values(attempts=_outbox.c.attempts - 1)
    )
    with engine.begin() as connection:
        connection.execute(statement)


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
        result: int | None = connection.execute(statement).scalar_one_or_none()
        return result


def release_all(engine: Engine, *, owner: str) -> tuple[int, int]:
    """Give back every lease `owner` holds, on requests (and the batches, and their rows being checked)
    and on notifications, in one transaction: the other processes take the rows over at their next pass
    instead of when the leases would expire. (requests and batch rows, notifications) released."""
    free = {"lease_owner": None, "lease_until": None}
    with engine.begin() as connection:
        released = [
            connection.execute(update(held).where(held.c.lease_owner == owner).values(**free)).rowcount
            for held in (_requests, _batches, _batch_rows, _outbox)
        ]
    return sum(int(n or 0) for n in released[:3]), int(released[3] or 0)

"""What the batch worker of any process takes next, leased so that several processes on one database share
a batch's work and none does a step twice: files to read, rows to check, rows to make requests of, those
requests to take through their gates, and batches that are done or whose approval ran out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.batch_models import Batch, BatchRow, BatchStatus, RowVerdict
from storage.models import ReplicaRequest, RequestStatus, table, utcnow
from storage.repository.leases import claim

_batches = table(Batch)
_rows = table(BatchRow)
_requests = table(ReplicaRequest)


def claim_unread(engine: Engine, *, owner: str, limit: int = 4, lease_seconds: float = 120) -> list[int]:
    """Batches whose file has not been read yet (just acked, or a crash cut the reading short)."""
    unread = sa.and_(
        _batches.c.status == BatchStatus.CHECKING.value,
        _batches.c.total.is_(None),
        _batches.c.file_id.is_not(None),
    )
    rows = claim(
        engine, _batches, unread, _batches.c.id, owner=owner, now=utcnow(), limit=limit,
        lease_seconds=lease_seconds,
    )
    return [row[0] for row in rows]


def claim_rows(engine: Engine, *, owner: str, limit: int, lease_seconds: float = 120) -> list[int]:
    """Rows waiting to be checked, of batches still checking: the oldest batch's first, in row order."""
    checking = sa.select(_batches.c.id).where(_batches.c.status == BatchStatus.CHECKING.value)
    pending = sa.and_(_rows.c.verdict.is_(None), _rows.c.batch_id.in_(checking))
    rows = claim(
        engine, _rows, pending, (_rows.c.batch_id, _rows.c.row_number), owner=owner, now=utcnow(),
        limit=limit, lease_seconds=lease_seconds,
    )
    return [row[0] for row in rows]


def checked_batches(engine: Engine) -> list[int]:
    """Batches still "checking" whose file is read and whose rows are all checked (the move to "checked"
    was cut short, or is about to be made)."""
    pending = sa.exists().where(_rows.c.batch_id == _batches.c.id, _rows.c.verdict.is_(None))
    statement = sa.select(_batches.c.id).where(
        _batches.c.status == BatchStatus.CHECKING.value, _batches.c.total.is_not(None), ~pending
    )
    with engine.connect() as connection:
        return [int(row[0]) for row in connection.execute(statement)]


def rows_to_submit(engine: Engine, *, limit: int = 500) -> list[int]:
    """Ready rows of submitted batches that have no request yet."""
    submitted = sa.select(_batches.c.id).where(_batches.c.status == BatchStatus.SUBMITTED.value)
    statement = (
        sa.select(_rows.c.id)
        .where(
            _rows.c.batch_id.in_(submitted),
            _rows.c.verdict == RowVerdict.READY.value,
            _rows.c.request_id.is_(None),
        )
        .order_by(_rows.c.batch_id, _rows.c.row_number)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [int(row[0]) for row in connection.execute(statement)]


def finishable(engine: Engine, ended: Sequence[str]) -> list[int]:
    """Submitted batches whose every ready row became a request that has ended (one of `ended`)."""
    going_on = sa.exists().where(
        _rows.c.batch_id == _batches.c.id,
        _rows.c.verdict == RowVerdict.READY.value,
        sa.or_(
            _rows.c.request_id.is_(None),
            sa.exists().where(_requests.c.id == _rows.c.request_id, _requests.c.status.not_in(list(ended))),
        ),
    )
    statement = sa.select(_batches.c.id).where(_batches.c.status == BatchStatus.SUBMITTED.value, ~going_on)
    with engine.connect() as connection:
        return [int(row[0]) for row in connection.execute(statement)]


def expired_approvals(engine: Engine, now: datetime | None = None) -> list[int]:
    statement = sa.select(_batches.c.id).where(
        _batches.c.status == BatchStatus.AWAITING_APPROVAL.value, _batches.c.expires_at <= (now or utcnow())
    )
    with engine.connect() as connection:
        return [int(row[0]) for row in connection.execute(statement)]


def spent_recently(engine: Engine, requester_id: str, since: datetime) -> int:
    """How many of this person's requests made since `since` went to Tavus or are on their way."""
    on_its_way = sa.or_(
        _requests.c.submitted_at.is_not(None),
        _requests.c.status.in_([RequestStatus.SUBMITTING.value, RequestStatus.RECEIVED.value]),
    )
    condition = sa.and_(
        _requests.c.requester_id == requester_id, _requests.c.created_at >= since, on_its_way
    )
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).where(condition)).scalar_one())


def release(engine: Engine, row_ids: Sequence[int], *, owner: str) -> None:
    """Give back rows this worker leased and did not get to (it is stopping)."""
    if not row_ids:
        return
    statement = (
        sa.update(_rows)
        .where(_rows.c.id.in_(list(row_ids)), _rows.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
    with engine.begin() as connection:
        connection.execute(statement)

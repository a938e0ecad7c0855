"""Batches: reads, the one insert, the statement that changes a batch's status (`storage.repository.moves`),
and the writes a move of a batch consists of (its rows read from the file, a row's check).

Which moves exist is decided by `bot.domain.batch.lifecycle`, the only caller of the writes here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from storage.batch_models import Batch, BatchRow, BatchStatus, RowVerdict
from storage.db import affected, session_scope
from storage.models import OutboxKind, OutboxMessage, ReplicaRequest, table
from storage.repository import moves
from storage.repository.outbox import BATCH_CARD, Queued, arm

_batches = table(Batch)
_rows = table(BatchRow)
_requests = table(ReplicaRequest)

# What else a move must find true, and what else it writes (in its transaction; False: it does not happen).
Condition = ColumnElement[bool]
Write = Callable[[Session], bool]


def get(engine: Engine, batch_id: int) -> Batch | None:
    with session_scope(engine) as session:
        return session.get(Batch, batch_id)


def rows(engine: Engine, batch_id: int, *, row_ids: Sequence[int] | None = None) -> list[BatchRow]:
    """The batch's rows in their order (only `row_ids`, if given)."""
    statement = select(BatchRow).where(BatchRow.batch_id == batch_id)
    if row_ids is not None:
        statement = statement.where(col(BatchRow.id).in_(list(row_ids)))
    with session_scope(engine) as session:
        return list(session.exec(statement.order_by(col(BatchRow.row_number))).all())


def row(engine: Engine, row_id: int) -> BatchRow | None:
    with session_scope(engine) as session:
        return session.get(BatchRow, row_id)


def recent(engine: Engine, *, requester_id: str | None = None, limit: int = 10) -> list[Batch]:
    """Newest first: one requester's (or everyone's)."""
    statement = select(Batch)
    if requester_id is not None:
        statement = statement.where(Batch.requester_id == requester_id)
    statement = statement.order_by(col(Batch.created_at).desc(), col(Batch.id).desc()).limit(limit)
    with session_scope(engine) as session:
        return list(session.exec(statement).all())


@dataclass(frozen=True)
class RowState:
    """One row and, once it was submitted, what became of its request."""

    row: BatchRow
    request: ReplicaRequest | None = None


@dataclass(frozen=True)
class BatchView:
    """A batch as its card, its summary and `/replica status` show it: every row with its request."""

    batch: Batch
    rows: list[RowState] = field(default_factory=list)

    def where(self, verdict: RowVerdict | None) -> list[RowState]:
        return [r for r in self.rows if r.row.verdict == verdict]


def view(engine: Engine, batch_id: int) -> BatchView | None:
    """The batch with its rows and their requests, read in one transaction."""
    statement = (
        select(BatchRow, ReplicaRequest)
        .outerjoin(ReplicaRequest, col(ReplicaRequest.id) == col(BatchRow.request_id))
        .where(BatchRow.batch_id == batch_id)
        .order_by(col(BatchRow.row_number))
    )
    with session_scope(engine) as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            return None
        return BatchView(batch, [RowState(r, q) for r, q in session.exec(statement).all()])


def recent_views(engine: Engine, *, requester_id: str | None = None, limit: int = 5) -> list[BatchView]:
    """The newest batches (one requester's, or everyone's) with their rows."""
    found = (view(engine, b.id) for b in recent(engine, requester_id=requester_id, limit=limit) if b.id)
    return [v for v in found if v is not None]


def waiting_for_approval_of(engine: Engine, user_id: str, *, limit: int = 5) -> list[BatchView]:
    """Batches waiting for this approver's decision (an approver's message was queued for them), oldest
    first, with their rows."""
    asked = sa.select(col(OutboxMessage.batch_id)).where(
        col(OutboxMessage.kind) == OutboxKind.BATCH_APPROVAL_ASK.value, col(OutboxMessage.subject) == user_id
    )
    statement = (
        select(Batch.id)
        .where(col(Batch.status) == BatchStatus.AWAITING_APPROVAL.value, col(Batch.id).in_(asked))
        .order_by(col(Batch.created_at), col(Batch.id))
        .limit(limit)
    )
    with session_scope(engine) as session:
        ids = list(session.exec(statement).all())
    found = (view(engine, batch_id) for batch_id in ids if batch_id is not None)
    return [v for v in found if v is not None]


# --- the writes a batch's lifecycle makes -------------------------------------------------------------------


def insert(engine: Engine, values: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> Batch:
    """A new batch with its rows (none yet, for a file read after the ack), and its card queued, in one
    transaction: the card goes up saying what is being checked."""
    with session_scope(engine) as session:
        batch = Batch(**values)
        session.add(batch)
        session.flush()
        assert batch.id is not None
        _add_rows(session, batch.id, rows)
        arm(session, None, BATCH_CARD, batch_id=batch.id)
        return batch


def transition(
    engine: Engine,
    batch_id: int,
    *,
    sources: Sequence[str],
    target: str,
    values: Mapping[str, Any],
    queue: Sequence[OutboxKind | Queued] = (),
    arm_card: bool = False,
    rearm: Sequence[OutboxKind] = (),
    condition: Condition | None = None,
    then: Write | None = None,
    release_lease_of: str | None = None,
) -> Batch | None:
    """Move the batch to `target` if its status is one of `sources` (and `condition` holds), writing
    `values`, what `then` writes, and queueing `queue` (posts where the batch is followed), in one
    transaction; the moved batch, or None if it had moved on."""
    return moves.compare_and_set(
        engine,
        _batches,
        batch_id,
        sources=sources,
        target=target,
        values=values,
        request_id=None,
        batch_id=batch_id,
        load=lambda session: session.get(Batch, batch_id),
        queue=queue,
        arm_card=arm_card,
        rearm=rearm,
        condition=condition,
        then=then,
        release_lease_of=release_lease_of,
    )


def adding_rows(batch_id: int, rows: Sequence[Mapping[str, Any]]) -> Write:
    """The rows of a file just read, written with the move that records them."""

    def write(session: Session) -> bool:
        _add_rows(session, batch_id, rows)
        return True

    return write


def recording_check(row_id: int, values: Mapping[str, Any], *, owner: str) -> Write:
    """A row's check, written with the move that records it: only once, and only by the worker that
    holds the row (a worker whose lease ran out finds it checked, or taken over)."""

    def write(session: Session) -> bool:
        statement = (
            update(_rows)
            .where(_rows.c.id == row_id, _rows.c.verdict.is_(None), _rows.c.lease_owner == owner)
            .values(**values, lease_owner=None, lease_until=None)
        )
        return affected(session.execute(statement)) == 1

    return write


def _add_rows(session: Session, batch_id: int, rows: Sequence[Mapping[str, Any]]) -> None:
    # One statement for all: every row names the same columns (an executemany takes the first row's).
    columns = {name for row in rows for name in row}
    if rows:
        values = [{**dict.fromkeys(columns), **row, "batch_id": batch_id} for row in rows]
        session.execute(sa.insert(_rows), values)


# --- conditions of the moves ----------------------------------------------------------------------------


def held_by(owner: str) -> Condition:
    """The batch is leased to `owner` (the worker reading its file)."""
    return _batches.c.lease_owner == owner


def all_checked(batch_id: int) -> Condition:
    """The file is read and no row waits to be checked."""
    pending = sa.exists().where(_rows.c.batch_id == batch_id, _rows.c.verdict.is_(None))
    return sa.and_(_batches.c.total.is_not(None), ~pending)


def all_ended(batch_id: int, ended: Sequence[str]) -> Condition:
    """Every ready row has become a request, and every such request has ended (one of `ended`)."""
    going_on = sa.exists().where(
        _rows.c.batch_id == batch_id,
        _rows.c.verdict == RowVerdict.READY.value,
        sa.or_(
            _rows.c.request_id.is_(None),
            sa.exists().where(_requests.c.id == _rows.c.request_id, _requests.c.status.not_in(list(ended))),
        ),
    )
    return ~going_on

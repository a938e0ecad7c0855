"""Forgetting a person in batches, and dropping ended batches: a batch and its rows hold copies of what
its requests hold (names, photo links, whose face), so they are erased with them.

`BATCH_PERSONAL` and `ROW_PERSONAL` list what in a batch and in a row is about a person, as
`storage.repository.erasure.PERSONAL_COLUMNS` does for a request.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from storage.batch_models import BATCH_ENDED, Batch, BatchRow
from storage.models import OutboxMessage, OutboxStatus, table
from storage.repository.erasure import ERASED, Personal, Role
from storage.repository.outbox import rearm_batch_cards

_batches = table(Batch)
_rows = table(BatchRow)
_outbox = table(OutboxMessage)

BATCH_PERSONAL: tuple[Personal, ...] = (
    Personal("requester_id", Role.SUBJECT),
    Personal("submitted_by", Role.ACTOR),
    Personal("cancelled_by", Role.ACTOR),
    Personal("approval_by", Role.ACTOR),
    Personal("file_name"),
    Personal("approval_reason"),
)
ROW_PERSONAL: tuple[Personal, ...] = (
    Personal("depicted_id", Role.SUBJECT),
    Personal("name"),
    Personal("photo_url"),
    Personal("slack_file_id"),
    Personal("for_cell"),
    Personal("train_image_url"),
    Personal("photo_key"),
    # A row's reason may quote its cells (an e-mail address, a user id).
    Personal("problem"),
)


def forget(engine: Engine, person: str) -> int:
    """Blank `person` from every batch: all of a batch they sent (its rows too), the rows of their face in
    anyone's, their name where they acted on someone else's; the cards are re-rendered without them. How
    many batches and rows named them."""
    theirs = sa.select(_batches.c.id).where(_batches.c.requester_id == person)
    rows = sa.or_(_rows.c.batch_id.in_(theirs), _rows.c.depicted_id == person)
    blank_row = {p.column: _blank(_rows, p.column) for p in ROW_PERSONAL}
    blank_batch = {p.column: _blank(_batches, p.column) for p in BATCH_PERSONAL if p.role != Role.ACTOR}
    with engine.begin() as connection:
        touched = {int(r[0]) for r in connection.execute(sa.select(_rows.c.batch_id).where(rows))}
        touched |= {int(r[0]) for r in connection.execute(theirs)}
        erased = _count(connection.execute(update(_rows).where(rows).values(**blank_row)))
        all_theirs = update(_batches).where(_batches.c.id.in_(theirs))
        erased += _count(connection.execute(all_theirs.values(**blank_batch)))
        for column in (p.column for p in BATCH_PERSONAL if p.role == Role.ACTOR):
            named = _batches.c[column] == person
            touched |= {int(r[0]) for r in connection.execute(sa.select(_batches.c.id).where(named))}
            erased += _count(connection.execute(update(_batches).where(named).values({column: None})))
        rearm_batch_cards(connection, sorted(touched))
    return erased


def drop_ended(engine: Engine, cutoff: datetime) -> int:
    """Delete batches that ended before `cutoff` whose requests are all gone (purged) and that have
    nothing left to say in Slack, with their rows and notifications; how many."""
    has_requests = sa.exists().where(_rows.c.batch_id == _batches.c.id, _rows.c.request_id.is_not(None))
    waiting = sa.exists().where(
        _outbox.c.batch_id == _batches.c.id, _outbox.c.status == OutboxStatus.PENDING.value
    )
    ended = sa.func.coalesce(_batches.c.finished_at, _batches.c.updated_at)
    quiet = sa.and_(
        _batches.c.status.in_([s.value for s in BATCH_ENDED]), ended < cutoff, ~has_requests, ~waiting
    )
    with engine.begin() as connection:
        ids = [int(r[0]) for r in connection.execute(sa.select(_batches.c.id).where(quiet).with_for_update())]
        if not ids:
            return 0
        connection.execute(delete(_outbox).where(_outbox.c.batch_id.in_(ids)))
        connection.execute(delete(_rows).where(_rows.c.batch_id.in_(ids)))
        return _count(connection.execute(delete(_batches).where(_batches.c.id.in_(ids))))


def _blank(of: sa.Table, column: str) -> str | None:
    return None if of.c[column].nullable else ERASED


def _count(result: sa.CursorResult[object]) -> int:
    return int(result.rowcount or 0)

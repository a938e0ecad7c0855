"""The one statement that changes the status of anything the bot follows (a replica request, a sample video,
a test call), and the bookkeeping of a poll that changed nothing.

`compare_and_set` moves a row only from the statuses it names, and queues the notifications that change
causes in the same transaction. Two workers recording the same change (a callback and a sweep, two
processes) cannot both succeed: the second finds the status moved on, and the outbox's unique key refuses
a notification queued twice. Which moves exist is decided by the domain's lifecycles; the repositories of
each table (`replica_requests`, `face_jobs`) are the only callers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Table, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

from storage.db import affected, is_unique_violation, session_scope
from storage.models import OutboxKind
from storage.repository.outbox import CARD, Queued, arm, enqueue_once, rearm_all

T = TypeVar("T")


class _AlreadyQueued(Exception):
    """The notification a move would queue is queued already (or what else it writes was written): the
    move happened elsewhere."""


def compare_and_set(
    engine: Engine,
    table: Table,
    row_id: int,
    *,
    sources: Sequence[str],
    target: str,
    values: Mapping[str, Any],
    request_id: int | None,
    load: Callable[[Session], T],
    queue: Sequence[OutboxKind | Queued] = (),
    arm_card: bool = False,
    rearm: Sequence[OutboxKind] = (),
    add: Sequence[SQLModel] = (),
    release_lease_of: str | None = None,
    condition: ColumnElement[bool] | None = None,
    batch_id: int | None = None,
    then: Callable[[Session], bool] | None = None,
) -> T | None:
    """Move row `row_id` of `table` to `target` if its status is one of `sources` (and `condition` holds),
    writing `values` with it; queue `queue` once each for request `request_id` and re-render its card
    (`arm_card`) in the same transaction, re-render the messages of the kinds in `rearm` already sent for it
    (a question that now says what was decided), and write the rows in `add` (the record of who decided
    what). What `load` reads in that transaction, or None if the row was not in one of `sources` or the
    change was recorded elsewhere first. `release_lease_of`: also give up that worker's lease on the row.

    With `batch_id`, what is posted goes where the batch is followed: the card re-rendered is the batch's,
    and the posts go in its thread (`request_id` None: the batch's own). `then` writes what else the
    move consists of, in the same transaction; the move happens only if it returns True."""
    where = sa.and_(table.c.id == row_id, table.c.status.in_(list(sources)))
    if condition is not None:
        where = sa.and_(where, condition)
    assignments: dict[str, Any] = {**values, "status": target}
    if release_lease_of is not None:
        assignments.update(released(table, release_lease_of))
    try:
        with session_scope(engine) as session:
            if affected(session.execute(update(table).where(where).values(**assignments))) != 1:
                return None
            if then is not None and not then(session):
                raise _AlreadyQueued
            for note in queue:
                if not enqueue_once(session, request_id, note, batch_id=batch_id):
                    raise _AlreadyQueued
            if arm_card:
                arm(session, request_id, CARD, batch_id=batch_id)
            for kind in rearm:
                rearm_all(session, request_id, kind, batch_id=batch_id)
            session.add_all(add)
            return load(session)
    except _AlreadyQueued:
        return None
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return None


def record_poll(engine: Engine, table: Table, row_id: int, *, owner: str, values: Mapping[str, Any]) -> None:
    """Bookkeeping of a poll that changed nothing (when it ran, when the next is due), releasing the
    worker's lease."""
    with session_scope(engine) as session:
        session.execute(update(table).where(table.c.id == row_id).values(**values, **released(table, owner)))


def released(table: Table, owner: str) -> dict[str, Any]:
    """Column values that give up `owner`'s lease and leave anyone else's alone."""
    mine = table.c.lease_owner == owner
    return {
        "lease_owner": sa.case((mine, None), else_=table.c.lease_owner),
        "lease_until": sa.case((mine, None), else_=table.c.lease_until),
    }

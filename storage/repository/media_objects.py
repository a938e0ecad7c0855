"""Photos the bot hosts for Tavus: the bytes themselves (built-in store) or a record of an S3 object, each
tied to its request so it can be purged once the request is over."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from storage.db import affected, session_scope
from storage.models import REFUSED_BY_OTHERS, TERMINAL, MediaObject, ReplicaRequest


def add(engine: Engine, row: MediaObject) -> None:
    with session_scope(engine) as session:
        session.add(row)


def attach(engine: Engine, token: str, request_id: int) -> bool:
    """Tie a stored photo to its request; False if no photo has that token."""
    with session_scope(engine) as session:
        result = session.execute(
            update(MediaObject).where(col(MediaObject.token) == token).values(request_id=request_id)
        )
        return bool(affected(result))


def hosted(engine: Engine, token: str, *, now: datetime) -> tuple[bytes, str, datetime] | None:
    """(bytes, content type, expiry) of a photo the bot serves itself, unless it is unknown or expired."""
    with session_scope(engine) as session:
        row = session.get(MediaObject, token)
        # Empty data marks a row the S3 store keeps for bookkeeping; there is nothing to serve.
        if row is None or not row.data or row.expires_at <= now:
            return None
        return row.data, row.content_type, row.expires_at


def purge_hosted(engine: Engine, *, now: datetime, retention: timedelta) -> int:
    """Delete the photos the bot serves itself whose request ended `retention` ago, or whose URL expired."""
    with session_scope(engine) as session:
        result = session.execute(
            delete(MediaObject).where(_purgeable(now, retention), col(MediaObject.data) != b"")
        )
        return affected(result)


def purgeable_records(engine: Engine, *, now: datetime, retention: timedelta, limit: int) -> list[str]:
    """Keys of S3 objects (recorded without their bytes) that are due for deletion."""
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(col(MediaObject.token))
                .where(_purgeable(now, retention), col(MediaObject.data) == b"")
                .limit(limit)
            )
        )


def forget(engine: Engine, tokens: Sequence[str]) -> int:
    with session_scope(engine) as session:
        result = session.execute(delete(MediaObject).where(col(MediaObject.token).in_(list(tokens))))
        return affected(result)


def _purgeable(now: datetime, retention: timedelta) -> Any:
    """Rows whose request ended more than `retention` ago (at once when the person in the photo or an
    approver said no, or nobody answered: those are purged when it happens, and here if a crash came
    between), and rows whose URL has expired (nobody can fetch them; an unattached upload whose request
    was never created ends here too)."""
    # A terminal row should always have finished_at; updated_at keeps one that does not from living forever.
    ended = func.coalesce(ReplicaRequest.finished_at, ReplicaRequest.updated_at)
    finished = select(col(ReplicaRequest.id)).where(
        col(ReplicaRequest.status).in_([str(s) for s in TERMINAL]),
        or_(ended <= now - retention, col(ReplicaRequest.status).in_([str(s) for s in REFUSED_BY_OTHERS])),
    )
    return or_(col(MediaObject.request_id).in_(finished), col(MediaObject.expires_at) <= now)


def of_requests(engine: Engine, request_ids: Sequence[int], *, records_only: bool = False) -> list[str]:
    """Keys of the photos stored for these requests (`records_only`: those whose bytes live in S3)."""
    statement = select(col(MediaObject.token)).where(col(MediaObject.request_id).in_(list(request_ids)))
    if records_only:
        statement = statement.where(col(MediaObject.data) == b"")
    with session_scope(engine) as session:
        return list(session.scalars(statement))

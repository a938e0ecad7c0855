"""The record of who asked for whose face and who decided what: read for `/replica audit` and
`replica-bot audit` (each decision is written with the move it caused, in `replica_requests.transition`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.models import Decision, ReplicaRequest


def audited(
    engine: Engine, *, since: datetime | None = None, person: str | None = None, limit: int | None = None
) -> list[tuple[ReplicaRequest, list[Decision]]]:
    """Requests newest first (made since `since`, asked for by or of `person`), each with its decisions
    in the order they were made."""
    statement = select(ReplicaRequest)
    if since is not None:
        statement = statement.where(col(ReplicaRequest.created_at) >= since)
    if person is not None:
        statement = statement.where(
            sa.or_(col(ReplicaRequest.requester_id) == person, col(ReplicaRequest.depicted_id) == person)
        )
    statement = statement.order_by(col(ReplicaRequest.created_at).desc(), col(ReplicaRequest.id).desc())
    if limit is not None:
        statement = statement.limit(limit)
    with Session(engine, expire_on_commit=False) as session:
        requests = list(session.exec(statement).all())
        ids = [r.id for r in requests if r.id is not None]
        decisions: dict[int, list[Decision]] = {i: [] for i in ids}
        if ids:
            rows = session.exec(
                select(Decision).where(col(Decision.request_id).in_(ids)).order_by(col(Decision.id))
            ).all()
            for row in rows:
                decisions[row.request_id].append(row)
    return [(r, decisions.get(r.id or 0, [])) for r in requests]

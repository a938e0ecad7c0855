"""Sample videos and test calls of finished faces: reads, the one insert (within the face's allowance, one
of a kind at a time), and the statement that changes a job's status (`storage.repository.moves`).

Which moves exist is decided by `bot.domain.try_face.lifecycle`, the only caller of the writes here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import is_unique_violation, session_scope
from storage.job_models import UNSPENT, FaceJob
from storage.models import ReplicaRequest, table
from storage.repository import moves
from storage.repository.outbox import Queued

_jobs = table(FaceJob)
_requests = table(ReplicaRequest)


class Inserted(NamedTuple):
    """What an insert did: the new job; or the job of the same kind already running (`running`); or
    nothing, because the face has had its allowance (`made` of them)."""

    job: FaceJob | None
    running: FaceJob | None = None
    made: int = 0


def get(engine: Engine, job_id: int) -> FaceJob | None:
    with session_scope(engine) as session:
        return session.get(FaceJob, job_id)


def get_many(engine: Engine, job_ids: Sequence[int]) -> list[FaceJob]:
    if not job_ids:
        return []
    statement = select(FaceJob).where(col(FaceJob.id).in_(list(job_ids))).order_by(col(FaceJob.id))
    with session_scope(engine) as session:
        return list(session.exec(statement).all())


def for_callback(engine: Engine, token: str) -> FaceJob | None:
    with session_scope(engine) as session:
        return session.exec(select(FaceJob).where(FaceJob.callback_token == token)).first()


def running(engine: Engine, active_key: str) -> FaceJob | None:
    """The job holding `active_key`: the call a face is in, the video of a script being made."""
    with session_scope(engine) as session:
        return session.exec(select(FaceJob).where(FaceJob.active_key == active_key)).first()


def made(engine: Engine, request_id: int, kind: str) -> int:
    """How many jobs of `kind` count against the face's allowance (those Tavus refused or never got don't)."""
    with engine.connect() as connection:
        return int(connection.execute(_made(request_id, kind)).scalar_one())


def _made(request_id: int, kind: str) -> sa.Select[Any]:
    return (
        sa.select(sa.func.count())
        .select_from(_jobs)
        .where(
            _jobs.c.kind == kind,
            _jobs.c.request_id == request_id,
            _jobs.c.status.not_in([str(s) for s in UNSPENT]),
        )
    )


def insert(engine: Engine, values: Mapping[str, Any], *, allowance: int | None) -> Inserted:
    """Record a new job before Tavus is called: unless the face has had `allowance` jobs of this kind
    already (None: no limit), or another job holds the same `active_key`.

    Exact under concurrency: the count and the insert are one `INSERT … SELECT`, which SQLite runs under
    its write lock; on PostgreSQL the face's row is locked first, so inserts for one face queue."""
    request_id, kind = values["request_id"], values["kind"]
    chosen = sa.select(*(sa.literal(value, _jobs.c[name].type) for name, value in values.items()))
    if allowance is not None:
        chosen = chosen.where(_made(request_id, kind).scalar_subquery() < allowance)
    statement = sa.insert(_jobs).from_select(list(values), chosen).returning(_jobs.c.id)
    try:
        with session_scope(engine) as session:
            if engine.dialect.name == "postgresql":
                face = sa.select(_requests.c.id).where(_requests.c.id == request_id).with_for_update()
                session.execute(face)
            new_id = session.execute(statement).scalar_one_or_none()
            if new_id is not None:
                return Inserted(session.get(FaceJob, new_id))
            # Over the allowance; but a job already running with the same key is the better answer.
            key = values.get("active_key")
            holder = session.exec(select(FaceJob).where(FaceJob.active_key == key)).first() if key else None
            if holder is not None:
                return Inserted(None, running=holder)
            return Inserted(None, made=int(session.execute(_made(request_id, kind)).scalar_one()))
    except IntegrityError as exc:
        if not is_unique_violation(exc) or values.get("active_key") is None:
            raise
    return Inserted(None, running=running(engine, values["active_key"]))


def transition(
    engine: Engine,
    job: FaceJob,
    *,
    sources: Sequence[str],
    target: str,
    values: Mapping[str, Any],
    queue: Sequence[Queued] = (),
    release_lease_of: str | None = None,
) -> FaceJob | None:
    """Move the job to `target` if its status is one of `sources`, writing `values` and queueing `queue`
    (posts in its face's thread) in the same transaction; the moved job, or None if it had moved on."""
    assert job.id is not None
    job_id = job.id
    return moves.compare_and_set(
        engine,
        _jobs,
        job_id,
        sources=sources,
        target=target,
        values=values,
        request_id=job.request_id,
        load=lambda session: session.get(FaceJob, job_id),
        queue=queue,
        release_lease_of=release_lease_of,
    )


def record_poll(engine: Engine, job_id: int, *, owner: str, values: Mapping[str, Any]) -> None:
    moves.record_poll(engine, _jobs, job_id, owner=owner, values=values)


def known_tavus_ids(engine: Engine, kind: str, tavus_ids: Sequence[str]) -> set[str]:
    """Which of these Tavus ids (videos or conversations) already belong to a job."""
    if not tavus_ids:
        return set()
    known = col(FaceJob.tavus_id).in_(list(tavus_ids))
    statement = select(FaceJob.tavus_id).where(FaceJob.kind == kind, known)
    with session_scope(engine) as session:
        return {tavus_id for tavus_id in session.exec(statement).all() if tavus_id is not None}

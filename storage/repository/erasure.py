"""Forgetting a person, and dropping finished requests after a while: every statement that removes
personal data.

`PERSONAL_COLUMNS` is the one list of what in a request is about a person. A column added to
`replica_request` that holds a name, a Slack id, a link to a photo or video, or words someone wrote
belongs here, or `replica-bot forget` leaves it behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from storage.batch_models import BATCH_ENDED, Batch, BatchRow
from storage.job_models import FaceJob
from storage.models import (
    TERMINAL,
    Decision,
    MediaObject,
    OutboxMessage,
    OutboxStatus,
    ReplicaRequest,
    table,
)
from storage.repository import outbox

_requests = table(ReplicaRequest)
_outbox = table(OutboxMessage)
_media = table(MediaObject)
# Rows about a request that name people too: who decided what, and what was tried with a finished face.
_decisions = table(Decision)
_jobs = table(FaceJob)
_batches = table(Batch)
_rows = table(BatchRow)
_JOB_CONTENT = ("script", "video_url", "thumbnail_url", "join_url", "status_details")


class Role(StrEnum):
    # The person the request is about: they asked for it (or are in the photo). Forgetting them blanks
    # every personal column of the request and deletes its photos.
    SUBJECT = "subject"
    # Someone who acted on the request (affirmed rights, chose, deleted, approved): forgetting them
    # blanks that column where it names them, and nothing else of someone else's request.
    ACTOR = "actor"
    # Words and links about the subject: blanked with the subject.
    CONTENT = "content"


@dataclass(frozen=True)
class Personal:
    column: str
    role: Role = Role.CONTENT


PERSONAL_COLUMNS: tuple[Personal, ...] = (
    Personal("requester_id", Role.SUBJECT),
    Personal("rights_affirmed_by", Role.ACTOR),
    Personal("photo_choice_by", Role.ACTOR),
    Personal("deleted_by", Role.ACTOR),
    # Whose face it is, and who answered for it.
    Personal("depicted_id", Role.SUBJECT),
    Personal("approval_by", Role.ACTOR),
    Personal("consent_note"),
    Personal("approval_reason"),
    Personal("thumbnail_url"),
    Personal("photo_key"),
    Personal("replica_name"),
    Personal("source_url"),
    Personal("slack_file_id"),
    Personal("train_image_url"),
    Personal("train_video_url"),
    Personal("consent_video_url"),
    Personal("thumbnail_video_url"),
    Personal("error_message"),
    Personal("submit_error"),
)
# What a blanked column that cannot be empty holds instead; `erased` tells such a request apart.
ERASED = ""


def erased(request: ReplicaRequest) -> bool:
    """Whether the request's personal fields were removed."""
    return request.requester_id == ERASED


@dataclass(frozen=True)
class Involvement:
    """One request a person is in, and how."""

    request_id: int
    status: str
    replica_id: str | None
    subject: bool


def involvements(engine: Engine, person: str) -> list[Involvement]:
    """Every request `person` asked for or appears in, oldest first."""
    subject = sa.or_(*(_requests.c[p.column] == person for p in PERSONAL_COLUMNS if p.role == Role.SUBJECT))
    named = sa.or_(*(_requests.c[p.column] == person for p in PERSONAL_COLUMNS if p.role != Role.CONTENT))
    statement = (
        sa.select(_requests.c.id, _requests.c.status, _requests.c.replica_id, subject)
        .where(named)
        .order_by(_requests.c.id)
    )
    with engine.connect() as connection:
        return [Involvement(int(a), str(b), c, bool(d)) for a, b, c, d in connection.execute(statement)]


@dataclass(frozen=True)
class Erased:
    requests: int
    mentions: int
    photos: int


def erase(engine: Engine, person: str, subject_of: Sequence[int]) -> Erased:
    """In one transaction: blank every personal column of the requests in `subject_of`, drop their
    stored photos and the posts still waiting for Slack (their cards are re-rendered without the
    person), and blank `person` wherever else they acted on a request. Counts and statuses stay."""
    ids = list(subject_of)
    blank = {p.column: _blank(p.column) for p in PERSONAL_COLUMNS}
    with engine.begin() as connection:
        requests = _rowcount(connection, update(_requests).where(_requests.c.id.in_(ids)).values(**blank))
        mentions = 0
        for column in (p.column for p in PERSONAL_COLUMNS if p.role == Role.ACTOR):
            named = _requests.c[column] == person
            mentions += _rowcount(connection, update(_requests).where(named).values({column: None}))
        mentions += _erase_around(connection, person, ids)
        photos = _rowcount(connection, delete(_media).where(_media.c.request_id.in_(ids)))
        outbox.drop_posts(connection, ids)
        outbox.rearm_placed_cards(connection, ids)
    return Erased(requests, mentions, photos)


def _erase_around(connection: Connection, person: str, ids: list[int]) -> int:
    """The decisions and the sample videos or test calls of the requests in `ids` lose who and what; on
    anyone else's, `person` is blanked where they decided or asked. How many other rows named them."""
    of_subject = _decisions.c.request_id.in_(ids)
    connection.execute(update(_decisions).where(of_subject).values(by_user=None, note=None))
    blank_jobs = {"asked_by": ERASED, **dict.fromkeys(_JOB_CONTENT)}
    connection.execute(update(_jobs).where(_jobs.c.request_id.in_(ids)).values(**blank_jobs))
    named = _decisions.c.by_user == person
    decided = _rowcount(connection, update(_decisions).where(named).values(by_user=None))
    asked = _rowcount(connection, update(_jobs).where(_jobs.c.asked_by == person).values(asked_by=ERASED))
    return decided + asked


def finished_before(engine: Engine, cutoff: datetime, *, after: int = 0, limit: int) -> list[int]:
    """Finished requests (ids above `after`) that ended before `cutoff` and have nothing left to say in
    Slack."""
    ended = sa.func.coalesce(_requests.c.finished_at, _requests.c.updated_at)
    statement = (
        sa.select(_requests.c.id)
        .where(_requests.c.id > after, _finished(), ended < cutoff, ~_has_outbox(pending_only=True))
        .order_by(_requests.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [int(row[0]) for row in connection.execute(statement)]


def drop_finished(engine: Engine, request_ids: Sequence[int]) -> tuple[int, int]:
    """Delete these requests with their notifications and photos, in one transaction, if they are still
    finished and nothing of theirs waits for Slack (a process may have queued something since they were
    chosen: that request stays for the next run). A retry of one of them forgets what it retried.
    (requests, photos) deleted."""
    ids = list(request_ids)
    if not ids:
        return 0, 0
    quiet = sa.and_(_requests.c.id.in_(ids), _finished(), ~_has_outbox(pending_only=True))
    try:
        with engine.begin() as connection:
            # Locked (on PostgreSQL) until the end: a status change that would queue a post waits for us,
            # then finds the request gone.
            ids = [
                row[0] for row in connection.execute(sa.select(_requests.c.id).where(quiet).with_for_update())
            ]
            outbox.drop_delivered(connection, ids)
            connection.execute(update(_requests).where(_requests.c.retry_of.in_(ids)).values(retry_of=None))
            connection.execute(delete(_decisions).where(_decisions.c.request_id.in_(ids)))
            # A job still running (a live test call) keeps its face's request for the next run.
            ended = sa.and_(_jobs.c.request_id.in_(ids), _jobs.c.active_key.is_(None))
            connection.execute(delete(_jobs).where(ended))
            photos = _rowcount(connection, delete(_media).where(_media.c.request_id.in_(ids)))
            # A row of an ended batch forgets the request it became (the batch goes once all have).
            connection.execute(update(_rows).where(_rows.c.request_id.in_(ids)).values(request_id=None))
            return _rowcount(connection, delete(_requests).where(_requests.c.id.in_(ids))), photos
    except IntegrityError:
        # Something referred to one of them meanwhile (SQLite has no row locks): the batch waits for the
        # next run, whole.
        return 0, 0


def _finished() -> Any:
    """Ended, and not a row of a batch still going (its card counts it, and it must not be made again)."""
    batch_ended = sa.exists().where(
        _batches.c.id == _requests.c.batch_id, _batches.c.status.in_([s.value for s in BATCH_ENDED])
    )
    in_no_batch_going_on = sa.or_(_requests.c.batch_id.is_(None), batch_ended)
    return sa.and_(_requests.c.status.in_([s.value for s in TERMINAL]), in_no_batch_going_on)


def _has_outbox(*, pending_only: bool) -> Any:
    rows = sa.exists().where(_outbox.c.request_id == _requests.c.id)
    return rows.where(_outbox.c.status == OutboxStatus.PENDING.value) if pending_only else rows


def _blank(column: str) -> str | None:
    return None if _requests.c[column].nullable else ERASED


def _rowcount(connection: Connection, statement: Any) -> int:
    return int(connection.execute(statement).rowcount or 0)

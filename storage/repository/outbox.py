"""The outbox: notifications waiting for Slack, written in the same transaction as the change that caused
them, and what delivery records about each one (attempts, the posted ts, a move to the requester's DM)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.job_models import FaceJob, JobKind
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, UTCDateTime, table, utcnow
from storage.repository.leases import ANY_TEAM

_requests = table(ReplicaRequest)
_outbox = table(OutboxMessage)


class Queued(NamedTuple):
    """A notification a change queues: its kind, which one (`subject`, where a request has several of
    that kind) and, when it does not go into the request's card or thread, to whom (`recipient`)."""

    kind: OutboxKind
    subject: str | None = None
    recipient: str | None = None


def _key(request_id: int, kind: OutboxKind, subject: str | None = None) -> str:
    return f"{request_id}:{kind}" if subject is None else f"{request_id}:{kind}:{subject}"


CARD = Queued(OutboxKind.CARD)


def arm(session: Session, request_id: int, note: Queued = CARD) -> None:
    """Ask for a message that is kept current (the request card, or a question whose message later says
    what was decided) to be (re)rendered; repeated calls before delivery coalesce into one."""
    key = _key(request_id, note.kind, note.subject)
    row = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).first()
    if row is None:
        session.add(_new_row(request_id, note, key))
        return
    _bump(row)
    session.add(row)


def rearm_all(session: Session, request_id: int, kind: OutboxKind) -> int:
    """Re-render every message of `kind` already queued for the request (each approver's, say); how many."""
    rows = session.exec(
        select(OutboxMessage).where(OutboxMessage.request_id == request_id, OutboxMessage.kind == kind)
    ).all()
    for row in rows:
        _bump(row)
        session.add(row)
    return len(rows)


def _bump(row: OutboxMessage) -> None:
    row.version += 1
    if row.status != OutboxStatus.DEAD:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = utcnow()


def enqueue_once(session: Session, request_id: int, note: OutboxKind | Queued) -> bool:
    """Queue a one-off notification; False if it was already queued (or sent) for this request."""
    note = note if isinstance(note, Queued) else Queued(note)
    key = _key(request_id, note.kind, note.subject)
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None:
        return False
    # The unique dedupe_key is the real guard: a concurrent insert of the same key fails the transaction,
    # which rolls back the status change with it, so the other worker's identical change stands alone.
    session.add(_new_row(request_id, note, key))
    return True


def _new_row(request_id: int, note: Queued, key: str) -> OutboxMessage:
    return OutboxMessage(
        request_id=request_id, kind=note.kind, subject=note.subject, recipient=note.recipient, dedupe_key=key
    )


def get(engine: Engine, outbox_id: int) -> OutboxMessage | None:
    with session_scope(engine) as session:
        return session.get(OutboxMessage, outbox_id)


class ForDelivery(NamedTuple):
    """An outbox row and what rendering it reads: its request, for a card the failed request it retries
    (its card links back), and for a post about a sample video or a test call the job its subject names."""

    row: OutboxMessage
    request: ReplicaRequest
    original: ReplicaRequest | None = None
    job: FaceJob | None = None


def load_for_delivery(engine: Engine, outbox_id: int) -> ForDelivery | None:
    with session_scope(engine) as session:
        row = session.get(OutboxMessage, outbox_id)
        request = session.get(ReplicaRequest, row.request_id) if row else None
        if row is None or request is None:
            return None
        original = (
            session.get(ReplicaRequest, request.retry_of)
            if row.kind == OutboxKind.CARD and request.retry_of
            else None
        )
        return ForDelivery(row, request, original, _job_named(session, row.subject))


def _job_named(session: Session, subject: str | None) -> FaceJob | None:
    """The job a subject like `video:17` names, if it is one."""
    kind, _, job_id = (subject or "").partition(":")
    if kind not in set(JobKind) or not job_id.isdigit():
        return None
    job = session.get(FaceJob, int(job_id))
    return job if job is not None and job.kind == kind else None


def in_delivery_order(engine: Engine, outbox_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(outbox id, where it goes) for these rows, in the order they are delivered: where it goes is the
    channel of the request's card, or `dm:<user>` for a note to the requester.

    Posts under cards already in Slack come first: an outcome under a card people are watching never
    waits behind cards for newer requests. Then each new card, followed at once by its own thread posts
    (they need its ts)."""
    if not outbox_ids:
        return []
    card_posted = _requests.c.card_ts.is_not(None)
    statement = (
        sa.select(
            _outbox.c.id,
            _outbox.c.kind,
            sa.func.coalesce(_requests.c.card_channel_id, _requests.c.channel_id),
            _requests.c.requester_id,
            _outbox.c.recipient,
        )
        .join(_requests, _requests.c.id == _outbox.c.request_id)
        .where(_outbox.c.id.in_(list(outbox_ids)))
        .order_by(
            sa.case((card_posted, 0), else_=1),
            sa.case((card_posted, 0), else_=_outbox.c.request_id),
            sa.case((_outbox.c.kind == OutboxKind.CARD.value, 0), else_=1),
            _outbox.c.id,
        )
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return [(row[0], _destination(row[1], row[4], str(row[2]), row[3])) for row in rows]


def _destination(kind: str, recipient: str | None, channel: str, requester: str) -> str:
    if recipient is not None:
        return f"dm:{recipient}" if recipient[:1] in ("U", "W") else recipient
    return f"dm:{requester}" if kind == OutboxKind.REQUESTER_DM else channel


def teams_with_due_refreshes(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """The workspaces (team ids, `leases.ANY_TEAM` for requests without one) with card edits due."""
    statement = (
        sa.select(sa.func.coalesce(_requests.c.team_id, ANY_TEAM))
        .distinct()
        .join(_requests, _requests.c.id == _outbox.c.request_id)
        .where(
            _outbox.c.kind == OutboxKind.CARD.value,
            _outbox.c.status == OutboxStatus.PENDING.value,
            _outbox.c.next_attempt_at <= (now or utcnow()),
            _requests.c.card_ts.is_not(None),
        )
    )
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(statement)]


def outcome_post(engine: Engine, request_id: int) -> OutboxMessage | None:
    """The failure, completion or (phoenix-4.5) preview post queued for a request, if any."""
    kinds = [OutboxKind.FAILURE.value, OutboxKind.COMPLETION.value, OutboxKind.PREVIEW_READY.value]
    statement = select(OutboxMessage).where(
        OutboxMessage.request_id == request_id, col(OutboxMessage.kind).in_(kinds)
    )
    with session_scope(engine) as session:
        return session.exec(statement).first()


def record_delivered(
    engine: Engine,
    outbox_id: int,
    *,
    ts: str | None,
    rendered_version: int,
    fallback_channel: str | None = None,
    card: tuple[int, str] | None = None,
    moved: bool = False,
    posted_channel: str | None = None,
) -> None:
    """Mark the row delivered (`ts` None: nothing needed posting), via the DM with `fallback_channel`;
    for a card, remember where it is (`card`: request id and channel) in the same transaction; for a
    message addressed to someone, where it was posted (`posted_channel`), to edit it there later."""
    with engine.begin() as connection:
        if card is not None and ts is not None:
            place_card(connection, card[0], card[1], ts, moved=moved)
        record_outbox_sent(
            connection,
            outbox_id,
            ts=ts,
            rendered_version=rendered_version,
            fallback_channel=fallback_channel,
            posted_channel=posted_channel,
        )


def record_outbox_sent(
    connection: Connection,
    outbox_id: int,
    *,
    ts: str | None,
    rendered_version: int,
    fallback_channel: str | None = None,
    posted_channel: str | None = None,
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
    if posted_channel is not None:
        values["posted_channel_id"] = sa.func.coalesce(_outbox.c.posted_channel_id, posted_channel)
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


def defer(engine: Engine, outbox_ids: Sequence[int], *, until: datetime) -> None:
    """Not now: the rows wait (their channel is rate-limited, or the post they follow is not out yet).
    One statement for all of them: a rate-limited channel defers the rest of its rows at once."""
    if not outbox_ids:
        return
    values = {"next_attempt_at": until, "lease_owner": None, "lease_until": None}
    with engine.begin() as connection:
        connection.execute(update(_outbox).where(_outbox.c.id.in_(list(outbox_ids))).values(**values))


def record_failure(
    engine: Engine,
    outbox_id: int,
    *,
    error: str,
    fall_back: bool = False,
    dead: bool = False,
    retry_at: datetime | None = None,
) -> None:
    """An attempt failed with `error`: take the row to the requester's DM from now on (`fall_back`), give up
    on it (`dead`), or try again at `retry_at`."""
    values: dict[str, Any] = {
        "last_error": error,
        "lease_owner": None,
        "lease_until": None,
        "failures": _outbox.c.failures + 1,
    }
    if fall_back:
        values.update(fallback_reason=error, attempts=0, next_attempt_at=utcnow())
    elif dead:
        values["status"] = OutboxStatus.DEAD.value
    elif retry_at is not None:
        values["next_attempt_at"] = retry_at
    _set(engine, outbox_id, **values)


def _set(engine: Engine, outbox_id: int, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(_outbox).where(_outbox.c.id == outbox_id).values(**values))


def drop_posts(connection: Connection, request_ids: Sequence[int]) -> None:
    """Forget every notification of these requests but their cards, and cards never posted."""
    ids = list(request_ids)
    unposted = ~sa.exists().where(_requests.c.id == _outbox.c.request_id, _requests.c.card_ts.is_not(None))
    card = _outbox.c.kind == OutboxKind.CARD.value
    connection.execute(delete(_outbox).where(_outbox.c.request_id.in_(ids), sa.or_(~card, unposted)))


def rearm_placed_cards(connection: Connection, request_ids: Sequence[int]) -> None:
    """Render the cards of these requests (already in Slack) once more, to their latest state."""
    statement = (
        update(_outbox)
        .where(
            _outbox.c.request_id.in_(list(request_ids)),
            _outbox.c.kind == OutboxKind.CARD.value,
            _outbox.c.status != OutboxStatus.DEAD.value,
        )
        .values(version=_outbox.c.version + 1, status=OutboxStatus.PENDING.value, next_attempt_at=utcnow())
    )
    connection.execute(statement)


def drop_delivered(connection: Connection, request_ids: Sequence[int]) -> None:
    """Forget the notifications of these requests that are done with (sent, or given up on)."""
    done = _outbox.c.status != OutboxStatus.PENDING.value
    connection.execute(delete(_outbox).where(_outbox.c.request_id.in_(list(request_ids)), done))

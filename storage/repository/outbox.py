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
from storage.models import (
    CARDS,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    ReplicaRequest,
    UTCDateTime,
    table,
    utcnow,
)
from storage.repository.outbox_reads import ForDelivery as ForDelivery
from storage.repository.outbox_reads import in_delivery_order as in_delivery_order
from storage.repository.outbox_reads import load_for_delivery as load_for_delivery
from storage.repository.outbox_reads import outcome_post as outcome_post
from storage.repository.outbox_reads import teams_with_due_refreshes as teams_with_due_refreshes

_requests = table(ReplicaRequest)
_outbox = table(OutboxMessage)


class Queued(NamedTuple):
    """A notification a change queues: its kind, which one (`subject`, where a request has several of
    that kind) and, when it does not go into the request's card or thread, to whom (`recipient`)."""

    kind: OutboxKind
    subject: str | None = None
    recipient: str | None = None


def _key(
    request_id: int | None, kind: OutboxKind, subject: str | None = None, batch_id: int | None = None
) -> str:
    owner = f"b{batch_id}" if request_id is None else str(request_id)
    return f"{owner}:{kind}" if subject is None else f"{owner}:{kind}:{subject}"


CARD = Queued(OutboxKind.CARD)
BATCH_CARD = Queued(OutboxKind.BATCH_CARD)


def arm(
    session: Session, request_id: int | None, note: Queued = CARD, *, batch_id: int | None = None
) -> None:
    """Ask for a message that is kept current (the request card, or a question whose message later says
    what was decided) to be (re)rendered; repeated calls before delivery coalesce into one. A request of a
    batch (`batch_id`) has no card of its own: the batch's card is re-rendered instead."""
    if batch_id is not None and note.kind in CARDS:
        request_id, note = None, BATCH_CARD
    key = _key(request_id, note.kind, note.subject, batch_id)
    row = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).first()
    if row is None:
        session.add(_new_row(request_id, note, key, batch_id))
        return
    _bump(row)
    session.add(row)


def rearm_all(
    session: Session, request_id: int | None, kind: OutboxKind, *, batch_id: int | None = None
) -> int:
    """Re-render every message of `kind` already queued for the request (each approver's, say), or for
    the batch itself when there is no `request_id`; how many."""
    owner = (
        OutboxMessage.request_id == request_id
        if request_id is not None
        else sa.and_(col(OutboxMessage.batch_id) == batch_id, col(OutboxMessage.request_id).is_(None))
    )
    rows = session.exec(select(OutboxMessage).where(owner, OutboxMessage.kind == kind)).all()
    for row in rows:
        _bump(row)
        session.add(row)
    return len(rows)


def _bump(row: OutboxMessage) -> None:
    row.version += 1
    if row.status != OutboxStatus.DEAD:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = utcnow()


def enqueue_once(
    session: Session, request_id: int | None, note: OutboxKind | Queued, *, batch_id: int | None = None
) -> bool:
    """Queue a one-off notification; False if it was already queued (or sent) for this request (or, with
    no `request_id`, this batch)."""
    note = note if isinstance(note, Queued) else Queued(note)
    key = _key(request_id, note.kind, note.subject, batch_id)
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None:
        return False
    # The unique dedupe_key is the real guard: a concurrent insert of the same key fails the transaction,
    # which rolls back the status change with it, so the other worker's identical change stands alone.
    session.add(_new_row(request_id, note, key, batch_id))
    return True


def _new_row(request_id: int | None, note: Queued, key: str, batch_id: int | None = None) -> OutboxMessage:
    # A batch request's message addressed to someone (the colleague's DM) is the request's alone; its
    # thread posts, and the batch's own rows, are posted where the batch is.
    batch = batch_id if request_id is None or note.recipient is None else None
    return OutboxMessage(
        request_id=request_id,
        batch_id=batch,
        kind=note.kind,
        subject=note.subject,
        recipient=note.recipient,
        dedupe_key=key,
    )


def get(engine: Engine, outbox_id: int) -> OutboxMessage | None:
    with session_scope(engine) as session:
        return session.get(OutboxMessage, outbox_id)


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


def record_group_sent(engine: Engine, lead_id: int, *, ts: str, rendered_version: int) -> None:
    """The lead's post is in Slack: it and every row it told are delivered, in one transaction."""
    now = sa.literal(utcnow(), UTCDateTime())
    members = update(_outbox).where(
        _outbox.c.group_lead == lead_id,
        _outbox.c.id != lead_id,
        _outbox.c.status == OutboxStatus.PENDING.value,
    )
    told = {
        "status": OutboxStatus.SENT.value,
        "slack_ts": ts,
        "delivered_version": _outbox.c.version,
        "sent_at": now,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
    }
    with engine.begin() as connection:
        record_outbox_sent(connection, lead_id, ts=ts, rendered_version=rendered_version)
        connection.execute(members.values(**told))


def leave_group(engine: Engine, outbox_id: int) -> None:
    """The post meant to tell this row was given up: the row is told on its own."""
    with engine.begin() as connection:
        connection.execute(update(_outbox).where(_outbox.c.id == outbox_id).values(group_lead=None))


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


def rearm_batch_cards(connection: Connection, batch_ids: Sequence[int]) -> None:
    """Render the cards of these batches once more, to their latest state."""
    statement = (
        update(_outbox)
        .where(
            _outbox.c.batch_id.in_(list(batch_ids)),
            _outbox.c.kind == OutboxKind.BATCH_CARD.value,
            _outbox.c.status != OutboxStatus.DEAD.value,
        )
        .values(version=_outbox.c.version + 1, status=OutboxStatus.PENDING.value, next_attempt_at=utcnow())
    )
    connection.execute(statement)


def drop_delivered(connection: Connection, request_ids: Sequence[int]) -> None:
    """Forget the notifications of these requests that are done with (sent, or given up on)."""
    done = _outbox.c.status != OutboxStatus.PENDING.value
    connection.execute(delete(_outbox).where(_outbox.c.request_id.in_(list(request_ids)), done))

"""storage.repository on SQLite and PostgreSQL: leases are exclusive, even with many workers at once."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.db import make_engine, migrate, session_scope
from storage.models import (
    IN_FLIGHT,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    ReplicaRequest,
    RequestStatus,
    utcnow,
)
from storage.repository import leases, outbox, replica_requests

NOT_IN_FLIGHT = [s for s in RequestStatus if s not in IN_FLIGHT]
THREADS = 8
ROWS = 200
LIMIT = 7


def add_request(engine: Engine, **overrides: Any) -> int:
    token = uuid.uuid4().hex
    fields: dict[str, Any] = {
        "channel_id": "C1",
        "requester_id": "U1",
        "replica_name": "Ana",
        "callback_token": f"cb-{token}",
        "idempotency_key": f"idem-{token}",
        "status": RequestStatus.TRAINING,
        "next_poll_at": utcnow() - timedelta(seconds=5),
    }
    fields.update(overrides)
    with session_scope(engine) as session:
        request = ReplicaRequest(**fields)
        session.add(request)
        session.flush()
        assert request.id is not None
        return request.id


def add_requests(engine: Engine, count: int, **overrides: Any) -> list[int]:
    base = utcnow() - timedelta(minutes=1)
    with session_scope(engine) as session:
        rows = []
        for i in range(count):
            token = uuid.uuid4().hex
            fields: dict[str, Any] = {
                "channel_id": "C1",
                "requester_id": "U1",
                "replica_name": f"Ana {i}",
                "callback_token": f"cb-{token}",
                "idempotency_key": f"idem-{token}",
                "status": RequestStatus.TRAINING,
                "next_poll_at": base + timedelta(milliseconds=i),
            }
            fields.update(overrides)
            rows.append(ReplicaRequest(**fields))
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows if r.id is not None]


def add_outbox(engine: Engine, request_id: int, count: int, **overrides: Any) -> list[int]:
    with session_scope(engine) as session:
        rows = []
        for _ in range(count):
            fields: dict[str, Any] = {
                "request_id": request_id,
                "kind": OutboxKind.FAILURE,
                "dedupe_key": uuid.uuid4().hex,
                "next_attempt_at": utcnow() - timedelta(seconds=5),
            }
            fields.update(overrides)
            rows.append(OutboxMessage(**fields))
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows if r.id is not None]


def get_request(engine: Engine, request_id: int) -> ReplicaRequest:
    with Session(engine) as session:
        row = session.get(ReplicaRequest, request_id)
        assert row is not None
        return row


def outbox_rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


# --- claim_due_requests --------------------------------------------------------------------------------


def test_claim_due_requests_returns_only_due_free_in_flight_rows(engine: Engine) -> None:
    now = utcnow()
    due = add_request(engine)
    expired_lease = add_request(engine, lease_owner="old", lease_until=now - timedelta(seconds=1))
    add_request(engine, next_poll_at=now + timedelta(minutes=5))  # not due yet
    add_request(engine, next_poll_at=None)  # never scheduled
    add_request(engine, lease_owner="other", lease_until=now + timedelta(minutes=1))  # someone has it
    for status in NOT_IN_FLIGHT:
        add_request(engine, status=status)

    claimed = leases.claim_due_requests(engine, owner="w1", now=now, lease_seconds=120)

    assert claimed == sorted([due, expired_lease])
    for request_id in claimed:
        row = get_request(engine, request_id)
        assert row.lease_owner == "w1"
        assert row.lease_until == now + timedelta(seconds=120)


def test_second_claim_before_expiry_gets_nothing_and_after_expiry_gets_it_again(engine: Engine) -> None:
    now = utcnow()
    request_id = add_request(engine)
    assert leases.claim_due_requests(engine, owner="w1", now=now, lease_seconds=60) == [request_id]
    assert leases.claim_due_requests(engine, owner="w1", now=now) == []
    assert leases.claim_due_requests(engine, owner="w2", now=now + timedelta(seconds=59)) == []

    later = now + timedelta(seconds=61)
    assert leases.claim_due_requests(engine, owner="w2", now=later) == [request_id]
    assert get_request(engine, request_id).lease_owner == "w2"


@pytest.mark.parametrize("status", NOT_IN_FLIGHT)
def test_finished_rows_are_never_claimed(engine: Engine, status: RequestStatus) -> None:
    add_request(engine, status=status, next_poll_at=utcnow() - timedelta(days=1))
    far_future = utcnow() + timedelta(days=365)
    assert leases.claim_due_requests(engine, owner="w1", now=far_future) == []
    assert leases.claim_due_requests(engine, owner="w1") == []


def test_claim_respects_limit_and_takes_the_most_overdue_first(engine: Engine) -> None:
    now = utcnow()
    ids = [add_request(engine, next_poll_at=now - timedelta(minutes=m)) for m in range(1, 6)]
    # ids[4] is the most overdue (5 minutes), ids[3] the next.
    assert leases.claim_due_requests(engine, owner="w1", now=now, limit=2) == sorted([ids[4], ids[3]])
    assert leases.claim_due_requests(engine, owner="w1", now=now, limit=10) == sorted(ids[:3])


def test_claim_request_leases_one_in_flight_row_whether_or_not_due(engine: Engine) -> None:
    not_due = add_request(engine, next_poll_at=utcnow() + timedelta(hours=1))
    finished = add_request(engine, status=RequestStatus.COMPLETED)
    assert leases.claim_request(engine, not_due, owner="cb") is True
    assert leases.claim_request(engine, not_due, owner="other") is False
    assert leases.claim_request(engine, finished, owner="cb") is False
    assert leases.claim_request(engine, 999_999, owner="cb") is False
    assert get_request(engine, not_due).lease_owner == "cb"


def test_record_poll_releases_only_its_owners_lease(engine: Engine) -> None:
    request_id = add_request(engine)
    leases.claim_due_requests(engine, owner="w1")
    replica_requests.record_poll(engine, request_id, owner="w2", values={"last_polled_at": utcnow()})
    assert get_request(engine, request_id).lease_owner == "w1"
    replica_requests.record_poll(engine, request_id, owner="w1", values={"last_polled_at": utcnow()})
    assert get_request(engine, request_id).lease_owner is None
    assert leases.claim_due_requests(engine, owner="w3") == [request_id]


# --- exclusivity under concurrency -----------------------------------------------------------------------


def _race(claim: Callable[[str], list[int]]) -> dict[str, list[list[int]]]:
    """THREADS workers claim until they get nothing; returns the batches each one got."""
    barrier = threading.Barrier(THREADS)
    got: dict[str, list[list[int]]] = {}
    errors: list[BaseException] = []

    def worker(owner: str) -> None:
        mine: list[list[int]] = []
        try:
            barrier.wait(timeout=30)
            while batch := claim(owner):
                mine.append(batch)
        except BaseException as exc:
            errors.append(exc)
        got[owner] = mine

    threads = [threading.Thread(target=worker, args=(f"worker-{i}",)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors
    return got


def _assert_each_claimed_once(got: dict[str, list[list[int]]], ids: list[int], limit: int) -> None:
    counts = Counter(i for batches in got.values() for batch in batches for i in batch)
    duplicated = {i: n for i, n in counts.items() if n > 1}
    assert not duplicated, f"{len(duplicated)} rows were claimed more than once"
    assert sorted(counts) == sorted(ids)
    # A lease is meant for a batch the worker can finish before it expires: never more than asked for.
    sizes = sorted((len(batch) for batches in got.values() for batch in batches), reverse=True)
    assert sizes[0] <= limit, f"a claim with limit={limit} returned {sizes[0]} rows (batch sizes {sizes[:5]})"


def test_concurrent_request_claims_are_exclusive(engine: Engine) -> None:
    ids = add_requests(engine, ROWS)
    got = _race(lambda owner: leases.claim_due_requests(engine, owner=owner, limit=LIMIT))
    _assert_each_claimed_once(got, ids, LIMIT)
    with Session(engine) as session:
        owners = dict(session.exec(select(ReplicaRequest.id, ReplicaRequest.lease_owner)).all())
    for owner, batches in got.items():
        assert all(owners[i] == owner for batch in batches for i in batch)
    assert leases.claim_due_requests(engine, owner="late") == []


def test_concurrent_outbox_claims_are_exclusive(engine: Engine) -> None:
    request_id = add_request(engine)
    ids = add_outbox(engine, request_id, ROWS)
    got = _race(lambda owner: leases.claim_due_outbox(engine, owner=owner, limit=LIMIT))
    _assert_each_claimed_once(got, ids, LIMIT)
    owners = {row.id: row.lease_owner for row in outbox_rows(engine)}
    for owner, batches in got.items():
        assert all(owners[i] == owner for batch in batches for i in batch)
    assert leases.claim_due_outbox(engine, owner="late") == []


# --- claim_due_outbox ------------------------------------------------------------------------------------


def test_claim_due_outbox_returns_only_due_pending_free_rows(engine: Engine) -> None:
    now = utcnow()
    request_id = add_request(engine)
    (due,) = add_outbox(engine, request_id, 1)
    add_outbox(engine, request_id, 1, status=OutboxStatus.SENT)
    add_outbox(engine, request_id, 1, status=OutboxStatus.DEAD)
    add_outbox(engine, request_id, 1, next_attempt_at=now + timedelta(minutes=10))
    add_outbox(engine, request_id, 1, lease_owner="other", lease_until=now + timedelta(minutes=10))
    (expired,) = add_outbox(engine, request_id, 1, lease_owner="gone", lease_until=now - timedelta(seconds=1))

    first = leases.claim_due_outbox(engine, owner="d1", now=now, lease_seconds=60)
    assert first == sorted([due, expired])
    assert leases.claim_due_outbox(engine, owner="d2", now=now) == []
    later = now + timedelta(seconds=61)
    assert leases.claim_due_outbox(engine, owner="d2", now=later) == sorted([due, expired])


def test_sent_and_dead_outbox_rows_are_never_claimed(engine: Engine) -> None:
    request_id = add_request(engine)
    add_outbox(engine, request_id, 2, status=OutboxStatus.SENT)
    add_outbox(engine, request_id, 2, status=OutboxStatus.DEAD)
    assert leases.claim_due_outbox(engine, owner="d1", now=utcnow() + timedelta(days=30)) == []


def test_renew_outbox_lease_only_for_the_current_holder(engine: Engine) -> None:
    request_id = add_request(engine)
    (row,) = add_outbox(engine, request_id, 1)
    assert leases.claim_due_outbox(engine, owner="d1", lease_seconds=60) == [row]
    assert leases.renew_outbox_lease(engine, row, owner="d2", lease_seconds=60) is False
    assert leases.renew_outbox_lease(engine, row, owner="d1", lease_seconds=600) is True
    (stored,) = outbox_rows(engine)
    assert stored.lease_until is not None
    assert stored.lease_until > utcnow() + timedelta(seconds=500)


def test_start_outbox_attempt_counts_the_post_and_extends_the_holders_lease(engine: Engine) -> None:
    request_id = add_request(engine)
    (row,) = add_outbox(engine, request_id, 1)
    assert leases.claim_due_outbox(engine, owner="d1", lease_seconds=60) == [row]
    assert leases.start_outbox_attempt(engine, row, owner="d2", lease_seconds=60) is None
    assert leases.start_outbox_attempt(engine, row, owner="d1", lease_seconds=600) == 1
    assert leases.start_outbox_attempt(engine, row, owner="d1", lease_seconds=600) == 2
    (stored,) = outbox_rows(engine)
    assert stored.attempts == 2
    assert stored.lease_until is not None
    assert stored.lease_until > utcnow() + timedelta(seconds=500)


def test_record_outbox_sent_marks_the_rendered_version_sent(engine: Engine) -> None:
    request_id = add_request(engine)
    (row,) = add_outbox(engine, request_id, 1)
    leases.claim_due_outbox(engine, owner="d1")
    with engine.begin() as connection:
        outbox.record_outbox_sent(connection, row, ts="1.000100", rendered_version=1)
    (stored,) = outbox_rows(engine)
    assert (stored.status, stored.slack_ts, stored.delivered_version) == (OutboxStatus.SENT, "1.000100", 1)
    assert stored.lease_owner is None and stored.lease_until is None
    assert stored.sent_at is not None and stored.sent_at.tzinfo is not None


def test_record_outbox_sent_rearms_a_row_that_changed_while_posting(engine: Engine) -> None:
    request_id = add_request(engine)
    card_key = f"{request_id}:{OutboxKind.CARD}"
    (row,) = add_outbox(engine, request_id, 1, kind=OutboxKind.CARD, dedupe_key=card_key)
    leases.claim_due_outbox(engine, owner="d1")
    with session_scope(engine) as session:
        outbox.arm(session, request_id)  # the card changed: version 2
    with engine.begin() as connection:
        outbox.record_outbox_sent(connection, row, ts="1.000100", rendered_version=1)
    (stored,) = outbox_rows(engine)
    assert stored.status == OutboxStatus.PENDING and stored.delivered_version == 1 and stored.version == 2
    assert stored.sent_at is None
    assert leases.claim_due_outbox(engine, owner="d2") == [row]


def test_record_outbox_sent_via_the_dm_keeps_the_dm_post(engine: Engine) -> None:
    request_id = add_request(engine)
    (row,) = add_outbox(engine, request_id, 1, slack_ts="1.000001")
    leases.claim_due_outbox(engine, owner="d1")
    with engine.begin() as connection:
        outbox.record_outbox_sent(connection, row, ts="2.000002", rendered_version=1, fallback_channel="D1")
    (stored,) = outbox_rows(engine)
    assert (stored.status, stored.slack_ts, stored.fallback_channel_id) == (
        OutboxStatus.SENT_VIA_FALLBACK,
        "2.000002",
        "D1",
    )


def test_place_card_keeps_the_first_post_unless_the_card_moved(engine: Engine) -> None:
    request_id = add_request(engine)
    with engine.begin() as connection:
        outbox.place_card(connection, request_id, "C1", "1.000001")
        outbox.place_card(connection, request_id, "C1", "9.000009")
    stored = get_request(engine, request_id)
    assert (stored.card_channel_id, stored.card_ts) == ("C1", "1.000001")
    with engine.begin() as connection:
        outbox.place_card(connection, request_id, "D1", "2.000002", moved=True)
    stored = get_request(engine, request_id)
    assert (stored.card_channel_id, stored.card_ts) == ("D1", "2.000002")


# --- enqueue_once and arm ---------------------------------------------------------------------------------


def test_enqueue_once_queues_one_row(engine: Engine) -> None:
    request_id = add_request(engine)
    with session_scope(engine) as session:
        assert outbox.enqueue_once(session, request_id, OutboxKind.FAILURE) is True
    with session_scope(engine) as session:
        assert outbox.enqueue_once(session, request_id, OutboxKind.FAILURE) is False
    rows = outbox_rows(engine)
    assert [(r.request_id, r.kind, r.status) for r in rows] == [
        (request_id, OutboxKind.FAILURE, OutboxStatus.PENDING)
    ]


def test_enqueue_once_is_still_once_after_delivery(engine: Engine) -> None:
    request_id = add_request(engine)
    with session_scope(engine) as session:
        outbox.enqueue_once(session, request_id, OutboxKind.COMPLETION)
    with session_scope(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        row.status = OutboxStatus.SENT
        session.add(row)
    with session_scope(engine) as session:
        assert outbox.enqueue_once(session, request_id, OutboxKind.COMPLETION) is False
    assert len(outbox_rows(engine)) == 1


def test_enqueue_once_per_kind_and_request(engine: Engine) -> None:
    first, second = add_request(engine), add_request(engine)
    with session_scope(engine) as session:
        for request_id in (first, second):
            for kind in (OutboxKind.FAILURE, OutboxKind.COMPLETION):
                assert outbox.enqueue_once(session, request_id, kind) is True
    assert len(outbox_rows(engine)) == 4


def test_arm_coalesces_into_one_row(engine: Engine) -> None:
    request_id = add_request(engine)
    with session_scope(engine) as session:
        outbox.arm(session, request_id)
    (row,) = outbox_rows(engine)
    assert (row.kind, row.version, row.status) == (OutboxKind.CARD, 1, OutboxStatus.PENDING)

    # Delivered: the row is sent and in the future; a new change must make it pending and due again.
    with session_scope(engine) as session:
        stored = session.exec(select(OutboxMessage)).one()
        stored.status = OutboxStatus.SENT
        stored.delivered_version = 1
        stored.next_attempt_at = utcnow() + timedelta(days=1)
        session.add(stored)

    before = utcnow()
    for _ in range(3):
        with session_scope(engine) as session:
            outbox.arm(session, request_id)
    (row,) = outbox_rows(engine)
    assert row.version == 4
    assert row.delivered_version == 1
    assert row.status == OutboxStatus.PENDING
    assert row.next_attempt_at >= before - timedelta(seconds=1)
    assert leases.claim_due_outbox(engine, owner="d1") == [row.id]


def test_arm_twice_in_one_transaction(engine: Engine) -> None:
    request_id = add_request(engine)
    with session_scope(engine) as session:
        outbox.arm(session, request_id)
        outbox.arm(session, request_id)
    (row,) = outbox_rows(engine)
    assert row.version == 2


def test_arm_leaves_a_dead_row_dead(engine: Engine) -> None:
    request_id = add_request(engine)
    with session_scope(engine) as session:
        outbox.arm(session, request_id)
    with session_scope(engine) as session:
        stored = session.exec(select(OutboxMessage)).one()
        stored.status = OutboxStatus.DEAD
        session.add(stored)
    with session_scope(engine) as session:
        outbox.arm(session, request_id)
    (row,) = outbox_rows(engine)
    assert (row.status, row.version) == (OutboxStatus.DEAD, 2)


def test_one_row_per_subject_of_a_kind(engine: Engine) -> None:
    request_id = add_request(engine)
    approvers = [outbox.Queued(OutboxKind.FAILURE, subject=s, recipient=s) for s in ("U1", "U2")]
    with session_scope(engine) as session:
        assert all(outbox.enqueue_once(session, request_id, note) for note in approvers)
    with session_scope(engine) as session:
        assert not outbox.enqueue_once(session, request_id, approvers[1])
        # The same kind without a subject is another row still.
        assert outbox.enqueue_once(session, request_id, OutboxKind.FAILURE)
    rows = sorted(outbox_rows(engine), key=lambda r: r.subject or "")
    assert [(r.subject, r.recipient) for r in rows] == [(None, None), ("U1", "U1"), ("U2", "U2")]


def test_rearm_all_renders_every_subject_again(engine: Engine) -> None:
    request_id, other = add_request(engine), add_request(engine)
    with session_scope(engine) as session:
        for subject in ("U1", "U2"):
            outbox.arm(session, request_id, outbox.Queued(OutboxKind.FAILURE, subject=subject))
        outbox.arm(session, other, outbox.Queued(OutboxKind.FAILURE, subject="U1"))
    with session_scope(engine) as session:
        for stored in session.exec(select(OutboxMessage)).all():
            stored.status, stored.delivered_version = OutboxStatus.SENT, 1
            session.add(stored)
    with session_scope(engine) as session:
        assert outbox.rearm_all(session, request_id, OutboxKind.FAILURE) == 2
    by_request = sorted((r.request_id, r.version, r.status) for r in outbox_rows(engine))
    assert by_request == sorted(
        [(request_id, 2, OutboxStatus.PENDING)] * 2 + [(other, 1, OutboxStatus.SENT)]
    )


# --- migrations ------------------------------------------------------------------------------------------


def _revision(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [r[0] for r in connection.execute(text("SELECT version_num FROM alembic_version"))]


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    request_id = add_request(engine)
    revision = _revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"replica_request", "outbox_message", "alembic_version"} <= tables

    migrate(engine)

    assert _revision(engine) == revision and len(revision) == 1
    assert set(inspect(engine).get_table_names()) == tables
    assert get_request(engine, request_id).replica_name == "Ana"


def test_concurrent_migrate_on_postgres(postgres_url: str) -> None:
    engines = [make_engine(postgres_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            barrier.wait(timeout=30)
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert not errors, errors
        assert len(_revision(engines[0])) == 1
        add_request(engines[0])
    finally:
        for engine in engines:
            engine.dispose()


def test_timestamps_round_trip_as_aware_utc(engine: Engine) -> None:
    when = datetime.fromisoformat("2026-01-02T03:04:05.123456+02:00")
    request_id = add_request(engine, next_poll_at=when)
    stored = get_request(engine, request_id).next_poll_at
    assert stored is not None and stored.utcoffset() == timedelta(0)
    assert stored == when


# --- card refreshes: a lane of their own ----------------------------------------------------------------


def test_card_refreshes_are_claimed_apart_finished_first_and_within_the_limit(engine: Engine) -> None:
    training = [
        add_request(engine, team_id="T1", card_ts=f"1.00000{i}", card_channel_id="C1") for i in range(3)
    ]
    finished = add_request(engine, team_id="T1", card_ts="1.000009", card_channel_id="C1", status="failed")
    unposted = add_request(engine, team_id="T1")
    other_team = add_request(engine, team_id="T2", card_ts="1.000010", card_channel_id="C1")
    rows = {
        request_id: add_outbox(engine, request_id, 1, kind=OutboxKind.CARD)[0]
        for request_id in [*training, finished, unposted, other_team]
    }
    failure = add_outbox(engine, finished, 1)[0]

    # Outcomes and cards not yet in Slack only; edits wait for their own, rationed claim.
    assert leases.claim_due_outbox(engine, owner="d1") == sorted([rows[unposted], failure])
    assert sorted(outbox.teams_with_due_refreshes(engine)) == ["T1", "T2"]
    first = leases.claim_card_refreshes(engine, owner="d1", team="T1", limit=2)
    assert len(first) == 2 and rows[finished] in first
    assert leases.claim_card_refreshes(engine, owner="d2", team="T1", limit=0) == []
    rest = leases.claim_card_refreshes(engine, owner="d2", team="T1", limit=10)
    assert sorted(first + rest) == sorted(rows[r] for r in [*training, finished])
    assert leases.claim_card_refreshes(engine, owner="d3", team="T2", limit=10) == [rows[other_team]]


def test_forget_outbox_attempt_uncounts_a_post_slack_refused(engine: Engine) -> None:
    request_id = add_request(engine)
    (row,) = add_outbox(engine, request_id, 1)
    leases.claim_due_outbox(engine, owner="d1")
    assert leases.start_outbox_attempt(engine, row, owner="d1", lease_seconds=60) == 1
    (stored,) = outbox_rows(engine)
    assert stored.attempted_at is not None
    leases.forget_outbox_attempt(engine, row, owner="d2")
    assert outbox_rows(engine)[0].attempts == 1
    leases.forget_outbox_attempt(engine, row, owner="d1")
    assert outbox_rows(engine)[0].attempts == 0

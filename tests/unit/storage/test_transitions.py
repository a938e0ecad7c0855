"""storage.repository.replica_requests.transition and remove, on SQLite and PostgreSQL: a status change is a
compare-and-set that queues its notifications in the same transaction, so a change recorded twice (a
retry, a callback racing a sweep, two processes) happens once and queues nothing twice."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, RequestStatus, utcnow
from storage.repository import outbox, replica_requests

S = RequestStatus
OUTCOME = (OutboxKind.FAILURE, OutboxKind.REQUESTER_DM)


def add_request(engine: Engine, status: RequestStatus = S.TRAINING, **overrides: Any) -> int:
    token = uuid.uuid4().hex
    fields: dict[str, Any] = {
        "channel_id": "C1",
        "requester_id": "U1",
        "replica_name": "Ana",
        "callback_token": f"cb-{token}",
        "idempotency_key": f"idem-{token}",
        "status": status,
        **overrides,
    }
    request_id = replica_requests.insert(engine, fields).id
    assert request_id is not None
    return request_id


def stored(engine: Engine, request_id: int) -> ReplicaRequest:
    request = replica_requests.get(engine, request_id)
    assert request is not None
    return request


def outbox_of(engine: Engine, request_id: int) -> dict[str, OutboxMessage]:
    """The request's outbox rows by kind (a kind is queued at most once, so the dict loses nothing)."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.request_id == request_id)).all()
    by_kind = {row.kind: row for row in rows}
    assert len(by_kind) == len(rows), f"a kind was queued twice: {[row.kind for row in rows]}"
    return by_kind


def fail(engine: Engine, request_id: int, values: dict[str, Any] | None = None) -> ReplicaRequest | None:
    """The move a failed training makes: the failure post and the requester's DM, and the card re-rendered."""
    return replica_requests.transition(
        engine,
        request_id,
        sources=[S.TRAINING],
        target=S.FAILED,
        values=values if values is not None else {"error_code": "face_not_found"},
        queue=OUTCOME,
        arm_card=True,
    )


def stall(engine: Engine, request_id: int) -> ReplicaRequest | None:
    """A move that keeps the status (training to training): only the outbox's key makes it happen once."""
    return replica_requests.transition(
        engine,
        request_id,
        sources=[S.TRAINING],
        target=S.TRAINING,
        values={"last_polled_at": utcnow()},
        queue=(OutboxKind.STUCK,),
        arm_card=True,
    )


def confirm(engine: Engine, request_id: int) -> ReplicaRequest | None:
    """A move that queues nothing: only the compare-and-set on the status makes it happen once."""
    return replica_requests.transition(
        engine,
        request_id,
        sources=[S.AWAITING_CONFIRMATION],
        target=S.SUBMITTING,
        values={"rights_affirmed_by": "U1", "rights_affirmed_at": utcnow()},
    )


# --- the compare-and-set ------------------------------------------------------------------------------------


def test_a_move_happens_only_from_the_given_sources(engine: Engine) -> None:
    request_id = add_request(engine, S.RECEIVED)

    assert fail(engine, request_id) is None
    assert stored(engine, request_id).status == S.RECEIVED
    assert outbox_of(engine, request_id) == {}
    assert fail(engine, 999_999) is None

    moved = replica_requests.transition(
        engine,
        request_id,
        sources=[S.RECEIVED, S.AWAITING_CONFIRMATION],
        target=S.SUBMITTING,
        values={"preflight_findings": ""},
    )
    assert moved is not None
    assert (moved.id, moved.status, moved.preflight_findings) == (request_id, S.SUBMITTING, "")
    after = stored(engine, request_id)
    assert (after.status, after.preflight_findings) == (S.SUBMITTING, "")
    assert outbox_of(engine, request_id) == {}  # it queued nothing and armed no card


def test_requester_id_restricts_the_move_to_their_request(engine: Engine) -> None:
    request_id = add_request(engine, S.AWAITING_CONFIRMATION, requester_id="U1")

    def cancel(user: str) -> ReplicaRequest | None:
        return replica_requests.transition(
            engine,
            request_id,
            sources=[S.AWAITING_CONFIRMATION],
            target=S.SUBMIT_FAILED,
            values={"submit_error": "cancelled"},
            requester_id=user,
        )

    assert cancel("U2") is None
    untouched = stored(engine, request_id)
    assert (untouched.status, untouched.submit_error) == (S.AWAITING_CONFIRMATION, None)
    moved = cancel("U1")
    assert moved is not None and (moved.status, moved.submit_error) == (S.SUBMIT_FAILED, "cancelled")


def test_a_move_queues_each_kind_once_and_rearms_the_card(engine: Engine) -> None:
    request_id = add_request(engine)
    with session_scope(engine) as session:
        outbox.arm(session, request_id)
    # The card was delivered: sent, and not due again for a long while.
    with session_scope(engine) as session:
        card = session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CARD)).one()
        card.status, card.delivered_version = OutboxStatus.SENT, 1
        card.next_attempt_at = utcnow() + timedelta(days=1)
        session.add(card)

    before = utcnow()
    moved = fail(engine, request_id, {"error_code": "face_not_found", "error_message": "No face."})

    assert moved is not None
    assert (moved.status, moved.error_code, moved.error_message) == (S.FAILED, "face_not_found", "No face.")
    rows = outbox_of(engine, request_id)
    assert set(rows) == {OutboxKind.CARD, *OUTCOME}
    assert all(row.status == OutboxStatus.PENDING for row in rows.values())
    assert (rows[OutboxKind.CARD].version, rows[OutboxKind.CARD].delivered_version) == (2, 1)
    assert rows[OutboxKind.CARD].next_attempt_at >= before - timedelta(seconds=1)
    assert all(rows[kind].version == 1 for kind in OUTCOME)
    assert replica_requests.queued_kinds(engine, request_id) == {OutboxKind.CARD, *OUTCOME}

    # A move that does not ask for the card leaves it as it is.
    other = add_request(engine)
    moved = replica_requests.transition(
        engine, other, sources=[S.TRAINING], target=S.TRAINING, values={}, queue=(OutboxKind.STUCK,)
    )
    assert moved is not None
    assert set(outbox_of(engine, other)) == {OutboxKind.STUCK}


def test_a_second_identical_move_returns_none_and_queues_nothing_twice(engine: Engine) -> None:
    failed = add_request(engine)
    assert fail(engine, failed) is not None
    assert fail(engine, failed) is None  # the status moved on
    rows = outbox_of(engine, failed)
    assert set(rows) == {OutboxKind.CARD, *OUTCOME} and rows[OutboxKind.CARD].version == 1

    stuck = add_request(engine)
    first = stall(engine, stuck)
    assert first is not None and first.last_polled_at is not None
    assert stall(engine, stuck) is None  # the status is the same, the notice is queued already
    rows = outbox_of(engine, stuck)
    assert set(rows) == {OutboxKind.CARD, OutboxKind.STUCK}
    # The refused move wrote nothing: neither its values nor a second card render.
    assert rows[OutboxKind.CARD].version == 1
    assert stored(engine, stuck).last_polled_at == first.last_polled_at


def test_a_notification_already_queued_refuses_the_move_and_keeps_the_status(engine: Engine) -> None:
    request_id = add_request(engine)
    with session_scope(engine) as session:
        assert outbox.enqueue_once(session, request_id, OutboxKind.FAILURE) is True

    assert fail(engine, request_id) is None

    after = stored(engine, request_id)
    assert (after.status, after.error_code) == (S.TRAINING, None)
    # Rolled back whole: no DM queued, no card armed.
    assert set(outbox_of(engine, request_id)) == {OutboxKind.FAILURE}


def test_release_lease_of_frees_only_that_owners_lease(engine: Engine) -> None:
    held_until = utcnow() + timedelta(minutes=2)
    request_id = add_request(engine, lease_owner="w1", lease_until=held_until)

    def progress(owner: str) -> ReplicaRequest | None:
        return replica_requests.transition(
            engine,
            request_id,
            sources=[S.TRAINING],
            target=S.TRAINING,
            values={"training_progress": f"by {owner}"},
            release_lease_of=owner,
        )

    moved = progress("w2")
    assert moved is not None and moved.training_progress == "by w2"
    after = stored(engine, request_id)
    assert (after.lease_owner, after.lease_until) == ("w1", held_until)

    moved = progress("w1")
    assert moved is not None
    after = stored(engine, request_id)
    assert (after.lease_owner, after.lease_until, after.training_progress) == (None, None, "by w1")

    # Without release_lease_of, a move leaves the lease as it is.
    other = add_request(engine, lease_owner="w1", lease_until=held_until)
    assert fail(engine, other) is not None
    assert stored(engine, other).lease_owner == "w1"


def race(move: Callable[[], ReplicaRequest | None]) -> list[ReplicaRequest | None]:
    """Two threads make the same move at the same moment; what each got."""
    barrier = threading.Barrier(2)
    results: list[ReplicaRequest | None] = []
    errors: list[BaseException] = []

    def racer() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(move())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    assert not errors, errors
    return results


@pytest.mark.parametrize(
    ("move", "source", "queued"),
    [
        (fail, S.TRAINING, {OutboxKind.CARD, *OUTCOME}),
        (stall, S.TRAINING, {OutboxKind.CARD, OutboxKind.STUCK}),
        (confirm, S.AWAITING_CONFIRMATION, set()),
    ],
    ids=["status_changes", "status_stays", "nothing_queued"],
)
def test_two_threads_racing_the_same_move_exactly_one_wins(
    engine: Engine,
    move: Callable[[Engine, int], ReplicaRequest | None],
    source: RequestStatus,
    queued: set[str],
) -> None:
    # On PostgreSQL the loser waits on the winner's row lock, then finds the status moved on (or, when the
    # status stays, the notice queued); on SQLite the writes queue for the one write lock.
    for _ in range(3):
        request_id = add_request(engine, source)
        results = race(partial(move, engine, request_id))
        assert len(results) == 2 and len([r for r in results if r is not None]) == 1, results
        rows = outbox_of(engine, request_id)
        assert set(rows) == queued and all(row.version == 1 for row in rows.values())


# --- remove -------------------------------------------------------------------------------------------------


def test_remove_deletes_only_a_row_still_in_the_given_status(engine: Engine) -> None:
    moved_on = add_request(engine, S.SUBMITTING)
    assert replica_requests.remove(engine, moved_on, status=S.RECEIVED) is False
    assert stored(engine, moved_on).status == S.SUBMITTING

    received = add_request(engine, S.RECEIVED)
    assert replica_requests.remove(engine, received, status=S.RECEIVED) is True
    assert replica_requests.get(engine, received) is None
    assert replica_requests.remove(engine, received, status=S.RECEIVED) is False
    assert replica_requests.get(engine, moved_on) is not None

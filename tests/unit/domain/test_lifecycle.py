"""bot.domain.lifecycle on a real SQLite database: every move of `TRANSITIONS` goes from the statuses the
table names to the status it names, queues what it says and re-renders the card when it says, and wakes
delivery (`on_queued`) exactly then; a move made twice happens once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.domain.errors import SubmitProblem
from bot.domain.lifecycle import Failure, Lifecycle, Poll
from bot.domain.requests import SubmitError
from bot.domain.transitions import (
    ALLOW,
    APPROVE,
    DECLINE,
    DECLINE_NOTE,
    DELETE,
    DENY,
    EXPIRE,
    TRANSITIONS,
    UNREACHABLE,
    WITHDRAW,
    Transition,
)
from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, ReplicaRequest, RequestStatus, utcnow
from storage.repository import leases, replica_requests

S = RequestStatus
POLLER = "poller-1"
REQUESTER = "U1"
COLLEAGUE = "U2"
APPROVERS = ("UA1", "UA2")


class Calls:
    """Stands in for the throttle that wakes delivery: counts how often the lifecycle asked."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@dataclass
class World:
    engine: Engine
    lifecycle: Lifecycle
    queued: Calls


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    calls = Calls()
    return World(sqlite_engine, Lifecycle(sqlite_engine, on_queued=calls), calls)


def new_fields(**overrides: Any) -> dict[str, Any]:
    """A new request's columns, as intake writes them (status is the lifecycle's to set)."""
    token = uuid.uuid4().hex
    now = utcnow()
    return {
        "channel_id": "C1",
        "requester_id": REQUESTER,
        "replica_name": "Ana",
        "callback_token": f"cb-{token}",
        "idempotency_key": f"idem-{token}",
        "created_at": now,
        "updated_at": now,
        **overrides,
    }


def stored(engine: Engine, request_id: int) -> ReplicaRequest:
    request = replica_requests.get(engine, request_id)
    assert request is not None
    return request


def status(engine: Engine, request_id: int) -> str | None:
    """The request's status; None once the row is gone."""
    request = replica_requests.get(engine, request_id)
    return None if request is None else request.status


def notices(engine: Engine, request_id: int) -> set[str]:
    """The one-off notifications queued for the request (everything but the card)."""
    return replica_requests.queued_kinds(engine, request_id) - {OutboxKind.CARD}


def card_version(engine: Engine, request_id: int) -> int:
    """How many times the card was asked for (0: never)."""
    with Session(engine) as session:
        card = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.request_id == request_id, OutboxMessage.kind == OutboxKind.CARD
            )
        ).first()
    return 0 if card is None else card.version


def ask_versions(engine: Engine, request_id: int) -> dict[tuple[str, str | None], int]:
    """The version of each question sent for the request (the colleague's DM, each approver's message)."""
    asks = (OutboxKind.CONSENT_ASK, OutboxKind.APPROVAL_ASK)
    with Session(engine) as session:
        statement = select(OutboxMessage).where(
            OutboxMessage.request_id == request_id, col(OutboxMessage.kind).in_(asks)
        )
        rows = session.exec(statement).all()
    return {(row.kind, row.subject): row.version for row in rows}


def poll(owner: str = POLLER) -> Poll:
    now = utcnow()
    return Poll(owner, now, now + timedelta(minutes=1))


def claimed(engine: Engine, request_id: int, owner: str = POLLER) -> int:
    """The poller's lease on an in-flight request, as a sweep takes it."""
    assert leases.claim_request(engine, request_id, owner=owner, lease_seconds=120)
    assert stored(engine, request_id).lease_owner == owner
    return request_id


def hold_lease(engine: Engine, request_id: int, owner: str) -> datetime:
    """Any worker's lease on the row, whatever its status (a reconciliation takes one on "submitting")."""
    until = utcnow() + timedelta(minutes=5)
    with session_scope(engine) as session:
        request = session.get(ReplicaRequest, request_id)
        assert request is not None
        request.lease_owner, request.lease_until = owner, until
        session.add(request)
    return until


def moved(request: ReplicaRequest | None) -> int:
    assert request is not None and request.id is not None
    return request.id


# --- getting a request to each status, through the lifecycle itself -----------------------------------------


def received(world: World) -> int:
    return world.lifecycle.receive(new_fields())


def awaiting(world: World) -> int:
    return moved(world.lifecycle.checked(received(world), {}, hold=True))


def submitting(world: World) -> int:
    return moved(world.lifecycle.checked(received(world), {}, hold=False))


def training(world: World) -> int:
    request_id = submitting(world)
    first_poll = utcnow() - timedelta(seconds=1)
    return moved(world.lifecycle.start(request_id, f"r{request_id}", first_poll_at=first_poll))


def completed(world: World) -> int:
    request_id = claimed(world.engine, training(world))
    assert world.lifecycle.complete(request_id, progress=None, thumbnail_video_url=None, poll=poll())
    return request_id


def failed(world: World) -> int:
    request_id = claimed(world.engine, training(world))
    assert world.lifecycle.fail(request_id, Failure("face_not_found", "No face."), poll=poll())
    return request_id


def previewed(world: World) -> int:
    """A phoenix-4.5 face whose preview is usable while tuning goes on."""
    request_id = claimed(world.engine, training(world))
    assert world.lifecycle.preview(
        request_id, thumbnail_video_url=None, finetune_status=None, progress=None, percent=None, poll=poll()
    )
    return claimed(world.engine, request_id)


def awaiting_consent(world: World) -> int:
    asked = {"likeness": "colleague", "depicted_id": COLLEAGUE, "consent_status": "asked"}
    return moved(world.lifecycle.ask_consent(received(world), asked, COLLEAGUE))


def awaiting_approval(world: World) -> int:
    asked = {"approval_status": "asked"}
    return moved(world.lifecycle.ask_approval(received(world), asked, APPROVERS))


def declined(world: World) -> int:
    request_id = awaiting_consent(world)
    return moved(world.lifecycle.move(DECLINE, request_id, {"consent_status": "declined"}))


READY_BY_STATUS: dict[RequestStatus, Callable[[World], int]] = {
    S.RECEIVED: received,
    S.AWAITING_CONFIRMATION: awaiting,
    S.SUBMITTING: submitting,
    S.TRAINING: training,
    S.PREVIEW_READY: previewed,
    S.COMPLETED: completed,
    S.FAILED: failed,
    S.AWAITING_CONSENT: awaiting_consent,
    S.AWAITING_APPROVAL: awaiting_approval,
    S.DECLINED: declined,
}


# --- one scenario per move of the table ---------------------------------------------------------------------

# Sets up a request the move applies to and returns (its id, or None for a move that creates the request;
# the move itself, which returns the id of the request it moved).
Scenario = Callable[[World], tuple[int | None, Callable[[], int]]]


def _receive(world: World) -> tuple[int | None, Callable[[], int]]:
    return None, lambda: world.lifecycle.receive(new_fields())


def _checked(hold: bool) -> Scenario:
    def scenario(world: World) -> tuple[int | None, Callable[[], int]]:
        request_id = received(world)
        return request_id, lambda: moved(world.lifecycle.checked(request_id, {}, hold=hold))

    return scenario


def _refuse(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = received(world)

    def refuse() -> int:
        assert world.lifecycle.refuse(request_id) is True
        return request_id

    return request_id, refuse


def _give_up(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = received(world)

    def give_up() -> int:
        world.lifecycle.give_up(request_id, SubmitError(SubmitProblem.CHECK_FAILED, "ref-1"))
        return request_id

    return request_id, give_up


def _confirm(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = awaiting(world)
    return request_id, lambda: moved(world.lifecycle.confirm(request_id, REQUESTER))


def _cancel(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = awaiting(world)

    def cancel() -> int:
        assert world.lifecycle.cancel(request_id, REQUESTER) is True
        return request_id

    return request_id, cancel


def _create_failed(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = submitting(world)
    error = SubmitError(SubmitProblem.TAVUS_REFUSED, "bad photo")
    return request_id, lambda: moved(world.lifecycle.create_failed(request_id, error))


def _start(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = submitting(world)
    first_poll = utcnow() + timedelta(seconds=30)
    return request_id, lambda: moved(world.lifecycle.start(request_id, "r-new", first_poll_at=first_poll))


def _polled(step: Callable[[Lifecycle, int, Poll], bool]) -> Scenario:
    def scenario(world: World) -> tuple[int | None, Callable[[], int]]:
        request_id = claimed(world.engine, training(world))

        def perform() -> int:
            assert step(world.lifecycle, request_id, poll()) is True
            return request_id

        return request_id, perform

    return scenario


def _after_preview(step: Callable[[Lifecycle, int, Poll], bool]) -> Scenario:
    def scenario(world: World) -> tuple[int | None, Callable[[], int]]:
        request_id = previewed(world)

        def perform() -> int:
            assert step(world.lifecycle, request_id, poll()) is True
            return request_id

        return request_id, perform

    return scenario


def _answered(ready: Callable[[World], int], transition: Transition, **values: Any) -> Scenario:
    """An answer from someone other than the requester (`bot.domain.waits` makes it): one move."""

    def scenario(world: World) -> tuple[int | None, Callable[[], int]]:
        request_id = ready(world)
        return request_id, lambda: moved(world.lifecycle.move(transition, request_id, values))

    return scenario


def _ask_consent(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = received(world)
    values = {"likeness": "colleague", "depicted_id": COLLEAGUE}
    return request_id, lambda: moved(world.lifecycle.ask_consent(request_id, values, COLLEAGUE))


def _ask_approval(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = received(world)
    return request_id, lambda: moved(world.lifecycle.ask_approval(request_id, {}, APPROVERS))


def _delete(world: World) -> tuple[int | None, Callable[[], int]]:
    request_id = completed(world)
    finished_at = stored(world.engine, request_id).finished_at
    return request_id, lambda: moved(world.lifecycle.delete(request_id, REQUESTER, finished_at=finished_at))


SCENARIOS: dict[str, Scenario] = {
    "receive": _receive,
    "hold": _checked(hold=True),
    "submit": _checked(hold=False),
    "refuse": _refuse,
    "give_up": _give_up,
    "confirm": _confirm,
    "cancel": _cancel,
    "create_failed": _create_failed,
    "start": _start,
    "progress": _polled(lambda lc, rid, p: lc.progress(rid, progress="50/100", percent=50, poll=p)),
    "stall": _polled(lambda lc, rid, p: lc.stall(rid, poll=p)),
    "complete": _polled(
        lambda lc, rid, p: lc.complete(rid, progress="100/100", thumbnail_video_url=None, poll=p)
    ),
    "fail": _polled(lambda lc, rid, p: lc.fail(rid, Failure("face_not_found", "No face."), poll=p)),
    "preview": _polled(
        lambda lc, rid, p: lc.preview(
            rid, thumbnail_video_url="https://t/x.mp4", finetune_status=None, progress="100/100", percent=100,
            poll=p,
        )
    ),
    "tuning_progress": _after_preview(
        lambda lc, rid, p: lc.progress(rid, progress="40/100", percent=40, poll=p, tuning=True)
    ),
    "tuning_stall": _after_preview(lambda lc, rid, p: lc.stall(rid, poll=p, tuning=True)),
    "tune": _after_preview(
        lambda lc, rid, p: lc.tuned(rid, finetune_status="completed", thumbnail_video_url=None, poll=p)
    ),
    "tuning_fail": _after_preview(
        lambda lc, rid, p: lc.tuned(
            rid, finetune_status="errored", thumbnail_video_url=None, poll=p, errored=True
        )
    ),
    "preview_lost": _after_preview(
        lambda lc, rid, p: lc.fail(rid, Failure("replica_gone", None), poll=p, after_preview=True)
    ),
    "delete": _delete,
    "ask_consent": _ask_consent,
    "unreachable": _answered(awaiting_consent, UNREACHABLE),
    "allow": _answered(awaiting_consent, ALLOW, consent_status="allowed"),
    "decline": _answered(awaiting_consent, DECLINE, consent_status="declined"),
    "decline_note": _answered(declined, DECLINE_NOTE, consent_note="Not me, sorry."),
    "ask_approval": _ask_approval,
    "approve": _answered(awaiting_approval, APPROVE, approval_status="approved", approval_by="UA1"),
    "deny": _answered(awaiting_approval, DENY, approval_status="denied", approval_reason="No budget."),
    "expire": _answered(awaiting_consent, EXPIRE, consent_status="expired"),
    "withdraw": _answered(awaiting_approval, WITHDRAW, submit_error="cancelled"),
}


def test_every_move_of_the_table_has_a_scenario() -> None:
    names = [transition.name for transition in TRANSITIONS]
    assert len(names) == len(set(names))
    assert set(SCENARIOS) == set(names)


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda transition: transition.name)
def test_each_move_does_what_the_table_says(world: World, transition: Transition) -> None:
    engine = world.engine
    request_id, perform = SCENARIOS[transition.name](world)
    before = None if request_id is None else status(engine, request_id)
    assert before in transition.sources
    kinds_before = set() if request_id is None else notices(engine, request_id)
    card_before = 0 if request_id is None else card_version(engine, request_id)
    edits_before = {} if request_id is None else ask_versions(engine, request_id)
    calls_before = world.queued.count

    moved_id = perform()

    assert request_id is None or moved_id == request_id
    assert status(engine, moved_id) == transition.target
    assert notices(engine, moved_id) - kinds_before == set(transition.queues)
    assert card_version(engine, moved_id) == card_before + (1 if transition.card else 0)
    # The questions it answers are edited to say so (each row of those kinds once more), and no other.
    edits = ask_versions(engine, moved_id)
    assert {k: v for k, v in edits.items() if k in edits_before} == {
        k: v + (1 if k[0] in transition.rearms else 0) for k, v in edits_before.items()
    }
    # Delivery is woken exactly by the moves that give it something to do.
    woken = transition.queues or transition.card or transition.rearms
    assert world.queued.count - calls_before == (1 if woken else 0)


# --- a request's life ---------------------------------------------------------------------------------------


def test_a_request_from_receipt_through_failure_to_deletion(world: World) -> None:
    engine, lifecycle = world.engine, world.lifecycle

    request_id = lifecycle.receive(new_fields())
    assert status(engine, request_id) == S.RECEIVED

    held = lifecycle.checked(request_id, {"preflight_findings": "blurry"}, hold=True)
    assert held is not None and (held.status, held.preflight_findings) == (S.AWAITING_CONFIRMATION, "blurry")
    assert lifecycle.checked(request_id, {}, hold=False) is None  # moved on from "received" already
    assert world.queued.count == 0

    confirmed = lifecycle.confirm(request_id, REQUESTER)
    assert confirmed is not None and confirmed.status == S.RECEIVED
    assert confirmed.rights_affirmed_by == REQUESTER and confirmed.rights_affirmed_at is not None
    assert confirmed.findings_accepted_at is not None
    assert lifecycle.confirm(request_id, REQUESTER) is None  # a double click
    assert lifecycle.checked(request_id, {}, hold=False) is not None  # the checks go on: nothing to ask
    assert world.queued.count == 0

    hold_lease(engine, request_id, "reconciler")
    first_poll = utcnow() + timedelta(seconds=30)
    started = lifecycle.start(request_id, "r123", first_poll_at=first_poll)
    assert started is not None and (started.status, started.replica_id) == (S.TRAINING, "r123")
    assert started.submitted_at is not None and started.progress_changed_at == started.submitted_at
    assert started.next_poll_at == first_poll
    assert (started.lease_owner, started.lease_until) == (None, None)
    assert lifecycle.start(request_id, "r456", first_poll_at=first_poll) is None
    assert (card_version(engine, request_id), world.queued.count) == (1, 1)

    claimed(engine, request_id)
    progressed = poll()
    assert lifecycle.progress(request_id, progress="40/100", percent=40, poll=progressed) is True
    row = stored(engine, request_id)
    assert (row.status, row.training_progress, row.progress_percent) == (S.TRAINING, "40/100", 40)
    assert row.progress_changed_at == row.last_polled_at == progressed.polled_at
    assert row.next_poll_at == progressed.next_poll_at
    assert row.lease_owner is None
    assert (card_version(engine, request_id), world.queued.count) == (2, 2)

    claimed(engine, request_id)
    assert lifecycle.stall(request_id, poll=poll()) is True
    assert notices(engine, request_id) == {OutboxKind.STUCK}
    assert (card_version(engine, request_id), world.queued.count) == (3, 3)
    # Only once: the second stall is refused whole, and the poller still holds its lease (the tracker then
    # records the poll by itself).
    claimed(engine, request_id)
    again = poll()
    assert lifecycle.stall(request_id, poll=again) is False
    assert notices(engine, request_id) == {OutboxKind.STUCK}
    assert (card_version(engine, request_id), world.queued.count) == (3, 3)
    assert stored(engine, request_id).lease_owner == POLLER
    replica_requests.record_poll(engine, request_id, owner=POLLER, values=again.values())

    claimed(engine, request_id)
    failing = poll()
    assert lifecycle.fail(request_id, Failure("face_not_found", "No face found."), poll=failing) is True
    row = stored(engine, request_id)
    assert row.status == S.FAILED
    assert (row.error_code, row.error_message) == ("face_not_found", "No face found.")
    assert row.finished_at == row.last_polled_at == failing.polled_at
    assert (row.lease_owner, row.lease_until) == (None, None)
    assert notices(engine, request_id) == {OutboxKind.STUCK, OutboxKind.FAILURE, OutboxKind.REQUESTER_DM}
    assert (card_version(engine, request_id), world.queued.count) == (4, 4)
    assert lifecycle.fail(request_id, Failure("other", None), poll=poll()) is False
    assert stored(engine, request_id).error_code == "face_not_found"

    deleted = lifecycle.delete(request_id, REQUESTER, finished_at=row.finished_at)
    assert deleted is not None and (deleted.status, deleted.deleted_by) == (S.DELETED, REQUESTER)
    assert deleted.deleted_at is not None and deleted.finished_at == failing.polled_at
    assert lifecycle.delete(request_id, REQUESTER, finished_at=row.finished_at) is None
    assert notices(engine, request_id) == {OutboxKind.STUCK, OutboxKind.FAILURE, OutboxKind.REQUESTER_DM}
    assert (card_version(engine, request_id), world.queued.count) == (5, 5)


def test_a_polled_move_releases_only_the_pollers_lease(world: World) -> None:
    engine = world.engine
    request_id = training(world)
    until = hold_lease(engine, request_id, "another-worker")
    assert world.lifecycle.fail(request_id, Failure(None, "Something broke."), poll=poll(POLLER)) is True
    row = stored(engine, request_id)
    assert (row.status, row.error_code, row.error_message) == (S.FAILED, None, "Something broke.")
    assert (row.lease_owner, row.lease_until) == ("another-worker", until)


def test_complete_records_the_result_once(world: World) -> None:
    engine, lifecycle = world.engine, world.lifecycle
    request_id = claimed(engine, training(world))
    done = poll()
    video = "https://tavus.test/thumbnail.mp4"

    assert lifecycle.complete(request_id, progress=None, thumbnail_video_url=video, poll=done) is True

    row = stored(engine, request_id)
    assert (row.status, row.training_progress, row.progress_percent) == (S.COMPLETED, "100/100", 100)
    assert (row.thumbnail_video_url, row.finished_at) == (video, done.polled_at)
    assert row.lease_owner is None
    assert notices(engine, request_id) == {OutboxKind.COMPLETION, OutboxKind.REQUESTER_DM}
    calls = world.queued.count
    assert lifecycle.complete(request_id, progress="99/100", thumbnail_video_url=None, poll=poll()) is False
    assert lifecycle.fail(request_id, Failure("late", None), poll=poll()) is False  # finished is finished
    assert stored(engine, request_id).training_progress == "100/100"
    assert notices(engine, request_id) == {OutboxKind.COMPLETION, OutboxKind.REQUESTER_DM}
    assert world.queued.count == calls


def test_only_the_requester_cancels_and_only_while_it_waits_for_them(world: World) -> None:
    engine, lifecycle = world.engine, world.lifecycle
    request_id = awaiting(world)

    assert lifecycle.cancel(request_id, "U2") is False
    assert status(engine, request_id) == S.AWAITING_CONFIRMATION

    assert lifecycle.cancel(request_id, REQUESTER) is True
    row = stored(engine, request_id)
    assert row.status == S.SUBMIT_FAILED and row.finished_at is not None
    assert SubmitError.parse(row.submit_error) == SubmitError(SubmitProblem.CANCELLED)
    assert lifecycle.cancel(request_id, REQUESTER) is False
    assert lifecycle.confirm(request_id, REQUESTER) is None  # too late to change their mind back

    not_waiting = submitting(world)
    assert lifecycle.cancel(not_waiting, REQUESTER) is False
    assert status(engine, not_waiting) == S.SUBMITTING
    assert world.queued.count == 0


def test_give_up_closes_a_received_request_keeping_why(world: World) -> None:
    engine, lifecycle = world.engine, world.lifecycle
    request_id = received(world)
    error = SubmitError(SubmitProblem.RESUME_FAILED, "ref-42")

    lifecycle.give_up(request_id, error)

    row = stored(engine, request_id)
    assert row.status == S.SUBMIT_FAILED and row.finished_at is not None
    assert SubmitError.parse(row.submit_error) == error
    # Only a received request: one that moved on is left alone.
    other = submitting(world)
    lifecycle.give_up(other, error)
    assert (status(engine, other), stored(engine, other).submit_error) == (S.SUBMITTING, None)


def test_refuse_removes_only_a_request_still_received(world: World) -> None:
    engine, lifecycle = world.engine, world.lifecycle
    request_id = received(world)
    assert lifecycle.refuse(request_id) is True
    assert replica_requests.get(engine, request_id) is None
    assert lifecycle.refuse(request_id) is False  # another worker reported it

    checked = submitting(world)
    assert lifecycle.refuse(checked) is False
    assert status(engine, checked) == S.SUBMITTING


def test_create_failed_closes_a_submitting_request_once(world: World) -> None:
    engine, lifecycle = world.engine, world.lifecycle
    request_id = submitting(world)
    error = SubmitError(SubmitProblem.TAVUS_REFUSED, "no face")

    closed = lifecycle.create_failed(request_id, error)

    assert closed is not None and closed.status == S.SUBMIT_FAILED and closed.finished_at is not None
    assert SubmitError.parse(closed.submit_error) == error
    assert lifecycle.create_failed(request_id, error) is None
    assert lifecycle.start(request_id, "r-late", first_poll_at=utcnow()) is None
    assert stored(engine, request_id).replica_id is None
    assert world.queued.count == 0


def test_checked_writes_a_request_that_was_not_received_first(world: World) -> None:
    engine, lifecycle = world.engine, world.lifecycle
    submitted = lifecycle.checked(None, new_fields(replica_name="Bo"), hold=False)
    held = lifecycle.checked(None, new_fields(replica_name="Cy"), hold=True)
    assert submitted is not None and held is not None
    assert (status(engine, moved(submitted)), stored(engine, moved(submitted)).replica_name) == (
        S.SUBMITTING,
        "Bo",
    )
    assert status(engine, moved(held)) == S.AWAITING_CONFIRMATION
    assert world.queued.count == 0


@pytest.mark.parametrize("source", [s for s in DELETE.sources if s is not None])
def test_delete_from_each_status_it_allows(world: World, source: RequestStatus) -> None:
    request_id = READY_BY_STATUS[source](world)
    calls, card = world.queued.count, card_version(world.engine, request_id)

    deleted = world.lifecycle.delete(request_id, "admin", finished_at=None)

    assert deleted is not None and (deleted.status, deleted.deleted_by) == (S.DELETED, "admin")
    assert deleted.finished_at is not None and deleted.deleted_at is not None
    assert (world.queued.count, card_version(world.engine, request_id)) == (calls + 1, card + 1)
    assert world.lifecycle.delete(request_id, "admin", finished_at=None) is None
    assert world.queued.count == calls + 1

"""Forgetting a person and purging old requests, on SQLite and PostgreSQL, with Tavus played by the
emulator: what goes, what stays, and what is left for later."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.domain.access import Access
from bot.domain.drafts import request_fields
from bot.domain.erasure import Erasure, Why
from bot.domain.requests import Requester
from storage.models import Decision, MediaObject, OutboxMessage, ReplicaRequest, RequestStatus, utcnow
from storage.repository.erasure import ERASED, PERSONAL_COLUMNS, Role
from tests.unit.domain.world import World, ago, set_columns, stored

ANA = Requester("U_ANA", "C1", "T1")
BOB = Requester("U_BOB", "C1", "T1")


def erasure(world: World) -> Erasure:
    return Erasure(world.engine, world.lifecycle, world.client, Access(), None)


def finished(world: World, requester: Requester, name: str, *, status: str = "completed") -> ReplicaRequest:
    request = world.training(requester, name=name)
    set_columns(
        world.engine, request.id, status=status, finished_at=utcnow(), card_ts="1.0", card_channel_id="C1"
    )
    return stored(world.engine, request.id)


def add_photo(world: World, request_id: int | None) -> None:
    with Session(world.engine) as session:
        session.add(
            MediaObject(
                token=hashlib.sha256(str(request_id).encode()).hexdigest()[:43],
                request_id=request_id,
                content_type="image/png",
                data=b"\x89PNG",
                sha256="x",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        session.commit()


def photos(world: World) -> list[int | None]:
    with Session(world.engine) as session:
        return list(session.exec(select(MediaObject.request_id)).all())


def test_forget_blanks_the_person_everywhere_and_leaves_everyone_else(any_world: World) -> None:
    world = any_world
    mine = finished(world, ANA, "Ana One")
    add_photo(world, mine.id)
    theirs = finished(world, BOB, "Bob One")
    add_photo(world, theirs.id)
    # Ana confirmed Bob's request's rights and chose for it: her name goes, his request stays his.
    set_columns(world.engine, theirs.id, rights_affirmed_by=ANA.user_id, photo_choice_by=ANA.user_id)
    active = world.training(ANA, name="Ana Two")

    report = erasure(world).forget(ANA.user_id)

    assert (report.requests, report.mentions, report.photos) == (1, 2, 1)
    assert [(left.request_id, left.why) for left in report.left] == [(active.id, Why.ACTIVE)]
    gone = stored(world.engine, mine.id)
    for personal in PERSONAL_COLUMNS:
        assert getattr(gone, personal.column) in (None, ERASED), personal.column
    assert gone.status == RequestStatus.COMPLETED and gone.replica_id == mine.replica_id
    kept = stored(world.engine, theirs.id)
    assert (kept.requester_id, kept.replica_name, kept.source_url) == (
        BOB.user_id,
        "Bob One",
        theirs.source_url,
    )
    assert kept.rights_affirmed_by is None and kept.photo_choice_by is None
    assert stored(world.engine, active.id).replica_name == "Ana Two"
    assert photos(world) == [theirs.id]
    # Its card is rendered once more, now without her; nothing else of it waits for Slack.
    with Session(world.engine) as session:
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.request_id == mine.id)).all()
    assert [(row.kind, row.status) for row in queued] == [("card", "pending")]


def test_include_active_deletes_the_face_in_tavus_first(any_world: World) -> None:
    world = any_world
    active = world.training(ANA, name="Ana Active")
    report = erasure(world).forget(ANA.user_id, include_active=True, by="U_ADMIN")
    assert report.faces_deleted == (active.replica_id,) and report.left == ()
    deleted = [c for c in world.tavus.calls() if c["method"] == "DELETE"]
    assert [c["path"].rsplit("/", 1)[-1] for c in deleted] == [active.replica_id]
    gone = stored(world.engine, active.id)
    assert gone.status == RequestStatus.DELETED and gone.requester_id == ERASED and gone.deleted_by is None


def test_a_face_tavus_will_not_delete_is_not_forgotten(any_world: World) -> None:
    world = any_world
    active = world.training(ANA, name="Ana Stays")
    world.tavus.inject_fault(method="DELETE", path_prefix="/v2/", status=500, count=10)
    report = erasure(world).forget(ANA.user_id, include_active=True)
    assert [(left.replica_id, left.why) for left in report.left] == [(active.replica_id, Why.NOT_DELETED)]
    assert stored(world.engine, active.id).replica_name == "Ana Stays"


def test_every_person_column_is_looked_at(world: World) -> None:
    """The list names columns that exist, and at least one column says whose request it is."""
    columns = set(ReplicaRequest.model_fields)
    assert {p.column for p in PERSONAL_COLUMNS} <= columns
    assert any(p.role == Role.SUBJECT for p in PERSONAL_COLUMNS)


def test_purge_takes_finished_requests_older_than_asked_and_nothing_else(any_world: World) -> None:
    world = any_world
    old = finished(world, ANA, "Old")
    set_columns(world.engine, old.id, finished_at=ago(days=100))
    add_photo(world, old.id)
    finished(world, ANA, "Recent")
    still_saying = finished(world, BOB, "Old, post pending")
    set_columns(world.engine, still_saying.id, finished_at=ago(days=100))  # its card still waits for Slack
    retry = world.training(BOB, name="Retry of old")
    set_columns(world.engine, retry.id, retry_of=old.id)
    with Session(world.engine) as session:
        for row in session.exec(
            select(OutboxMessage).where(col(OutboxMessage.request_id) != still_saying.id)
        ):
            row.status = "sent"
            session.add(row)
        session.commit()

    purged = erasure(world).purge(timedelta(days=90))

    assert (purged.requests, purged.photos) == (1, 1)
    with Session(world.engine) as session:
        left = {row.replica_name for row in session.exec(select(ReplicaRequest))}
    assert left == {"Recent", "Old, post pending", "Retry of old"}
    assert stored(world.engine, retry.id).retry_of is None
    assert photos(world) == []
    assert erasure(world).purge(timedelta(0)).requests == 1  # "Recent"; the pending one waits for Slack


@pytest.mark.parametrize("older_than", [timedelta(days=90), timedelta(0)])
def test_purge_never_takes_a_request_in_flight(any_world: World, older_than: timedelta) -> None:
    world = any_world
    active = world.training(ANA)
    set_columns(world.engine, active.id, created_at=ago(days=400), updated_at=ago(days=400))
    assert erasure(world).purge(older_than).requests == 0
    assert stored(world.engine, active.id).status == RequestStatus.TRAINING


def test_forget_the_face_in_a_photo_and_the_approver_and_their_decisions(any_world: World) -> None:
    world = any_world
    # Bob asked for a replica of Ana's face; she allowed it; Carol approved it.
    of_ana = finished(world, BOB, "Of Ana")
    set_columns(
        world.engine, of_ana.id, likeness="colleague", depicted_id=ANA.user_id, consent_status="allowed",
        approval_status="approved", approval_by="U_CAROL", approval_reason=None,
    )
    with Session(world.engine) as session:
        session.add(Decision(request_id=of_ana.id, topic="consent", outcome="allowed", by_user=ANA.user_id))
        session.add(Decision(request_id=of_ana.id, topic="approval", outcome="approved", by_user="U_CAROL"))
        session.commit()
    # A request waiting for Ana's answer ends: nothing of it reaches Tavus, and it is forgotten.
    waiting = world.lifecycle.ask_consent(
        world.lifecycle.receive(_fields(world, BOB, "Waiting")),
        {"likeness": "colleague", "depicted_id": ANA.user_id},
        ANA.user_id,
    )
    assert waiting is not None

    report = erasure(world).forget(ANA.user_id, include_active=True)
    assert report.requests == 2 and report.left == ()
    gone = stored(world.engine, of_ana.id)
    # The face in the photo is the subject: the whole request forgets who and what, keeping the counts.
    assert (gone.depicted_id, gone.requester_id, gone.replica_name) == (None, ERASED, ERASED)
    assert gone.status == RequestStatus.COMPLETED
    assert stored(world.engine, waiting.id).status == RequestStatus.SUBMIT_FAILED
    assert _deciders(world, of_ana.id) == [None, None]

    erasure(world).forget("U_CAROL")
    assert stored(world.engine, of_ana.id).approval_by is None


def test_purge_takes_decisions_with_their_requests(any_world: World) -> None:
    world = any_world
    old = finished(world, ANA, "Old One")
    set_columns(world.engine, old.id, finished_at=ago(days=100))
    with Session(world.engine) as session:
        session.add(Decision(request_id=old.id, topic="likeness", outcome="self", by_user=ANA.user_id))
        for row in session.exec(select(OutboxMessage)):
            row.status = "sent"
            session.add(row)
        session.commit()
    assert erasure(world).purge(timedelta(days=90)).requests == 1
    assert _deciders(world, old.id) == []


def _fields(world: World, requester: Requester, name: str) -> dict[str, object]:
    return request_fields(world.draft(requester=requester, name=name))


def _deciders(world: World, request_id: int | None) -> list[str | None]:
    with Session(world.engine) as session:
        mine = Decision.request_id == request_id
        statement = select(Decision.by_user).where(mine).order_by(col(Decision.id))
        return list(session.exec(statement).all())

"""bot.domain.waits and the gates around it, over a real database and the Tavus emulator: the colleague's
answer and the approvers', each once, only from the person asked; a wait that runs out; retries that carry
a consent; and the record of every decision."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.domain.access import Access
from bot.domain.errors import AlreadyDecided, NoApprover, NotPermitted, OwnRequest
from bot.domain.people import Person
from bot.domain.requests import CreateArgs, Held, Likeness, Submitted, Waiting
from bot.domain.rules import Approvals
from bot.domain.submission import SubmissionService
from bot.domain.waits import Waits
from storage.models import Decision, OutboxKind, OutboxMessage, RequestStatus
from tests.unit.domain.world import (
    GOOD_PHOTO,
    REQUESTER,
    RULES,
    HostedPhotos,
    World,
    creates,
    outbox,
    set_columns,
    stored,
)

S = RequestStatus
ANA, APPROVER, SECOND = "U0ANA", "U0APP1", "U0APP2"


class People:
    """Stands in for Slack's directory: everyone is an active person; one group of approvers."""

    def person(self, user_id: str) -> Person | None:
        return Person(user_id)

    def group_members(self, group_id: str) -> tuple[str, ...]:
        return (SECOND, REQUESTER.user_id) if group_id == "S0APPROVERS" else ()


def services(world: World, **rules: object) -> tuple[SubmissionService, Waits, HostedPhotos]:
    media = HostedPhotos(world.images)
    here = replace(RULES, **rules)  # type: ignore[arg-type]
    submission = SubmissionService(
        here, world.engine, world.lifecycle, world.client, media, directory=People()
    )
    waits = Waits(world.engine, world.lifecycle, Access(), here, media=media, directory=People())
    return submission, waits, media


def ask_ana(world: World, submission: SubmissionService) -> int:
    args = CreateArgs(
        image_url=world.photo_link(), voice="anna", name="Ana", likeness=Likeness.COLLEAGUE, depicted_id=ANA
    )
    outcome = submission.submit_link(submission.receive(submission.draft(REQUESTER, args)))
    assert isinstance(outcome, Waiting), outcome
    assert outcome.request.id is not None
    return outcome.request.id


def decisions(world: World, request_id: int) -> list[tuple[str, str, str | None]]:
    with Session(world.engine) as session:
        statement = select(Decision).where(Decision.request_id == request_id).order_by(col(Decision.id))
        rows = session.exec(statement)
        return [(d.topic, d.outcome, d.by_user) for d in rows]


def test_only_the_colleague_answers_and_the_first_answer_counts(any_world: World) -> None:
    world = any_world
    submission, waits, media = services(world)
    request_id = ask_ana(world, submission)
    assert [kind for kind, _ in outbox(world.engine, request_id)] == [OutboxKind.CONSENT_ASK, OutboxKind.CARD]
    assert creates(world.tavus) == [] and world.tavus.calls() == []
    for someone in (REQUESTER.user_id, "U0BOB"):
        with pytest.raises(NotPermitted):
            waits.allow(request_id, someone)

    barrier = threading.Barrier(3)
    results: list[object] = []

    def answer(allow: bool) -> None:
        barrier.wait()
        try:
            results.append((waits.allow if allow else waits.decline)(request_id, ANA))
        except AlreadyDecided as late:
            results.append(late)

    threads = [threading.Thread(target=answer, args=(a,)) for a in (True, True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(not isinstance(r, AlreadyDecided) for r in results) == 1
    row = stored(world.engine, request_id)
    assert row.status in (S.RECEIVED, S.DECLINED)
    assert [d[0] for d in decisions(world, request_id)] == ["consent"]
    if row.status == S.DECLINED:
        assert media.purged == [request_id]
        return
    outcome = submission.proceed(row)
    assert isinstance(outcome, Submitted) and len(creates(world.tavus)) == 1
    # What Tavus trains on is the hosted copy of the photo the colleague was shown.
    hosted = stored(world.engine, request_id).train_image_url
    assert creates(world.tavus)[0]["json"]["train_image_url"] == hosted


def test_two_approvers_at_once_make_one_decision(any_world: World) -> None:
    world = any_world
    approvals = Approvals(mode="required", approvers=(APPROVER, "S0APPROVERS"))
    submission, waits, _ = services(world, approvals=approvals)
    outcome = submission.submit_link(world.draft(submission))
    assert isinstance(outcome, Waiting)
    request_id = outcome.request.id or 0
    # Each approver gets a message, the group's members too, never the requester.
    asks = [(k, s) for k, s in _subjects(world, request_id) if k == OutboxKind.APPROVAL_ASK]
    assert sorted(s for _, s in asks) == sorted([APPROVER, SECOND])
    with pytest.raises(OwnRequest):
        waits.approve(request_id, REQUESTER.user_id)
    with pytest.raises(NotPermitted):
        waits.approve(request_id, "U0BOB")

    barrier = threading.Barrier(2)
    results: list[object] = []

    def approve(who: str) -> None:
        barrier.wait()
        try:
            results.append(waits.approve(request_id, who))
        except AlreadyDecided as late:
            results.append(late)

    threads = [threading.Thread(target=approve, args=(who,)) for who in (APPROVER, SECOND)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(r, AlreadyDecided) for r in results) == 1
    approved = stored(world.engine, request_id)
    assert (approved.status, approved.approval_status) == (S.RECEIVED, "approved")
    assert isinstance(submission.proceed(approved), Submitted)
    assert len(creates(world.tavus)) == 1


def test_no_approver_but_the_requester_is_refused(world: World) -> None:
    approvals = Approvals(mode="required", approvers=(REQUESTER.user_id,))
    submission, _, _ = services(world, approvals=approvals)
    with pytest.raises(NoApprover):
        submission.submit_link(submission.receive(world.draft(submission)))
    assert creates(world.tavus) == []


def test_deny_records_the_reason_and_purges(world: World) -> None:
    submission, waits, media = services(world, approvals=Approvals(mode="required", approvers=(APPROVER,)))
    outcome = submission.submit_link(submission.receive(world.draft(submission)))
    assert isinstance(outcome, Waiting)
    request_id = outcome.request.id or 0
    denied = waits.deny(request_id, APPROVER, "  Not this quarter  ")
    assert (denied.status, denied.approval_reason) == (S.DENIED, "Not this quarter")
    assert denied.approval_by == APPROVER
    assert OutboxKind.DENIED in [k for k, _ in outbox(world.engine, request_id)]
    assert media.purged == [request_id]
    assert decisions(world, request_id)[-1] == ("approval", "denied", APPROVER)


def test_a_wait_that_runs_out_expires_once(any_world: World) -> None:
    world = any_world
    submission, waits, media = services(world)
    request_id = ask_ana(world, submission)
    assert waits.expire_due() == 0
    set_columns(world.engine, request_id, expires_at=stored(world.engine, request_id).created_at)
    assert waits.expire_due() == 1
    assert waits.expire_due() == 0
    row = stored(world.engine, request_id)
    assert (row.status, row.consent_status) == (S.EXPIRED, "expired")
    assert media.purged == [request_id]
    assert decisions(world, request_id) == [("consent", "expired", None)]
    with pytest.raises(AlreadyDecided):
        waits.allow(request_id, ANA)


def test_a_retry_for_the_same_colleague_does_not_ask_again(world: World) -> None:
    submission, waits, _ = services(world)
    first = ask_ana(world, submission)
    waits.allow(first, ANA)
    set_columns(world.engine, first, status=S.FAILED)

    def retry(person: str) -> object:
        args = CreateArgs(
            image_url=world.photo_link(), voice="anna", likeness=Likeness.COLLEAGUE, depicted_id=person
        )
        return submission.submit_link(submission.receive(submission.draft(REQUESTER, args, retry_of=first)))

    assert isinstance(retry(ANA), Submitted)
    # Someone else's face in the retry: they are asked.
    assert isinstance(retry("U0BOB"), Waiting)
    # Past the expiry, the same colleague is asked again.
    set_columns(world.engine, first, consent_at=stored(world.engine, first).created_at - timedelta(days=4))
    assert isinstance(retry(ANA), Waiting)


def test_an_upload_for_a_colleague_is_hosted_and_asked_with_a_thumbnail(world: World) -> None:
    submission, _, media = services(world)
    args = CreateArgs(voice="anna", likeness=Likeness.COLLEAGUE, depicted_id=ANA)
    draft = submission.receive(submission.draft(REQUESTER, args, uploaded=True, slack_file_id="F1"))
    outcome = submission.submit_upload(draft, GOOD_PHOTO)
    assert isinstance(outcome, Waiting)
    row = outcome.request
    assert row.thumbnail_url and row.photo_key and row.train_image_url
    assert [content for _, content in media.puts] == ["image/jpeg", "image/jpeg"]
    assert world.tavus.calls() == []


def test_whose_face_asked_then_answered_goes_on_to_tavus(world: World) -> None:
    submission, _, _ = services(world, confirm_rights=True)
    outcome = submission.submit_link(submission.receive(world.draft(submission)))
    assert isinstance(outcome, Held) and outcome.question is not None
    assert world.tavus.calls() == []  # not even the image check before the requester says whose face
    answered = submission.confirm(
        outcome.request_id, REQUESTER.user_id, likeness=Likeness.COLLEAGUE, depicted_id=ANA
    )
    assert answered.status == S.RECEIVED and answered.depicted_id == ANA
    assert isinstance(submission.proceed(answered), Waiting)
    assert world.tavus.calls() == []


def _subjects(world: World, request_id: int) -> list[tuple[str, str | None]]:
    with Session(world.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.request_id == request_id))
        return [(r.kind, r.subject) for r in rows]

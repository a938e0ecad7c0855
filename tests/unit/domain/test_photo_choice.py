"""Submitting with Tavus' check asked first, and the choices after it failed: over a real database, the
Tavus emulator and the photo host."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.access import Access
from bot.domain.errors import AlreadyConfirmed, CannotAutoFix, NotPermitted
from bot.domain.photo_choice import PhotoChoices
from bot.domain.requests import Held, Submitted
from bot.domain.submission import SubmissionService
from bot.domain.tavus_check import TavusPhotoCheck
from bot.tavus.image_validation import ImageValidator
from storage.models import RequestStatus
from tests.unit.domain.world import RULES, World, creates, stored

ADMIN = "UADMIN"


def service(
    world: World, between_steps: Callable[[], None] = lambda: None, **rules: Any
) -> SubmissionService:
    check = TavusPhotoCheck(ImageValidator(world.client))
    return SubmissionService(
        replace(RULES, **rules), world.engine, world.lifecycle, world.client,
        tavus_check=check, between_steps=between_steps,
    )


def choices(world: World, *, confirm_rights: bool = False) -> PhotoChoices:
    return PhotoChoices(
        world.engine, world.lifecycle, Access(admins=(ADMIN,)), media_url_ttl=timedelta(hours=48),
        confirm_rights=confirm_rights,
    )


def held(world: World, *failed: str, **rules: Any) -> Held:
    world.tavus.validation.script(failed=list(failed))
    submission = service(world, **rules)
    outcome = submission.submit_link(world.draft(submission))
    assert isinstance(outcome, Held) and outcome.refused_by_tavus, outcome
    return outcome


def test_a_failed_check_holds_the_request_and_keeps_the_verdict(world: World) -> None:
    outcome = held(world, "quality", "one_person")
    assert outcome.verdict is not None and not outcome.verdict.fixable
    assert outcome.verdict.failed_codes() == {"ImageQualityError", "Phx4MultipleForegroundPeopleError"}
    request = stored(world.engine, outcome.request_id)
    assert request.status == RequestStatus.AWAITING_CONFIRMATION
    assert '"passed":false' in (request.tavus_verdict or "")
    assert creates(world.tavus) == []


def test_a_passing_check_submits_and_the_model_is_the_configured_one(world: World) -> None:
    submission = service(world, model_name="phoenix-4.5")
    outcome = submission.submit_link(world.draft(submission))
    assert isinstance(outcome, Submitted)
    (call,) = [c for c in world.tavus.calls() if c["path"].endswith("image-validation")]
    assert call["json"]["model"] == "phoenix-4.5"
    assert '"passed":true' in (stored(world.engine, outcome.request.id).tavus_verdict or "")


def test_two_clicks_at_once_choose_once(world: World) -> None:
    outcome = held(world, "quality")
    picker = choices(world)

    def click() -> object:
        try:
            return picker.submit(str(outcome.request_id), "U1", auto_fix=True)
        except AlreadyConfirmed as refused:
            return refused

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: click(), range(4)))
    assert sum(not isinstance(r, AlreadyConfirmed) for r in results) == 1
    request = stored(world.engine, outcome.request_id)
    # Chosen: the request is "received" again, and its checks go on (here: straight to Tavus, once).
    assert (request.status, request.photo_choice, request.photo_choice_by) == ("received", "auto_fix", "U1")
    assert request.photo_choice_at is not None
    assert isinstance(service(world).proceed(request), Submitted)
    assert len(creates(world.tavus)) == 1


def test_only_the_requester_or_an_admin_chooses_and_the_fixer_only_where_it_can(world: World) -> None:
    outcome = held(world, "headphones")
    picker = choices(world)
    with pytest.raises(NotPermitted):
        picker.submit(str(outcome.request_id), "USOMEONE", auto_fix=False)
    with pytest.raises(NotPermitted):
        picker.another(str(outcome.request_id), "USOMEONE")
    with pytest.raises(CannotAutoFix):
        picker.submit(str(outcome.request_id), "U1", auto_fix=True)
    chosen = picker.submit(str(outcome.request_id), ADMIN, auto_fix=False)
    assert (chosen.photo_choice, chosen.photo_choice_by) == ("anyway", ADMIN)
    assert chosen.rights_affirmed_by is None  # an admin overrules the check, not someone's rights


def test_an_admin_cannot_affirm_the_requesters_rights(world: World) -> None:
    # The single rights affirmation of LIKENESS_CONSENT=off, asked with Tavus' verdict in one message.
    outcome = held(world, "quality", confirm_rights=True, likeness_consent="off")
    picker = choices(world, confirm_rights=True)
    with pytest.raises(NotPermitted):
        picker.submit(str(outcome.request_id), ADMIN, auto_fix=False)
    chosen = picker.submit(str(outcome.request_id), "U1", auto_fix=False)
    assert chosen.rights_affirmed_by == "U1"


def test_another_photo_sets_the_request_aside_and_plans_the_retry(world: World) -> None:
    outcome = held(world, "one_person")
    picker = choices(world)
    plan = picker.another(str(outcome.request_id), "U1")
    assert (plan.request_id, plan.replica_name, plan.voice_name) == (outcome.request_id, "Ana", "anna")
    assert stored(world.engine, outcome.request_id).status == RequestStatus.SUBMIT_FAILED
    assert picker.another(str(outcome.request_id), "U1") == plan  # the form opens again
    with pytest.raises(AlreadyConfirmed):
        picker.submit(str(outcome.request_id), "U1", auto_fix=False)


def test_the_submission_lets_acks_go_first_before_each_photo_check(world: World) -> None:
    """Before the offline check and before Tavus' check: each yield comes before the call it precedes."""
    def validations() -> int:
        return len([c for c in world.tavus.calls() if c["path"].endswith("/image-validation")])

    seen: list[int] = []
    submission = service(world, between_steps=lambda: seen.append(validations()), photo_check="advisory")
    outcome = submission.submit_link(world.draft(submission))
    assert isinstance(outcome, Submitted)
    assert seen == [0, 0] and validations() == 1

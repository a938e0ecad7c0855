"""bot.domain.gates: what a request needs next before Tavus, in the fixed order — the requester's own
questions, the colleague's consent, Tavus' image check, the requester's choice after it, the approvers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.domain.gates import Gate, needs_consent, next_gate, question_for
from bot.domain.requests import Question
from bot.domain.rules import SubmissionRules
from storage.models import ReplicaRequest, utcnow

RULES = SubmissionRules(voices=("anna",))
FAILED = '{"passed":false,"checks":[{"id":"quality","label":"Sharp","passed":false,"codes":[]}],"details":{}}'
PASSED = '{"passed":true,"checks":[],"details":{}}'


def request(**fields: Any) -> ReplicaRequest:
    base: dict[str, Any] = {
        "channel_id": "C1", "requester_id": "U1", "replica_name": "Ana", "callback_token": "t",
        "idempotency_key": "i", "likeness": "self", "rights_affirmed_by": "U1",
    }
    return ReplicaRequest(**(base | fields))


def gate(r: ReplicaRequest, *, tavus: bool = True, approval: bool = False, **rules: Any) -> Gate:
    return next_gate(r, replace(RULES, **rules), tavus_check=tavus, approval_needed=approval)


def test_nothing_to_ask_goes_to_tavus_check_then_submits() -> None:
    assert gate(request()) == Gate.CHECK_TAVUS
    assert gate(request(tavus_checked_at=utcnow(), tavus_verdict=PASSED)) == Gate.SUBMIT
    assert gate(request(), tavus=False) == Gate.SUBMIT


def test_whose_face_is_asked_before_anything_else() -> None:
    unsaid = request(likeness=None, rights_affirmed_by=None, preflight_findings="blurry")
    assert question_for(unsaid, RULES) == Question.WHOSE_FACE
    assert gate(unsaid, approval=True) == Gate.ASK_REQUESTER


def test_a_colleague_is_asked_before_tavus_sees_the_photo() -> None:
    colleague = request(likeness="colleague", depicted_id="U2")
    assert needs_consent(colleague, RULES)
    assert gate(colleague, approval=True) == Gate.ASK_CONSENT
    # The requester's doubts about the photo are settled first, so the colleague is not asked in vain.
    assert gate(replace_fields(colleague, preflight_findings="blurry")) == Gate.ASK_REQUESTER
    accepted = replace_fields(colleague, preflight_findings="blurry", findings_accepted_at=utcnow())
    assert gate(accepted) == Gate.ASK_CONSENT
    # Once they allowed it: Tavus' check, then the approvers.
    allowed = replace_fields(colleague, consent_status="allowed")
    assert not needs_consent(allowed, RULES)
    assert gate(allowed, approval=True) == Gate.CHECK_TAVUS
    checked = replace_fields(allowed, tavus_checked_at=utcnow(), tavus_verdict=PASSED)
    assert gate(checked, approval=True) == Gate.ASK_APPROVAL
    assert gate(replace_fields(checked, approval_status="approved"), approval=True) == Gate.SUBMIT


def test_the_requesters_own_face_or_consent_off_asks_nobody() -> None:
    assert not needs_consent(request(likeness="colleague", depicted_id="U1"), RULES)
    consent_off = replace(RULES, likeness_consent="off")
    assert not needs_consent(request(likeness="colleague", depicted_id="U2"), consent_off)
    assert not needs_consent(request(likeness="outside"), RULES)


def test_a_failed_tavus_check_waits_for_the_requesters_choice_before_the_approvers() -> None:
    refused = request(tavus_checked_at=utcnow(), tavus_verdict=FAILED)
    assert gate(refused, approval=True) == Gate.ASK_REQUESTER
    assert gate(replace_fields(refused, photo_choice="anyway"), approval=True) == Gate.ASK_APPROVAL


VIDEO = "https://v/x.mp4"


@pytest.mark.parametrize(
    ("fields", "asked", "first"),
    [
        # The single rights affirmation (LIKENESS_CONSENT=off) is asked with Tavus' verdict, as before.
        ({"rights_affirmed_by": None}, Question.RIGHTS, Gate.CHECK_TAVUS),
        # A video is never sent to Tavus' image check.
        ({"train_video_url": VIDEO, "rights_affirmed_by": None}, Question.VIDEO_CONSENT, Gate.ASK_REQUESTER),
        ({"train_video_url": VIDEO, "consent_video_url": "https://v/c.mp4"}, None, Gate.SUBMIT),
    ],
)
def test_the_rights_and_video_questions(fields: dict[str, Any], asked: Question | None, first: Gate) -> None:
    r = request(**fields)
    assert question_for(r, RULES) == asked
    assert gate(r) == first
    if first == Gate.CHECK_TAVUS:
        assert gate(replace_fields(r, tavus_checked_at=utcnow(), tavus_verdict=PASSED)) == Gate.ASK_REQUESTER


def replace_fields(r: ReplicaRequest, **fields: Any) -> ReplicaRequest:
    return r.model_copy(update=fields)

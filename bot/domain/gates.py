"""What a request needs next before it may reach Tavus, decided from what is known about it: one pure
function, used when its photo has just been checked and again after every answer.

The order is fixed. The local checks and the offline photo check run first (before this), so nobody is
asked about a photo that cannot work. Then the requester's own questions (whose face it is; the photo
check's doubts), the colleague's consent where the face is theirs, Tavus' image check (so a colleague's
photo reaches Tavus only after their yes), the requester's choice if Tavus' check failed, the approvers
(who see what both checks found), and only then the create.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.image_checks import TavusVerdict
from bot.domain.requests import Question
from bot.domain.rules import SubmissionRules
from storage.models import Likeness, ReplicaRequest


class Gate(StrEnum):
    ASK_REQUESTER = "ask_requester"
    ASK_CONSENT = "ask_consent"
    CHECK_TAVUS = "check_tavus"
    ASK_APPROVAL = "ask_approval"
    SUBMIT = "submit"


class Answer(StrEnum):
    """What the colleague or the approvers said (`consent_status`, `approval_status`)."""

    ASKED = "asked"
    ALLOWED = "allowed"
    DECLINED = "declined"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


def question_for(request: ReplicaRequest, rules: SubmissionRules) -> Question | None:
    """What the requester must answer before anything is submitted, if anything."""
    affirmed = request.rights_affirmed_by is not None
    if request.train_video_url and not request.consent_video_url and not affirmed:
        return Question.VIDEO_CONSENT
    if request.likeness is None:
        return Question.WHOSE_FACE
    if rules.confirm_rights and not affirmed:
        return Question.RIGHTS
    return None


def needs_consent(request: ReplicaRequest, rules: SubmissionRules) -> bool:
    """The face is a colleague's (not the requester's own) and they must say yes first."""
    return (
        rules.likeness_consent == "named"
        and request.likeness == Likeness.COLLEAGUE
        and request.depicted_id not in (None, request.requester_id)
        and request.consent_status != Answer.ALLOWED
    )


def next_gate(
    request: ReplicaRequest, rules: SubmissionRules, *, tavus_check: bool, approval_needed: bool
) -> Gate:
    """The next step for `request` (a stored row, or one about to be written). `tavus_check`: Tavus'
    image check is switched on; `approval_needed`: APPROVAL, the quota or a face from outside ask for an
    approver (`approval_status` says whether one agreed)."""
    question = question_for(request, rules)
    if question == Question.WHOSE_FACE:
        return Gate.ASK_REQUESTER
    doubts = bool(request.preflight_findings) and request.findings_accepted_at is None
    if needs_consent(request, rules):
        # The requester's doubts are settled before the colleague is bothered.
        return Gate.ASK_REQUESTER if question or doubts else Gate.ASK_CONSENT
    if tavus_check and request.train_video_url is None and request.tavus_checked_at is None:
        return Gate.CHECK_TAVUS
    verdict = TavusVerdict.parse(request.tavus_verdict)
    refused = verdict is not None and not verdict.passed and request.photo_choice is None
    if question or doubts or refused:
        return Gate.ASK_REQUESTER
    if approval_needed and request.approval_status != Answer.APPROVED:
        return Gate.ASK_APPROVAL
    return Gate.SUBMIT

"""Whose face it is, in words: what the card says while others are asked and after they answered, and the
refusals about the person named. (The requester's question itself is in `forms`.)"""

from __future__ import annotations

from bot.domain.errors import AlreadyDecided, PersonCannotConsent, PersonProblem
from bot.domain.gates import Answer
from bot.slack.ids import WITHDRAW_ACTION
from bot.slack.render.blocks import Block, button, context, date, section
from storage.models import Likeness, ReplicaRequest, RequestStatus

WAITING_LABELS = {
    RequestStatus.AWAITING_CONSENT: ":busts_in_silhouette: Waiting for consent",
    RequestStatus.AWAITING_APPROVAL: ":ballot_box_with_check: Waiting for approval",
    RequestStatus.DECLINED: ":no_entry_sign: Declined by the person in the photo",
    RequestStatus.DENIED: ":no_entry: Not approved",
    RequestStatus.EXPIRED: ":hourglass: Expired — nobody answered in time",
}
SELF_DESCRIPTION = "the requester's own"
OUTSIDE_DESCRIPTION = "someone outside this workspace, or a synthetic character"


def when(moment_timestamp: float) -> str:
    """A moment, shown in the reader's own time zone."""
    return date(moment_timestamp, "{date_short_pretty} at {time}", "then")


def face_description(request: ReplicaRequest) -> str:
    """Whose face a request is of, as a reader would say it."""
    if request.likeness == Likeness.COLLEAGUE and request.depicted_id:
        return f"<@{request.depicted_id}>"
    if request.likeness == Likeness.OUTSIDE:
        return OUTSIDE_DESCRIPTION
    return SELF_DESCRIPTION


def card_lines(request: ReplicaRequest) -> list[Block]:
    """What the card says about the people asked: who is waiting for whom, and who said yes, when."""
    blocks: list[Block] = []
    status = request.status
    if status == RequestStatus.AWAITING_CONSENT and request.depicted_id:
        expires = ""
        if request.expires_at is not None:
            expires = f" If they don't answer by {when(request.expires_at.timestamp())}, it expires."
        blocks.append(
            section(
                f"Waiting for <@{request.depicted_id}> to allow a replica of their face (I asked them in a "
                f"DM). Nothing reaches Tavus before they say yes.{expires}"
            )
        )
    elif status == RequestStatus.AWAITING_APPROVAL:
        expires = f" It expires {when(request.expires_at.timestamp())}." if request.expires_at else ""
        blocks.append(section(f"Waiting for an approver before a training run is spent.{expires}"))
    if status in (RequestStatus.AWAITING_CONSENT, RequestStatus.AWAITING_APPROVAL) and request.id:
        withdraw = button("Cancel request", WITHDRAW_ACTION, str(request.id))
        blocks.append({"type": "actions", "elements": [withdraw]})
    recorded = []
    if request.consent_status == Answer.ALLOWED and request.depicted_id and request.consent_at:
        recorded.append(f"Consent: <@{request.depicted_id}>, {when(request.consent_at.timestamp())}")
    if request.approval_status == Answer.APPROVED and request.approval_by and request.approval_at:
        recorded.append(f"Approved by <@{request.approval_by}>, {when(request.approval_at.timestamp())}")
    if recorded:
        blocks.append(context(" · ".join(recorded)))
    return blocks


def person_problem_text(error: PersonCannotConsent) -> str:
    who = f"<@{error.user_id}>"
    match error.problem:
        case PersonProblem.BOT:
            why = f"{who} is an app or bot, not a person, so nobody can be asked"
        case PersonProblem.DEACTIVATED:
            why = f"{who}'s account is deactivated, so they cannot be asked"
        case _:
            why = "I can't find that person in this workspace"
    return (
        f"I did not send this to Tavus: {why}. Name the colleague in the photo with `for=@name` (pick them "
        "from Slack's list as you type), `for=me` for yourself — or use a photo of yourself."
    )


OUTSIDE_DENIED = (
    "I did not send this to Tavus: this workspace does not make replicas of people outside it or of "
    "synthetic characters (LIKENESS_OUTSIDE=deny). A replica of yourself (`for=me`) or of a colleague who "
    "agrees (`for=@name`) works."
)
NO_APPROVER = (
    "This request needs an approver, and there is nobody other than you to approve it: ask the app's admin "
    "to set APPROVERS (or ADMIN_USER_IDS)."
)
OWN_REQUEST = "You can't approve or deny your own request: another approver has to decide it."
_DECIDED = {
    RequestStatus.RECEIVED: "it was allowed and is going on",
    RequestStatus.SUBMITTING: "it went on to Tavus",
    RequestStatus.TRAINING: "it went on to Tavus",
    RequestStatus.DECLINED: "it was declined",
    RequestStatus.DENIED: "it was not approved",
    RequestStatus.EXPIRED: "it expired without an answer",
    RequestStatus.SUBMIT_FAILED: "it was withdrawn or did not go through",
}


def already_decided_text(error: AlreadyDecided) -> str:
    outcome = next((text for status, text in _DECIDED.items() if status == error.now), None)
    outcome = outcome or "it was answered already"
    return f"This was decided already — {outcome}. The first answer counts; nothing changed."

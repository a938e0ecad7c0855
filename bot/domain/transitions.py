"""Every status a replica request can have and every move between them (`TRANSITIONS`), with what each
move queues for Slack. `bot.domain.lifecycle.Lifecycle` makes the moves; `docs/architecture.md` draws this
table (`make diagram`, `bot.domain.diagram`), and a test keeps the drawing current.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from storage.models import OutboxKind, RequestStatus

S = RequestStatus


# The statuses of one kind of thing the bot follows: a request's, a sample video's, a test call's.
Status = TypeVar("Status", bound=StrEnum)


@dataclass(frozen=True)
class Transition(Generic[Status]):
    name: str
    # None among the sources: the move creates the row. A None target: it removes the row.
    sources: tuple[Status | None, ...]
    target: Status | None
    # What brings the move about, in a few words (for the diagram).
    trigger: str
    # The notifications queued with it, each at most once per request (per job, for a job's posts).
    queues: tuple[OutboxKind, ...] = ()
    # Whether the request card is (re)rendered.
    card: bool = False
    # The person who acted hears about it at once, in the reply to what they did (not through the outbox).
    answered: bool = False
    # Messages already sent for the request that are edited to say what happened (a question answered).
    rearms: tuple[OutboxKind, ...] = ()

    @property
    def target_status(self) -> str:
        assert self.target is not None, f"{self.name} removes the row"
        return str(self.target)

    @property
    def source_statuses(self) -> list[str]:
        return [str(s) for s in self.sources if s is not None]


RECEIVE = Transition("receive", (None,), S.RECEIVED, "request acked, written before the ack")
HOLD = Transition(
    "hold", (None, S.RECEIVED), S.AWAITING_CONFIRMATION, "rights, consent or a doubtful photo to confirm",
    answered=True,
)
SUBMIT = Transition("submit", (None, S.RECEIVED), S.SUBMITTING, "photo checked, nothing to ask")
REFUSE = Transition("refuse", (S.RECEIVED,), None, "photo refused, the row is removed", answered=True)
GIVE_UP = Transition(
    "give_up", (S.RECEIVED,), S.SUBMIT_FAILED, "our own error while checking, or after a restart",
    answered=True,
)
CONFIRM = Transition(
    "confirm", (S.AWAITING_CONFIRMATION,), S.RECEIVED,
    "the requester answers (whose face, yes, submit anyway): the checks go on",
)
CANCEL = Transition(
    "cancel", (S.AWAITING_CONFIRMATION,), S.SUBMIT_FAILED, "the requester declines", answered=True
)
CREATE_FAILED = Transition(
    "create_failed", (S.SUBMITTING,), S.SUBMIT_FAILED, "Tavus refuses or stays down", answered=True
)
START = Transition("start", (S.SUBMITTING,), S.TRAINING, "Tavus created the replica", card=True)
PROGRESS = Transition("progress", (S.TRAINING,), S.TRAINING, "a poll sees new progress", card=True)
STALL = Transition(
    "stall", (S.TRAINING,), S.TRAINING, "no progress for STUCK_AFTER_HOURS", queues=(OutboxKind.STUCK,),
    card=True,
)
COMPLETE = Transition(
    "complete", (S.TRAINING,), S.COMPLETED, "Tavus says completed",
    queues=(OutboxKind.COMPLETION, OutboxKind.REQUESTER_DM), card=True,
)
FAIL = Transition(
    "fail", (S.TRAINING,), S.FAILED, "Tavus says error, or the replica is gone",
    queues=(OutboxKind.FAILURE, OutboxKind.REQUESTER_DM), card=True,
)
# phoenix-4.5: `completed` is a usable, watermarked preview; tuning goes on for hours and ends either way
# with a face that works. The requester's DM went with the preview, the moment the face became usable.
PREVIEW = Transition(
    "preview", (S.TRAINING,), S.PREVIEW_READY, "phoenix-4.5 says completed, tuning not finished",
    queues=(OutboxKind.PREVIEW_READY, OutboxKind.REQUESTER_DM), card=True,
)
TUNING_PROGRESS = Transition(
    "tuning_progress", (S.PREVIEW_READY,), S.PREVIEW_READY, "a poll sees tuning progress", card=True
)
TUNING_STALL = Transition(
    "tuning_stall", (S.PREVIEW_READY,), S.PREVIEW_READY, "tuning shows no progress for STUCK_AFTER_HOURS",
    queues=(OutboxKind.STUCK,), card=True,
)
TUNE = Transition(
    "tune", (S.PREVIEW_READY,), S.COMPLETED, "finetune_status completed: the watermark is gone",
    queues=(OutboxKind.TUNED,), card=True,
)
TUNING_FAIL = Transition(
    "tuning_fail", (S.PREVIEW_READY,), S.COMPLETED, "finetune_status errored: the preview stays usable",
    queues=(OutboxKind.TUNING_FAILED,), card=True,
)
PREVIEW_LOST = Transition(
    "preview_lost", (S.PREVIEW_READY,), S.FAILED, "Tavus says error, or the face is gone",
    queues=(OutboxKind.FAILURE,), card=True,
)
# Whose face it is decides who else is asked before anything reaches Tavus: the colleague in the photo,
# then (after Tavus' check) an approver. Each wait ends in one answer, or expires.
_ASKS = (OutboxKind.CONSENT_ASK, OutboxKind.APPROVAL_ASK)
ASK_CONSENT = Transition(
    "ask_consent", (None, S.RECEIVED, S.AWAITING_CONFIRMATION), S.AWAITING_CONSENT,
    "a colleague's face: they are asked in a DM first", queues=(OutboxKind.CONSENT_ASK,), card=True,
)
ALLOW = Transition(
    "allow", (S.AWAITING_CONSENT,), S.RECEIVED, "the colleague allows: the checks go on",
    card=True, rearms=(OutboxKind.CONSENT_ASK,),
)
DECLINE = Transition(
    "decline", (S.AWAITING_CONSENT,), S.DECLINED, "the colleague declines: the photo is purged",
    queues=(OutboxKind.DECLINED,), card=True, rearms=(OutboxKind.CONSENT_ASK,),
)
UNREACHABLE = Transition(
    "unreachable", (S.AWAITING_CONSENT,), S.AWAITING_CONSENT, "the DM to the colleague cannot be sent",
    queues=(OutboxKind.CONSENT_UNREACHABLE,),
)
DECLINE_NOTE = Transition(
    "decline_note", (S.DECLINED,), S.DECLINED, "the colleague adds a note to their no",
    queues=(OutboxKind.DECLINE_NOTE,),
)
ASK_APPROVAL = Transition(
    "ask_approval", (None, S.RECEIVED, S.AWAITING_CONFIRMATION), S.AWAITING_APPROVAL,
    "APPROVAL, the quota or a face from outside: approvers are asked", queues=(OutboxKind.APPROVAL_ASK,),
    card=True,
)
APPROVE = Transition(
    "approve", (S.AWAITING_APPROVAL,), S.RECEIVED, "an approver approves: the request goes on",
    card=True, rearms=(OutboxKind.APPROVAL_ASK,),
)
DENY = Transition(
    "deny", (S.AWAITING_APPROVAL,), S.DENIED, "an approver denies, with a reason",
    queues=(OutboxKind.DENIED,), card=True, rearms=(OutboxKind.APPROVAL_ASK,),
)
EXPIRE = Transition(
    "expire", (S.AWAITING_CONSENT, S.AWAITING_APPROVAL), S.EXPIRED,
    "no answer in time: the photo is purged", queues=(OutboxKind.EXPIRED,), card=True, rearms=_ASKS,
)
WITHDRAW = Transition(
    "withdraw", (S.AWAITING_CONSENT, S.AWAITING_APPROVAL), S.SUBMIT_FAILED,
    "the requester cancels while others are asked", card=True, answered=True, rearms=_ASKS,
)
DELETE = Transition(
    "delete", (S.TRAINING, S.PREVIEW_READY, S.COMPLETED, S.FAILED), S.DELETED, "/replica delete", card=True,
    answered=True,
)

# A request that is a row of a batch has no card of its own (its moves re-render the batch's card) and
# tells its thread only what needs someone: a failure, a colleague's answer. That it is ready is said on
# the batch's card and in its summary, and the requester hears once, when the whole batch has ended.
QUIET_IN_BATCH = frozenset((
    OutboxKind.COMPLETION, OutboxKind.PREVIEW_READY, OutboxKind.TUNED, OutboxKind.TUNING_FAILED,
    OutboxKind.STUCK, OutboxKind.REQUESTER_DM,
))

TRANSITIONS: tuple[Transition[RequestStatus], ...] = (
    RECEIVE, HOLD, SUBMIT, REFUSE, GIVE_UP, CONFIRM, CANCEL, ASK_CONSENT, UNREACHABLE, ALLOW, DECLINE,
    DECLINE_NOTE, ASK_APPROVAL, APPROVE, DENY, EXPIRE, WITHDRAW, CREATE_FAILED, START, PROGRESS, STALL,
    COMPLETE, FAIL, PREVIEW, TUNING_PROGRESS, TUNING_STALL, TUNE, TUNING_FAIL, PREVIEW_LOST, DELETE,
)

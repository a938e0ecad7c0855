"""The request lifecycle: every status a replica request can have, every move between them, and what each
move queues for Slack. This is the only place a request's status changes.

Each move is a row of `TRANSITIONS` and one method of `Lifecycle`. A move is a compare-and-set in the
database (`storage.repository.replica_requests.transition`): it happens only from the statuses it names,
and writes the notifications it causes (the outbox) in the same transaction. So a crash loses neither,
two workers recording the same change cannot both succeed, and each notification is queued once.
`docs/architecture.md` draws this table (`bot.domain.diagram`); a test keeps the drawing current.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from bot.domain.errors import SubmitProblem
from bot.domain.requests import SubmitError
from storage.db import Engine
from storage.models import OutboxKind, ReplicaRequest, RequestStatus, utcnow
from storage.repository import replica_requests

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
CONFIRM = Transition("confirm", (S.AWAITING_CONFIRMATION,), S.SUBMITTING, "the requester confirms")
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
DELETE = Transition(
    "delete", (S.TRAINING, S.PREVIEW_READY, S.COMPLETED, S.FAILED), S.DELETED, "/replica delete", card=True,
    answered=True,
)

TRANSITIONS: tuple[Transition[RequestStatus], ...] = (
    RECEIVE, HOLD, SUBMIT, REFUSE, GIVE_UP, CONFIRM, CANCEL, CREATE_FAILED, START, PROGRESS, STALL,
    COMPLETE, FAIL, PREVIEW, TUNING_PROGRESS, TUNING_STALL, TUNE, TUNING_FAIL, PREVIEW_LOST, DELETE,
)


@dataclass(frozen=True)
class Poll:
    """The bookkeeping of one poll, written with whatever it changed: when it ran, when the next one is
    due, and the poller's lease, given up."""

    owner: str
    polled_at: datetime
    next_poll_at: datetime

    def values(self) -> dict[str, Any]:
        return {"last_polled_at": self.polled_at, "next_poll_at": self.next_poll_at}


# The failure code stored when Tavus no longer knows the replica (it answered 404): ours, not a Tavus code.
REPLICA_GONE = "replica_gone"


@dataclass(frozen=True)
class Failure:
    """A training failure, explained once when it happens: the catalogue's code for it (or the unknown
    code Tavus used), and Tavus' own words. Everything that reports it later reads these."""

    code: str | None
    message: str | None


class Lifecycle:
    def __init__(self, engine: Engine, *, on_queued: Callable[[], None] = lambda: None) -> None:
        """`on_queued` is called after every move that queued something for Slack."""
        self._engine = engine
        self._on_queued = on_queued
        self._received = replica_requests.group_inserter(engine)

    # --- before Tavus ----------------------------------------------------------------------------------

    def receive(self, fields: Mapping[str, Any]) -> int:
        """Write a new request before its ack; concurrent acks share one transaction. Its id."""
        return self._received.insert({**fields, "status": RECEIVE.target_status})

    def checked(
        self, received_id: int | None, fields: Mapping[str, Any], *, hold: bool
    ) -> ReplicaRequest | None:
        """The checks passed: submit now, or hold for the requester's answer (`hold`). A request written
        before its ack moves on from "received" (None: another worker moved it first); one that was not
        is written now, with `fields`."""
        transition = HOLD if hold else SUBMIT
        if received_id is None:
            return replica_requests.insert(self._engine, {**fields, "status": transition.target_status})
        return self._move(transition, received_id, fields)

    def refuse(self, received_id: int) -> bool:
        """The photo was refused: nothing goes to Tavus and no request is left behind. False if another
        worker moved the request on first (and so reported it)."""
        (source,) = REFUSE.sources
        assert source is not None
        return replica_requests.remove(self._engine, received_id, status=str(source))

    def give_up(self, received_id: int, error: SubmitError) -> None:
        """A received request that cannot be processed: stop resuming it, keeping why."""
        self._move(GIVE_UP, received_id, _closed(error))

    def confirm(self, request_id: int, user_id: str) -> ReplicaRequest | None:
        """The requester confirmed (affirming the rights as they did): None if it was confirmed already."""
        now = utcnow()
        return self._move(CONFIRM, request_id, {"rights_affirmed_by": user_id, "rights_affirmed_at": now})

    def cancel(self, request_id: int, user_id: str) -> bool:
        """The requester declined; only theirs, and only while it waits for them."""
        error = SubmitError(SubmitProblem.CANCELLED)
        return self._move(CANCEL, request_id, _closed(error), requester_id=user_id) is not None

    def choose_photo(
        self, request_id: int, user_id: str, *, choice: str, affirms_rights: bool
    ) -> ReplicaRequest | None:
        """Tavus' check failed and the requester or an admin chose to submit all the same (`choice`:
        "anyway", or "auto_fix" for Tavus' fixer); who and when are kept. None if already chosen."""
        now = utcnow()
        values: dict[str, Any] = {"photo_choice": choice, "photo_choice_by": user_id, "photo_choice_at": now}
        if affirms_rights:
            values |= {"rights_affirmed_by": user_id, "rights_affirmed_at": now}
        return self._move(CONFIRM, request_id, values)

    def set_aside(self, request_id: int) -> bool:
        """Another photo is coming instead (the caller checked it is the requester's or an admin's wish)."""
        return self._move(CANCEL, request_id, _closed(SubmitError(SubmitProblem.CANCELLED))) is not None

    # --- Tavus ------------------------------------------------------------------------------------------

    def create_failed(self, request_id: int, error: SubmitError) -> ReplicaRequest | None:
        return self._move(CREATE_FAILED, request_id, _closed(error))

    def start(self, request_id: int, replica_id: str, *, first_poll_at: datetime) -> ReplicaRequest | None:
        """Tavus created the replica: training starts, the card goes up. The lease taken for the create
        (a reconciliation's) is released."""
        now = utcnow()
        return self._move(
            START,
            request_id,
            {
                "replica_id": replica_id,
                "submitted_at": now,
                "progress_changed_at": now,
                "next_poll_at": first_poll_at,
                "lease_owner": None,
                "lease_until": None,
            },
        )

    def progress(
        self, request_id: int, *, progress: str | None, percent: int | None, poll: Poll, tuning: bool = False
    ) -> bool:
        """New progress; `tuning`: phoenix-4.5's tuning, after the preview."""
        values = {
            "training_progress": progress,
            "progress_percent": percent,
            "progress_changed_at": poll.polled_at,
        }
        return self._polled(TUNING_PROGRESS if tuning else PROGRESS, request_id, poll, values)

    def stall(self, request_id: int, *, poll: Poll, tuning: bool = False) -> bool:
        """No progress for a long time: one reassuring notice (False if it was given already)."""
        return self._polled(TUNING_STALL if tuning else STALL, request_id, poll, {})

    def complete(
        self, request_id: int, *, progress: str | None, thumbnail_video_url: str | None, poll: Poll
    ) -> bool:
        values = {
            "finished_at": poll.polled_at,
            "progress_percent": 100,
            "training_progress": progress or "100/100",
            "thumbnail_video_url": thumbnail_video_url,
        }
        return self._polled(COMPLETE, request_id, poll, values)

    def fail(self, request_id: int, failure: Failure, *, poll: Poll, after_preview: bool = False) -> bool:
        values = {"finished_at": poll.polled_at, "error_code": failure.code, "error_message": failure.message}
        return self._polled(PREVIEW_LOST if after_preview else FAIL, request_id, poll, values)

    def preview(
        self,
        request_id: int,
        *,
        thumbnail_video_url: str | None,
        finetune_status: str | None,
        progress: str | None,
        percent: int | None,
        poll: Poll,
    ) -> bool:
        """phoenix-4.5's preview is usable; tuning goes on (and is polled). A stall is measured from now."""
        values = {
            "preview_at": poll.polled_at,
            "thumbnail_video_url": thumbnail_video_url,
            "finetune_status": finetune_status,
            "training_progress": progress,
            "progress_percent": percent,
            "progress_changed_at": poll.polled_at,
        }
        return self._polled(PREVIEW, request_id, poll, values)

    def tuned(
        self,
        request_id: int,
        *,
        finetune_status: str | None,
        thumbnail_video_url: str | None,
        poll: Poll,
        errored: bool = False,
    ) -> bool:
        """Tuning ended: the watermark is gone, or (`errored`) the preview stays as it is. Polling stops."""
        values: dict[str, Any] = {"finished_at": poll.polled_at, "finetune_status": finetune_status}
        if not errored:
            values.update(progress_percent=100, training_progress="100/100")
        if thumbnail_video_url:
            values["thumbnail_video_url"] = thumbnail_video_url
        return self._polled(TUNING_FAIL if errored else TUNE, request_id, poll, values)

    def delete(self, request_id: int, user_id: str, *, finished_at: datetime | None) -> ReplicaRequest | None:
        now = utcnow()
        values = {"deleted_by": user_id, "deleted_at": now, "finished_at": finished_at or now}
        return self._move(DELETE, request_id, values)

    # --- the one way a status changes ------------------------------------------------------------------

    def _polled(
        self, transition: Transition[RequestStatus], request_id: int, poll: Poll, values: Mapping[str, Any]
    ) -> bool:
        """A move a poll found, written with the poll's bookkeeping; False if it did not happen."""
        moved = self._move(transition, request_id, {**poll.values(), **values}, release_lease_of=poll.owner)
        return moved is not None

    def _move(
        self,
        transition: Transition[RequestStatus],
        request_id: int,
        values: Mapping[str, Any],
        *,
        release_lease_of: str | None = None,
        requester_id: str | None = None,
    ) -> ReplicaRequest | None:
        moved = replica_requests.transition(
            self._engine,
            request_id,
            sources=transition.source_statuses,
            target=transition.target_status,
            values={**values, "updated_at": utcnow()},
            queue=transition.queues,
            arm_card=transition.card,
            release_lease_of=release_lease_of,
            requester_id=requester_id,
        )
        if moved is not None and (transition.queues or transition.card):
            self._on_queued()
        return moved


def _closed(error: SubmitError) -> dict[str, Any]:
    return {"submit_error": error.stored(), "finished_at": utcnow()}

"""The request lifecycle: every status a replica request can have, every move between them, and what each
move queues for Slack. This is the only place a request's status changes.

Each move is a row of `TRANSITIONS` (`bot.domain.transitions`) and one method of `Lifecycle`, or, for the
answers of people other than the requester, of `bot.domain.waits.Waits`; all go through `Lifecycle.move`. A
move is a compare-and-set in
the database (`storage.repository.replica_requests.transition`): it happens only from the statuses it names,
and writes the notifications it causes (the outbox) in the same transaction. So a crash loses neither,
two workers recording the same change cannot both succeed, and each notification is queued once.
`docs/architecture.md` draws this table (`bot.domain.diagram`); a test keeps the drawing current.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.errors import SubmitProblem
from bot.domain.requests import SubmitError
from bot.domain.transitions import (
    ASK_APPROVAL,
    ASK_CONSENT,
    CANCEL,
    COMPLETE,
    CONFIRM,
    CREATE_FAILED,
    DELETE,
    FAIL,
    GIVE_UP,
    HOLD,
    PREVIEW,
    PREVIEW_LOST,
    PROGRESS,
    QUIET_IN_BATCH,
    RECEIVE,
    REFUSE,
    STALL,
    START,
    SUBMIT,
    TUNE,
    TUNING_FAIL,
    TUNING_PROGRESS,
    TUNING_STALL,
    Transition,
)
from storage.db import Engine
from storage.models import OutboxKind, ReplicaRequest, RequestStatus, utcnow
from storage.repository import replica_requests
from storage.repository.outbox import Queued


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
        return self.move(transition, received_id, fields)

    def receive_row(
        self, fields: Mapping[str, Any], row_id: int, *, decision: Mapping[str, Any] | None = None
    ) -> ReplicaRequest | None:
        """A submitted batch's row becomes a request, checked already and waiting for its next gate;
        exactly one per row (None: another worker made it). `decision`: the batch's approval, recorded for
        this request too."""
        values = {**fields, "status": RECEIVE.target_status}
        request = replica_requests.insert_for_row(self._engine, values, row_id, decision=decision)
        if request is not None:
            self._on_queued()
        return request

    def ask_consent(
        self, request_id: int, values: Mapping[str, Any], depicted_id: str
    ) -> ReplicaRequest | None:
        """The face is a colleague's: they are asked in a DM, and the card goes up saying so."""
        note = Queued(OutboxKind.CONSENT_ASK, recipient=depicted_id)
        return self.move(ASK_CONSENT, request_id, values, notes=[note])

    def ask_approval(
        self, request_id: int, values: Mapping[str, Any], asked: Sequence[str]
    ) -> ReplicaRequest | None:
        """An approver must agree: each one in `asked` (a user, or the approvals channel) gets a message."""
        notes = [Queued(OutboxKind.APPROVAL_ASK, subject=who, recipient=who) for who in asked]
        return self.move(ASK_APPROVAL, request_id, values, notes=notes)

    def refuse(self, received_id: int) -> bool:
        """The photo was refused: nothing goes to Tavus and no request is left behind. False if another
        worker moved the request on first (and so reported it)."""
        (source,) = REFUSE.sources
        assert source is not None
        return replica_requests.remove(self._engine, received_id, status=str(source))

    def give_up(self, received_id: int, error: SubmitError) -> None:
        """A received request that cannot be processed: stop resuming it, keeping why."""
        self.move(GIVE_UP, received_id, _closed(error))

    def confirm(
        self, request_id: int, user_id: str, *, likeness: str | None = None, depicted_id: str | None = None
    ) -> ReplicaRequest | None:
        """The requester answered (affirming the rights as they did, having seen the photo check's doubts;
        with `likeness`, saying whose face it is): the checks go on. None if it was answered already."""
        now = utcnow()
        values: dict[str, Any] = {
            "rights_affirmed_by": user_id, "rights_affirmed_at": now, "findings_accepted_at": now
        }
        decision = None
        if likeness is not None:
            values |= {"likeness": likeness, "depicted_id": depicted_id}
            decision = {"topic": "likeness", "outcome": likeness, "by_user": user_id, "note": depicted_id}
        return self.move(CONFIRM, request_id, values, decision=decision)

    def cancel(self, request_id: int, user_id: str) -> bool:
        """The requester declined; only theirs, and only while it waits for them."""
        error = SubmitError(SubmitProblem.CANCELLED)
        return self.move(CANCEL, request_id, _closed(error), requester_id=user_id) is not None

    def choose_photo(
        self, request_id: int, user_id: str, *, choice: str, affirms_rights: bool
    ) -> ReplicaRequest | None:
        """Tavus' check failed and the requester or an admin chose to submit all the same (`choice`:
        "anyway", or "auto_fix" for Tavus' fixer); who and when are kept. None if already chosen."""
        now = utcnow()
        values: dict[str, Any] = {"photo_choice": choice, "photo_choice_by": user_id, "photo_choice_at": now}
        values["findings_accepted_at"] = now
        if affirms_rights:
            values |= {"rights_affirmed_by": user_id, "rights_affirmed_at": now}
        return self.move(CONFIRM, request_id, values)

    def set_aside(self, request_id: int) -> bool:
        """Another photo is coming instead (the caller checked it is the requester's or an admin's wish)."""
        return self.move(CANCEL, request_id, _closed(SubmitError(SubmitProblem.CANCELLED))) is not None

    # --- Tavus ------------------------------------------------------------------------------------------

    def create_failed(self, request_id: int, error: SubmitError) -> ReplicaRequest | None:
        return self.move(CREATE_FAILED, request_id, _closed(error))

    def start(self, request_id: int, replica_id: str, *, first_poll_at: datetime) -> ReplicaRequest | None:
        """Tavus created the replica: training starts, the card goes up. The lease taken for the create
        (a reconciliation's) is released."""
        now = utcnow()
        return self.move(
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
        return self.move(DELETE, request_id, values)

    # --- the one way a status changes ------------------------------------------------------------------

    def _polled(
        self, transition: Transition[RequestStatus], request_id: int, poll: Poll, values: Mapping[str, Any]
    ) -> bool:
        """A move a poll found, written with the poll's bookkeeping; False if it did not happen."""
        moved = self.move(transition, request_id, {**poll.values(), **values}, release_lease_of=poll.owner)
        return moved is not None

    def move(
        self,
        transition: Transition[RequestStatus],
        request_id: int,
        values: Mapping[str, Any],
        *,
        notes: Sequence[Queued] = (),
        decision: Mapping[str, Any] | None = None,
        release_lease_of: str | None = None,
        requester_id: str | None = None,
    ) -> ReplicaRequest | None:
        """Make `transition` for the request, writing `values`, if it is in one of the move's sources; None
        if not (or another worker made it first). `notes` are the addressed messages the move queues (who
        is asked: `Queued` rows of the kinds it names), in place of a plain row of their kind;
        `decision`, who decided what, is recorded in the same transaction."""
        addressed = {note.kind for note in notes}
        assert addressed <= set(transition.queues), f"{transition.name} does not queue {addressed}"
        queue: list[OutboxKind | Queued] = [*notes, *(k for k in transition.queues if k not in addressed)]
        # A request is a batch's row from the moment it is written, or never.
        batch_id = replica_requests.batch_of(self._engine, request_id)
        if batch_id is not None:
            queue = [n for n in queue if (n.kind if isinstance(n, Queued) else n) not in QUIET_IN_BATCH]
        moved = replica_requests.transition(
            self._engine,
            request_id,
            sources=transition.source_statuses,
            target=transition.target_status,
            values={**values, "updated_at": utcnow()},
            queue=queue,
            arm_card=transition.card,
            rearm=transition.rearms,
            decision=decision,
            release_lease_of=release_lease_of,
            requester_id=requester_id,
            batch_id=batch_id,
        )
        if moved is not None and (transition.queues or transition.card or transition.rearms):
            self._on_queued()
        return moved


def _closed(error: SubmitError) -> dict[str, Any]:
    return {"submit_error": error.stored(), "finished_at": utcnow()}

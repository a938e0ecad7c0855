"""A batch's lifecycle: every status, every move, and what each move tells where the batch is followed
(its card, its thread, the approvers, the requester's DM). The only place a batch's status changes.

Like a request's (`bot.domain.lifecycle`), each move is a row of a transition table and a compare-and-set
(`storage.repository.batches.transition`) that writes its messages in the same transaction, with whatever
else the move consists of (the rows of a file just read, a row's check): a crash loses neither, two
workers cannot both make it, and each message is queued once. A double click on Submit submits once.
`docs/architecture.md` draws the table.

Once submitted, each ready row becomes an ordinary request (`Lifecycle.receive_row`), linked to the batch:
its own moves re-render the batch's card rather than a card of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.transitions import Transition
from storage.batch_models import Batch, BatchStatus
from storage.db import Engine
from storage.models import TERMINAL, OutboxKind, RequestStatus, utcnow
from storage.repository import batches
from storage.repository.outbox import Queued

B = BatchStatus
O = OutboxKind  # noqa: E741
_APPROVERS = (O.BATCH_APPROVAL_ASK,)

OPEN_BATCH = Transition(
    "open_batch", (None,), B.CHECKING, "a CSV or photos arrive, written before the ack", card=True
)
READ_FILE = Transition("read_file", (B.CHECKING,), B.CHECKING, "the CSV is read: one row each", card=True)
REFUSE_FILE = Transition(
    "refuse_file", (B.CHECKING,), B.REFUSED, "not a CSV, no header, an unknown column, too big …", card=True
)
CHECK_ROW = Transition(
    "check_row", (B.CHECKING,), B.CHECKING, "a row is checked, in parallel within bounds", card=True
)
ALL_CHECKED = Transition("all_checked", (B.CHECKING,), B.CHECKED, "every row is checked", card=True)
SUBMIT_BATCH = Transition(
    "submit_batch", (B.CHECKED,), B.SUBMITTED, "Submit N (the requester or an admin): each ready row goes",
    card=True,
)
ASK_BATCH_APPROVAL = Transition(
    "ask_batch_approval", (B.CHECKED,), B.AWAITING_APPROVAL, "Submit N, with approvals on: one decision",
    queues=_APPROVERS, card=True,
)
APPROVE_BATCH = Transition(
    "approve_batch", (B.AWAITING_APPROVAL,), B.SUBMITTED, "an approver approves the batch",
    card=True, rearms=_APPROVERS,
)
DENY_BATCH = Transition(
    "deny_batch", (B.AWAITING_APPROVAL,), B.CANCELLED, "an approver denies it, with a reason",
    queues=(O.BATCH_DENIED,), card=True, rearms=_APPROVERS,
)
EXPIRE_BATCH = Transition(
    "expire_batch", (B.AWAITING_APPROVAL,), B.CANCELLED, "no approver answered in time",
    card=True, rearms=_APPROVERS,
)
CANCEL_BATCH = Transition(
    "cancel_batch", (B.CHECKING, B.CHECKED, B.AWAITING_APPROVAL), B.CANCELLED,
    "Cancel (the requester or an admin): nothing is submitted", card=True, rearms=_APPROVERS,
)
FINISH_BATCH = Transition(
    "finish_batch", (B.SUBMITTED,), B.FINISHED, "every row has ended (ready, failed, declined …)",
    queues=(O.BATCH_SUMMARY, O.BATCH_DM), card=True,
)
BATCH_TRANSITIONS: tuple[Transition[BatchStatus], ...] = (
    OPEN_BATCH, READ_FILE, REFUSE_FILE, CHECK_ROW, ALL_CHECKED, SUBMIT_BATCH, ASK_BATCH_APPROVAL,
    APPROVE_BATCH, DENY_BATCH, EXPIRE_BATCH, CANCEL_BATCH, FINISH_BATCH,
)

# A row has ended when its request has: a usable face (phoenix-4.5's preview counts: it works, with a
# watermark, while tuning goes on), or no face at all.
ROW_ENDED: tuple[str, ...] = tuple(str(s) for s in (*TERMINAL, RequestStatus.PREVIEW_READY))


class BatchLifecycle:
    def __init__(self, engine: Engine, *, on_queued: Callable[[], None] = lambda: None) -> None:
        """`on_queued` is called after every move that queued something for Slack."""
        self._engine = engine
        self._on_queued = on_queued

    def open(self, values: Mapping[str, Any], rows: Sequence[Mapping[str, Any]] = ()) -> Batch:
        """Record a new batch (with its rows, when known already) before its ack; its card goes up."""
        now = utcnow()
        status = OPEN_BATCH.target_status
        batch = batches.insert(
            self._engine, {**values, "status": status, "created_at": now, "updated_at": now}, rows
        )
        self._on_queued()
        return batch

    def read(self, batch_id: int, rows: Sequence[Mapping[str, Any]], *, owner: str) -> Batch | None:
        then = batches.adding_rows(batch_id, rows)
        values = {"total": len(rows), "lease_owner": None, "lease_until": None}
        return self.move(READ_FILE, batch_id, values, then=then, condition=batches.held_by(owner))

    def refuse(self, batch_id: int, refusal: str, *, owner: str | None = None) -> Batch | None:
        """The file cannot be read as a batch (`owner`: the worker that read it, if one did)."""
        values = {"refusal": refusal, "finished_at": utcnow(), "lease_owner": None, "lease_until": None}
        condition = batches.held_by(owner) if owner is not None else None
        return self.move(REFUSE_FILE, batch_id, values, condition=condition)

    def row_checked(self, batch_id: int, row_id: int, values: Mapping[str, Any], *, owner: str) -> bool:
        """A row's check recorded, once, by the worker holding it (False: it was not, or is no longer)."""
        then = batches.recording_check(row_id, {**values, "checked_at": utcnow()}, owner=owner)
        return self.move(CHECK_ROW, batch_id, {}, then=then) is not None

    def all_checked(self, batch_id: int) -> Batch | None:
        return self.move(ALL_CHECKED, batch_id, {}, condition=batches.all_checked(batch_id))

    def submit(
        self,
        batch_id: int,
        user_id: str,
        *,
        approvers: Sequence[str] = (),
        expires_at: datetime | None = None,
    ) -> Batch | None:
        """Submit clicked: the rows go (None if it was clicked before, or the batch was cancelled), or with
        `approvers`, each of them (a user, or the approvals channel) is asked first, until `expires_at`."""
        values: dict[str, Any] = {"submitted_by": user_id, "submitted_at": utcnow()}
        if not approvers:
            return self.move(SUBMIT_BATCH, batch_id, values)
        values |= {"approval_status": "asked", "expires_at": expires_at}
        notes = [Queued(O.BATCH_APPROVAL_ASK, subject=who, recipient=who) for who in approvers]
        return self.move(ASK_BATCH_APPROVAL, batch_id, values, queue=notes)

    def decided(self, batch_id: int, values: Mapping[str, Any], *, approved: bool) -> Batch | None:
        return self.move(APPROVE_BATCH if approved else DENY_BATCH, batch_id, values)

    def expire(self, batch_id: int) -> Batch | None:
        return self.move(EXPIRE_BATCH, batch_id, {"approval_status": "expired", "finished_at": utcnow()})

    def cancel(self, batch_id: int, user_id: str) -> Batch | None:
        return self.move(CANCEL_BATCH, batch_id, {"cancelled_by": user_id, "finished_at": utcnow()})

    def finish(self, batch_id: int) -> Batch | None:
        condition = batches.all_ended(batch_id, ROW_ENDED)
        return self.move(FINISH_BATCH, batch_id, {"finished_at": utcnow()}, condition=condition)

    def move(
        self,
        transition: Transition[BatchStatus],
        batch_id: int,
        values: Mapping[str, Any],
        *,
        queue: Sequence[Queued] = (),
        condition: batches.Condition | None = None,
        then: batches.Write | None = None,
    ) -> Batch | None:
        """Make `transition` for the batch, writing `values` (and what `then` writes), if it is in one of
        the move's sources and `condition` holds; None if not (or another worker made it first)."""
        addressed = {note.kind for note in queue}
        assert addressed <= set(transition.queues), f"{transition.name} does not queue {addressed}"
        notes: list[OutboxKind | Queued] = [*queue, *(k for k in transition.queues if k not in addressed)]
        moved = batches.transition(
            self._engine,
            batch_id,
            sources=transition.source_statuses,
            target=transition.target_status,
            values={**values, "updated_at": utcnow()},
            queue=notes,
            arm_card=transition.card,
            rearm=transition.rearms,
            condition=condition,
            then=then,
        )
        if moved is not None:
            self._on_queued()
        return moved

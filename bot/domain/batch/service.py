"""What people do with a batch: send one (a CSV by mention or DM, the batch form with a CSV, pasted rows or
a handful of photos), submit or cancel it, approve or deny it, retry the rows that did not make it, and
look it up. Each way in is written down before its ack; the checks run after it (`bot.domain.batch.work`).

Only the requester or an admin submits, cancels or retries; only an approver (never for their own batch)
approves or denies, once for the whole batch. The first click counts: a double click on Submit submits
once, and the second hears that it was submitted already.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta

from bot.domain.access import Access
from bot.domain.batch.csv_rows import CsvRow, as_csv, read_text
from bot.domain.batch.lifecycle import BatchLifecycle
from bot.domain.batch.problems import (
    BatchFileRefused,
    BatchGone,
    BatchMovedOn,
    BatchNotYours,
    FileProblem,
    NotABatchApprover,
    NothingToSubmit,
)
from bot.domain.batch.rows import MAX_PHOTOS, SharedPhoto, csv_row_values, photo_row_values
from bot.domain.errors import ConfirmationExpired
from bot.domain.gates import Answer
from bot.domain.people import Directory, may_approve, resolve_approvers
from bot.domain.requests import Requester
from bot.domain.rules import SubmissionRules
from storage.batch_models import Batch, BatchStatus, RowVerdict
from storage.db import Engine
from storage.models import Likeness, RequestStatus, utcnow
from storage.repository import batch_work, batches
from storage.repository.batches import BatchView, RowState

_PUBLIC_ID = re.compile(r"^(?:b|batch[-_ ]?)(\d+)$", re.IGNORECASE)
# Rows "Retry the failed rows" offers again: those that needed attention, failed, or were never answered
# (not those whose colleague or approver said no).
_RETRIED = (RequestStatus.FAILED, RequestStatus.SUBMIT_FAILED, RequestStatus.EXPIRED)


def batch_number(text: str) -> int | None:
    """The batch a word names (`b12`, `batch-12`), if it names one."""
    match = _PUBLIC_ID.match(text.strip().strip("`"))
    return int(match.group(1)) if match else None


class Batches:
    def __init__(
        self,
        engine: Engine,
        lifecycle: BatchLifecycle,
        access: Access,
        rules: SubmissionRules,
        *,
        max_rows: int,
        directory: Directory | None = None,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        """`kick` wakes the batch worker (there is something new to check or submit)."""
        self._engine = engine
        self._lifecycle = lifecycle
        self._access = access
        self._rules = rules
        self.max_rows = max_rows
        self._directory = directory
        self._kick = kick

    # --- ways in, before the ack ----------------------------------------------------------------------

    def open_csv(
        self, requester: Requester, file_id: str, file_name: str, *, thread_ts: str | None = None
    ) -> Batch:
        """A CSV shared in Slack: read and checked after the ack (again after a crash)."""
        return self._open(requester, [], thread_ts=thread_ts, file_id=file_id, file_name=file_name)

    def open_text(
        self,
        requester: Requester,
        text: str,
        *,
        voice: str | None = None,
        model: str | None = None,
    ) -> Batch:
        """Rows pasted into the batch form (the failed rows of an earlier batch, say); BatchFileRefused
        for text that cannot be read as a batch, before anything is written."""
        rows = csv_row_values(read_text(text, max_rows=self.max_rows), requester.user_id)
        return self._open(requester, rows, voice_name=voice, model_name=model)

    def open_photos(
        self, requester: Requester, photos: Sequence[SharedPhoto], *, voice: str | None, model: str | None
    ) -> Batch:
        """Up to ten photos from the batch form: one row each, one voice and model for all."""
        if len(photos) > MAX_PHOTOS:
            raise BatchFileRefused(FileProblem.TOO_MANY_PHOTOS, limit=MAX_PHOTOS, value=str(len(photos)))
        return self._open(requester, photo_row_values(photos), voice_name=voice, model_name=model)

    def _open(self, requester: Requester, rows: list[dict[str, object]], **values: object) -> Batch:
        fields = {
            "team_id": requester.team_id,
            "channel_id": requester.channel_id,
            "requester_id": requester.user_id,
            # A file's rows are known once it is read, after the ack.
            "total": None if values.get("file_id") else len(rows),
            **values,
        }
        batch = self._lifecycle.open(fields, rows)
        self._kick()
        return batch

    # --- the requester (or an admin) ------------------------------------------------------------------

    def submit(self, batch_id: int, user_id: str) -> Batch:
        """Submit N: every ready row goes; or, when an approval is needed, the approvers are asked first."""
        view = self._manageable(batch_id, user_id)
        ready = view.where(RowVerdict.READY)
        if view.batch.status != BatchStatus.CHECKED:
            raise BatchMovedOn(view.batch.status)
        if not ready:
            raise NothingToSubmit()
        # Tavus may take a day to download a hosted photo: one checked longer ago would expire mid-training.
        window = max(self._rules.media_url_ttl - timedelta(hours=24), timedelta(0))
        if any(r.row.photo_key for r in ready) and view.batch.created_at + window < utcnow():
            raise ConfirmationExpired()
        approvers = self._approvers(view.batch) if self._approval_needed(view.batch, ready) else ()
        expires = utcnow() + self._rules.approvals.expires
        moved = self._lifecycle.submit(batch_id, user_id, approvers=approvers, expires_at=expires)
        if moved is None:
            raise BatchMovedOn(self._batch(batch_id).status)
        self._kick()
        return moved

    def cancel(self, batch_id: int, user_id: str) -> Batch:
        self._manageable(batch_id, user_id)
        cancelled = self._lifecycle.cancel(batch_id, user_id)
        if cancelled is None:
            raise BatchMovedOn(self._batch(batch_id).status)
        return cancelled

    def retry_rows(self, batch_id: int, user_id: str, *, code: str | None = None) -> str:
        """The rows to send again, as CSV for the batch form: those of one failure's cause (`code`, as
        Tavus reported it; "" for failures without one), or every row that did not make it."""
        view = self._manageable(batch_id, user_id)
        chosen = [r for r in view.rows if _retried(r, code)]
        return as_csv(
            CsvRow(r.row_number, r.name, r.photo_url, r.voice_name, r.model_name, r.for_cell)
            for r in (state.row for state in chosen)
        )

    # --- the approvers --------------------------------------------------------------------------------

    def check_approver(self, batch_id: int, user_id: str) -> Batch:
        """The batch, if `user_id` may decide it now (else the refusal that says why not)."""
        batch = self._batch(batch_id)
        approvers = self._rules.approvals.approvers
        if self._directory is None or not may_approve(self._directory, approvers, user_id):
            raise NotABatchApprover(own=False)
        if batch.requester_id == user_id:
            raise NotABatchApprover(own=True)
        if batch.status != BatchStatus.AWAITING_APPROVAL:
            raise BatchMovedOn(batch.status)
        return batch

    def approve(self, batch_id: int, user_id: str) -> Batch:
        self.check_approver(batch_id, user_id)
        values = {"approval_status": Answer.APPROVED.value, "approval_by": user_id, "approval_at": utcnow()}
        return self._decide(batch_id, {**values, "expires_at": None}, approved=True)

    def deny(self, batch_id: int, user_id: str, reason: str) -> Batch:
        self.check_approver(batch_id, user_id)
        values = {"approval_status": Answer.DENIED.value, "approval_by": user_id, "approval_at": utcnow()}
        values |= {"approval_reason": reason.strip()[:500], "expires_at": None, "finished_at": utcnow()}
        return self._decide(batch_id, values, approved=False)

    def _decide(self, batch_id: int, values: dict[str, object], *, approved: bool) -> Batch:
        decided = self._lifecycle.decided(batch_id, values, approved=approved)
        if decided is None:
            raise BatchMovedOn(self._batch(batch_id).status)
        self._kick()
        return decided

    # --- reading --------------------------------------------------------------------------------------

    def view(self, batch_id: int) -> BatchView:
        found = batches.view(self._engine, batch_id)
        if found is None:
            raise BatchGone()
        return found

    def visible(self, text: str, user_id: str, channel_id: str) -> BatchView:
        """`/replica status b12`: the batch, if this person may see it here (their own anywhere; someone
        else's where it was sent; everyone's for admins)."""
        number = batch_number(text)
        found = batches.view(self._engine, number) if number is not None else None
        if found is None or not (
            found.batch.requester_id == user_id
            or found.batch.channel_id == channel_id
            or self._access.is_admin(user_id)
        ):
            raise BatchGone(text.strip("`"))
        return found

    def recent_for(self, user_id: str, *, limit: int = 5) -> list[BatchView]:
        return batches.recent_views(self._engine, requester_id=user_id, limit=limit)

    # --- helpers --------------------------------------------------------------------------------------

    def _batch(self, batch_id: int) -> Batch:
        batch = batches.get(self._engine, batch_id)
        if batch is None:
            raise BatchGone()
        return batch

    def _manageable(self, batch_id: int, user_id: str) -> BatchView:
        view = self.view(batch_id)
        if view.batch.requester_id != user_id and not self._access.is_admin(user_id):
            raise BatchNotYours(view.batch.requester_id)
        return view

    def _approval_needed(self, batch: Batch, ready: Sequence[RowState]) -> bool:
        """APPROVAL=required; the requester's monthly quota, counting the whole batch; or a face from
        outside the workspace among the rows (LIKENESS_OUTSIDE=approve)."""
        outside = any(r.row.likeness == Likeness.OUTSIDE for r in ready)
        if outside and self._rules.likeness_outside == "approve":
            return True
        approvals = self._rules.approvals
        if approvals.mode == "required":
            return True
        if approvals.mode != "over-quota" or approvals.quota_per_month is None:
            return False
        since = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        spent = batch_work.spent_recently(self._engine, batch.requester_id, since)
        return spent + len(ready) > approvals.quota_per_month

    def _approvers(self, batch: Batch) -> tuple[str, ...]:
        approvals = self._rules.approvals
        if approvals.channel:
            return (approvals.channel,)
        assert self._directory is not None, "approvals need the Slack directory"
        return resolve_approvers(self._directory, approvals.approvers, requester_id=batch.requester_id)


def _retried(state: RowState, code: str | None) -> bool:
    request = state.request
    if code is not None:
        failed = request is not None and request.status == RequestStatus.FAILED
        return failed and request is not None and (request.error_code or "") == code
    if request is None:
        return state.row.verdict == RowVerdict.ATTENTION
    return request.status in _RETRIED

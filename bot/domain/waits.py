"""The answers of people other than the requester: the colleague in the photo allows or declines, an
approver approves or denies, nobody answers in time, or the requester withdraws while they wait.

Only the person asked can answer (the colleague for their own face; an approver, never for their own
request). Each answer is one compare-and-set in the lifecycle, written with the record of who decided what
and the messages it changes, so the first answer wins: a double click, or two approvers at once, count
once. A "no" or no answer purges the photo at once.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.domain.access import Access
from bot.domain.errors import Action, AlreadyDecided, NotPermitted, OwnRequest, RequestGone, SubmitProblem
from bot.domain.gates import Answer
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.people import Directory, may_approve
from bot.domain.requests import SubmitError
from bot.domain.rules import SubmissionRules
from bot.domain.transitions import (
    ALLOW,
    APPROVE,
    DECLINE,
    DECLINE_NOTE,
    DENY,
    EXPIRE,
    UNREACHABLE,
    WITHDRAW,
)
from storage.db import Engine
from storage.models import ReplicaRequest, RequestStatus, utcnow
from storage.repository import replica_requests

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 500


class Waits:
    def __init__(
        self,
        engine: Engine,
        lifecycle: Lifecycle,
        access: Access,
        rules: SubmissionRules,
        *,
        media: MediaStore | None = None,
        directory: Directory | None = None,
    ) -> None:
        self._engine = engine
        self._lifecycle = lifecycle
        self._access = access
        self._rules = rules
        self._media = media
        self._directory = directory

    # --- the colleague ---------------------------------------------------------------------------------

    def allow(self, request_id: int, user_id: str) -> ReplicaRequest:
        """The colleague allows: the request is "received" again, and its checks go on."""
        request = self._asked(request_id, user_id, RequestStatus.AWAITING_CONSENT)
        values = {"consent_status": Answer.ALLOWED.value, "consent_at": utcnow(), "expires_at": None}
        return self._answer(request, ALLOW, values, "consent", Answer.ALLOWED, user_id)

    def decline(self, request_id: int, user_id: str) -> ReplicaRequest:
        """The colleague declines: the requester hears it, and the photo is purged."""
        request = self._asked(request_id, user_id, RequestStatus.AWAITING_CONSENT)
        values = _ended(consent_status=Answer.DECLINED.value, consent_at=utcnow())
        declined = self._answer(request, DECLINE, values, "consent", Answer.DECLINED, user_id)
        self._purge(request_id)
        return declined

    def check_note(self, request_id: int, user_id: str) -> ReplicaRequest:
        """Raise the refusal for a note that may not be added (not theirs, not declined, noted already)."""
        request = self._request(request_id)
        if request.depicted_id != user_id:
            raise NotPermitted(Action.CONSENT, request.depicted_id or "", request.replica_name)
        if request.status != RequestStatus.DECLINED or request.consent_note:
            raise AlreadyDecided(request.status)
        return request

    def decline_note(self, request_id: int, user_id: str, note: str) -> ReplicaRequest:
        """A short note to go with the colleague's no, once."""
        request = self.check_note(request_id, user_id)
        text = note.strip()[:MAX_NOTE_CHARS]
        if not text:
            raise AlreadyDecided(request.status)
        moved = self._lifecycle.move(DECLINE_NOTE, request_id, {"consent_note": text})
        if moved is None:
            raise AlreadyDecided(request.status)
        return moved

    def unreachable(self, request_id: int, error: str) -> None:
        """The DM to the colleague could not be sent: the requester is told whom to ask and how, once."""
        if self._lifecycle.move(UNREACHABLE, request_id, {}) is not None:
            log.warning("request %s: the consent request could not be sent (%s)", request_id, error)

    # --- the approvers ---------------------------------------------------------------------------------

    def approve(self, request_id: int, user_id: str) -> ReplicaRequest:
        """An approver agrees: the request is "received" again, and goes on to Tavus."""
        request = self._approvable(request_id, user_id)
        values = {"approval_status": Answer.APPROVED.value, "approval_by": user_id, "approval_at": utcnow()}
        values["expires_at"] = None
        return self._answer(request, APPROVE, values, "approval", Answer.APPROVED, user_id)

    def check_approver(self, request_id: int, user_id: str) -> ReplicaRequest:
        """Raise the refusal for someone who may not decide this request (before a form is opened)."""
        return self._approvable(request_id, user_id)

    def deny(self, request_id: int, user_id: str, reason: str) -> ReplicaRequest:
        """An approver says no, with a reason the requester sees; the photo is purged."""
        request = self._approvable(request_id, user_id)
        text = reason.strip()[:MAX_NOTE_CHARS]
        values = _ended(approval_status=Answer.DENIED.value, approval_by=user_id, approval_at=utcnow())
        values["approval_reason"] = text
        denied = self._answer(request, DENY, values, "approval", Answer.DENIED, user_id, note=text)
        self._purge(request_id)
        return denied

    # --- the requester, and the clock -------------------------------------------------------------------

    def withdraw(self, request_id: int, user_id: str) -> ReplicaRequest:
        """The requester (or an admin) cancels while the colleague or an approver is asked."""
        request = self._request(request_id)
        if not self._access.can_manage(request, user_id):
            raise NotPermitted(Action.CONFIRM, request.requester_id, request.replica_name)
        if request.status not in WITHDRAW.sources:
            raise AlreadyDecided(request.status)
        values = _ended(submit_error=SubmitError(SubmitProblem.CANCELLED).stored())
        withdrawn = self._answer(request, WITHDRAW, values, "cancel", "cancelled", user_id)
        self._purge(request_id)
        return withdrawn

    def expire_due(self) -> int:
        """End every wait that ran out; how many."""
        expired = 0
        for request_id, status in replica_requests.expired_waits(self._engine, utcnow()):
            field = "consent_status" if status == RequestStatus.AWAITING_CONSENT else "approval_status"
            # The expiry stays, to say when the wait ran out.
            values = {field: Answer.EXPIRED.value, "finished_at": utcnow()}
            decision = {"topic": field.split("_")[0], "outcome": Answer.EXPIRED.value, "by_user": None}
            if self._lifecycle.move(EXPIRE, request_id, values, decision=decision) is not None:
                log.info("request %s: nobody answered in time (%s)", request_id, status)
                self._purge(request_id)
                expired += 1
        return expired

    # --- helpers ---------------------------------------------------------------------------------------

    def _request(self, request_id: int) -> ReplicaRequest:
        request = replica_requests.get(self._engine, request_id)
        if request is None:
            raise RequestGone()
        return request

    def _asked(self, request_id: int, user_id: str, status: RequestStatus) -> ReplicaRequest:
        """The request, if `user_id` is the colleague whose consent it waits for."""
        request = self._request(request_id)
        if request.depicted_id != user_id:
            raise NotPermitted(Action.CONSENT, request.depicted_id or "", request.replica_name)
        if request.status != status:
            raise AlreadyDecided(request.status)
        return request

    def _approvable(self, request_id: int, user_id: str) -> ReplicaRequest:
        request = self._request(request_id)
        approvers = self._rules.approvals.approvers
        allowed = self._directory is not None and may_approve(self._directory, approvers, user_id)
        if not allowed:
            raise NotPermitted(Action.APPROVE, request.requester_id, request.replica_name)
        if request.requester_id == user_id:
            raise OwnRequest()
        if request.status != RequestStatus.AWAITING_APPROVAL:
            raise AlreadyDecided(request.status)
        return request

    def _answer(
        self,
        request: ReplicaRequest,
        transition: Any,
        values: dict[str, Any],
        topic: str,
        outcome: str,
        user_id: str,
        *,
        note: str | None = None,
    ) -> ReplicaRequest:
        assert request.id is not None
        decision = {"topic": topic, "outcome": str(outcome), "by_user": user_id, "note": note}
        moved = self._lifecycle.move(transition, request.id, values, decision=decision)
        if moved is None:
            # Someone answered first: say what was decided.
            now = replica_requests.get(self._engine, request.id)
            raise AlreadyDecided(now.status if now else request.status)
        return moved

    def _purge(self, request_id: int) -> None:
        if self._media is not None:
            purged = self._media.erase([request_id])
            log.info("request %s: purged %d stored photos", request_id, purged)


def _ended(**values: Any) -> dict[str, Any]:
    return {**values, "expires_at": None, "finished_at": utcnow()}

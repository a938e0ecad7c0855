"""What happens to a photo Tavus' own check failed: the requester (or an admin) submits it anyway, lets
Tavus' AI Image Fixer mend it, or uses another photo. Nothing was submitted while it waited.

Each choice is one compare-and-set in the lifecycle, so a double click (or two people clicking at once)
submits once.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.access import Access
from bot.domain.errors import (
    Action,
    AlreadyConfirmed,
    CannotAutoFix,
    ConfirmationExpired,
    NotPermitted,
)
from bot.domain.image_checks import TavusVerdict
from bot.domain.lifecycle import Lifecycle
from bot.domain.resubmission import RetryPlan, managed_request
from bot.domain.submission import AUTO_FIX
from storage.db import Engine
from storage.models import ReplicaRequest, RequestStatus, utcnow
from storage.repository import replica_requests

ANYWAY = "anyway"


class PhotoChoices:
    def __init__(
        self, engine: Engine, lifecycle: Lifecycle, access: Access, *, media_url_ttl: timedelta,
        confirm_rights: bool,
    ) -> None:
        self._engine = engine
        self._lifecycle = lifecycle
        self._access = access
        self._media_url_ttl = media_url_ttl
        self._confirm_rights = confirm_rights

    def submit(self, value: str, user_id: str, *, auto_fix: bool) -> ReplicaRequest:
        """"Submit anyway" or "Let Tavus fix it": the request, "received" again for `proceed`. Raises the
        refusal that says why not (someone else's photo, already chosen, the fixer cannot help)."""
        request = self._held(value, user_id)
        verdict = TavusVerdict.parse(request.tavus_verdict)
        if auto_fix and (verdict is None or not verdict.fixable):
            raise CannotAutoFix()
        is_requester = request.requester_id == user_id
        if self._rights_pending(request) and not is_requester:
            # An admin may overrule Tavus' check, but not affirm someone else's rights to a likeness.
            raise NotPermitted(Action.CONFIRM, request.requester_id, request.replica_name)
        # Tavus may take 24 h to download a hosted photo; a later choice would hand it a link that dies.
        window = max(self._media_url_ttl - timedelta(hours=24), timedelta(0))
        if request.slack_file_id and request.created_at + window < utcnow():
            raise ConfirmationExpired()
        chosen = self._lifecycle.choose_photo(
            request.id or 0, user_id, choice=AUTO_FIX if auto_fix else ANYWAY,
            affirms_rights=is_requester and request.rights_affirmed_by is None,
        )
        if chosen is None:
            raise AlreadyConfirmed()
        return chosen

    def another(self, value: str, user_id: str) -> RetryPlan:
        """"Use another photo": the held request is set aside (nothing was submitted), and the retry form
        starts from it. Clicked again later, it opens the form again."""
        request = self._request(value, user_id)
        request_id = request.id
        assert request_id is not None
        if request.status == RequestStatus.AWAITING_CONFIRMATION:
            self._lifecycle.set_aside(request_id)
            request = replica_requests.get(self._engine, request_id) or request
        if request.status != RequestStatus.SUBMIT_FAILED:
            # Submitted in the meantime (another click won).
            raise AlreadyConfirmed()
        return RetryPlan(
            request_id=request_id,
            replica_name=request.replica_name,
            voice_name=request.voice_name,
            channel_id=request.channel_id,
            thread_ts=request.thread_ts,
        )

    def _held(self, value: str, user_id: str) -> ReplicaRequest:
        request = self._request(value, user_id)
        if request.status != RequestStatus.AWAITING_CONFIRMATION:
            raise AlreadyConfirmed()
        return request

    def _request(self, value: str, user_id: str) -> ReplicaRequest:
        return managed_request(self._engine, self._access, value, user_id, Action.CHOOSE)

    def _rights_pending(self, request: ReplicaRequest) -> bool:
        if request.rights_affirmed_by is not None:
            return False
        return self._confirm_rights or bool(request.train_video_url and not request.consent_video_url)

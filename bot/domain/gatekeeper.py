"""Taking a request through its gates before Tavus: the requester's questions, the colleague's consent,
Tavus' image check, the approvers. `bot.domain.gates.next_gate` decides which comes next; this module takes
that step, as one lifecycle move that queues whatever it asks (a DM to the colleague, the approvers'
messages) in the same transaction, and reports what happened.

It runs when a photo has just been checked and again after every answer, so a request resumed after a
crash goes on from what is stored, and never asks anyone twice (each ask is queued once per request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.gates import Answer, Gate, needs_consent, next_gate, question_for
from bot.domain.image_checks import TavusVerdict
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.people import Directory, resolve_approvers
from bot.domain.requests import Held, Superseded, Waiting
from bot.domain.rules import SubmissionRules
from bot.domain.tavus_check import TavusPhotoCheck
from bot.photos.download import fetch_url
from bot.photos.image_check import check_image
from bot.photos.offline_check import Finding
from bot.photos.refusals import PreflightRefusal
from bot.photos.thumbnail import thumbnail
from storage.db import Engine
from storage.models import Likeness, ReplicaRequest, utcnow
from storage.repository import replica_requests

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Photo:
    """The checked photo's bytes, while they are at hand (Tavus' check and the thumbnail need them)."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class Ready:
    """Every gate is open: the request is "submitting" and goes to Tavus now."""

    request: ReplicaRequest


Step = Held | Waiting | Superseded | Ready


class Gatekeeper:
    def __init__(
        self,
        rules: SubmissionRules,
        engine: Engine,
        lifecycle: Lifecycle,
        *,
        media: MediaStore | None = None,
        tavus_check: TavusPhotoCheck | None = None,
        directory: Directory | None = None,
        between_steps: Callable[[], None] = lambda: None,
    ) -> None:
        self._rules = rules
        self._engine = engine
        self._lifecycle = lifecycle
        self._media = media
        self._tavus_check = tavus_check
        self._directory = directory
        self._between_steps = between_steps

    def advance(
        self,
        request: ReplicaRequest,
        *,
        received_id: int,
        values: Mapping[str, Any] | None = None,
        photo: Photo | None = None,
        findings: tuple[Finding, ...] = (),
    ) -> Step:
        """Take the next step for `request`, which is "received" (just checked, or resumed after an
        answer); `values` are what is new about it since it was stored (they are written with the step).
        `photo`: its bytes, if at hand (else they are read back when Tavus' check needs them);
        `findings`: what the offline photo check found, measured, when it has just run (a request resumed
        later has only their kinds, and the requester has seen them)."""
        values = dict(values or {})
        state = _with(request, values)
        gate = self._gate(state)
        if gate == Gate.CHECK_TAVUS:
            photo = photo or self._photo_of(state)
            verdict = self._ask_tavus(state, photo) if photo is not None else None
            values |= {"tavus_verdict": verdict.stored() if verdict else None, "tavus_checked_at": utcnow()}
            state = _with(request, values)
            gate = self._gate(state)
        if gate in (Gate.ASK_CONSENT, Gate.ASK_APPROVAL) and state.thumbnail_url is None:
            values |= self._thumbnail(state, photo or self._photo_of(state))
        moved = self._take(gate, received_id, values, state)
        if moved is None:
            return Superseded()
        if gate == Gate.ASK_REQUESTER:
            verdict = TavusVerdict.parse(moved.tavus_verdict)
            return Held(moved, question_for(moved, self._rules), findings, verdict)
        if gate in (Gate.ASK_CONSENT, Gate.ASK_APPROVAL):
            return Waiting(moved)
        return Ready(moved)

    def approval_needed(self, request: ReplicaRequest) -> bool:
        """APPROVAL=required, a requester over their monthly quota, or a face from outside the workspace."""
        if request.likeness == Likeness.OUTSIDE and self._rules.likeness_outside == "approve":
            return True
        approvals = self._rules.approvals
        if approvals.mode == "required":
            return True
        if approvals.mode != "over-quota" or approvals.quota_per_month is None:
            return False
        since = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        made = replica_requests.spent_since(self._engine, request.requester_id, since, excluding=request.id)
        return made >= approvals.quota_per_month

    def carried_consent(self, request: ReplicaRequest) -> dict[str, Any]:
        """A retry by the same requester for the same colleague, who allowed the original within the
        expiry, is not asked again: their answer carries over."""
        if request.retry_of is None or not needs_consent(request, self._rules):
            return {}
        original = replica_requests.get(self._engine, request.retry_of)
        if (
            original is None
            or original.requester_id != request.requester_id
            or original.depicted_id != request.depicted_id
            or original.consent_status != Answer.ALLOWED
            or original.consent_at is None
            or original.consent_at + self._rules.consent_expires < utcnow()
        ):
            return {}
        return {"consent_status": Answer.ALLOWED.value, "consent_at": original.consent_at}

    # --- the steps -----------------------------------------------------------------------------------

    def _gate(self, state: ReplicaRequest) -> Gate:
        tavus = self._tavus_check is not None and self._tavus_check.enabled
        return next_gate(state, self._rules, tavus_check=tavus, approval_needed=self.approval_needed(state))

    def _take(
        self, gate: Gate, received_id: int, values: dict[str, Any], state: ReplicaRequest
    ) -> ReplicaRequest | None:
        if gate == Gate.ASK_CONSENT:
            assert state.depicted_id is not None
            expires = utcnow() + self._rules.consent_expires
            values |= {"consent_status": Answer.ASKED.value, "expires_at": expires}
            return self._lifecycle.ask_consent(received_id, values, state.depicted_id)
        if gate == Gate.ASK_APPROVAL:
            approvals = self._rules.approvals
            if approvals.channel:
                asked: tuple[str, ...] = (approvals.channel,)
            else:
                assert self._directory is not None, "approvals need the Slack directory"
                requester = state.requester_id
                asked = resolve_approvers(self._directory, approvals.approvers, requester_id=requester)
            values |= {"approval_status": Answer.ASKED.value, "expires_at": utcnow() + approvals.expires}
            return self._lifecycle.ask_approval(received_id, values, asked)
        return self._lifecycle.checked(received_id, values, hold=gate == Gate.ASK_REQUESTER)

    def _ask_tavus(self, state: ReplicaRequest, photo: Photo) -> TavusVerdict | None:
        """Tavus' own check of the photo (None when it cannot answer); runs after the ack, never in it."""
        assert self._tavus_check is not None
        self._between_steps()
        model = self._rules.model_for(state.model_name)
        return self._tavus_check.verdict(photo.data, photo.content_type, model)

    def _photo_of(self, state: ReplicaRequest) -> Photo | None:
        """The photo of a request resumed after an answer: the copy the bot hosts (the bytes that will be
        submitted), or the linked one, downloaded again under the same guard as the first time."""
        if self._media is not None and state.photo_key is not None:
            data = self._media.read(state.photo_key)
        elif state.source_url:
            try:
                limit = self._rules.max_image_bytes
                allow = self._rules.allow_private_urls
                data = fetch_url(state.source_url, allow_private=allow, max_bytes=limit).content
            except PreflightRefusal as refusal:
                log.info("request %s: its photo link cannot be read now (%s)", state.id, refusal.reason)
                data = None
        else:
            data = None
        if data is None:
            log.warning("request %s: its photo is not at hand; going on without Tavus' check", state.id)
            return None
        try:
            info = check_image(data, max_bytes=self._rules.max_image_bytes)
        except PreflightRefusal:
            return None
        return Photo(data, info.content_type)

    def _thumbnail(self, state: ReplicaRequest, photo: Photo | None) -> dict[str, Any]:
        """A small copy of the photo for the people asked about it, hosted like the photo (if it can be)."""
        if photo is None or self._media is None or state.id is None:
            return {}
        try:
            small = thumbnail(photo.data)
        except Exception:
            log.warning("request %s: no thumbnail", state.id, exc_info=True)
            return {}
        stored = self._media.put(small, "image/jpeg", request_id=state.id)
        return {"thumbnail_url": stored.url}


def _with(request: ReplicaRequest, values: Mapping[str, Any]) -> ReplicaRequest:
    """The request as it will be once `values` are written (for the gates to look at)."""
    return request.model_copy(update=dict(values))


"""Submitting a replica request: check what Tavus will download, record the request, create the replica.

Every way in (command, mention, DM, modal, shortcut) ends here. Callers get an `Outcome` (submitted, held
for the requester's answer, or superseded by another worker), or a refusal raised: the photo's
(`bot.photos.refusals`), the request's (`bot.domain.errors`), or Tavus' (`SubmissionFailed`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

from bot.domain.errors import (
    Action,
    AlreadyConfirmed,
    ConfirmationExpired,
    MissingPhoto,
    MissingVoice,
    NoImageTraining,
    NoMediaStore,
    NotPermitted,
    PhotoFlagged,
    RequestGone,
    UnknownModel,
    UnknownVoice,
    submission_failure,
)
from bot.domain.image_checks import TavusVerdict
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.requests import (
    DEFAULT_REPLICA_NAME,
    MAX_NAME_LENGTH,
    CreateArgs,
    Held,
    Outcome,
    Question,
    ReplicaDraft,
    Requester,
    SubmitError,
    Submitted,
    Superseded,
)
from bot.domain.tavus_check import TavusPhotoCheck
from bot.photos.download import check_url, fetch_url
from bot.photos.image_check import DEFAULT_MAX_BYTES, check_image
from bot.photos.offline_check import Finding, check_photo
from bot.photos.refusals import PreflightRefusal
from bot.tavus import TavusClient, TavusError
from bot.tavus.phoenix import DOCUMENTED_MODELS, is_documented, model_for, normalise_model, trains_from_image
from storage.db import Engine
from storage.models import ReplicaRequest, utcnow
from storage.repository import replica_requests

log = logging.getLogger(__name__)

PhotoCheck = Literal["off", "advisory", "strict"]
# What the checks add to a request written before its ack (and the worker resuming it lets go).
_CHECKED_FIELDS = ("train_image_url", "preflight_findings", "tavus_verdict", "lease_owner", "lease_until")
# The photo choice that asks Tavus' AI Image Fixer to mend the photo before training.
AUTO_FIX = "auto_fix"


@dataclass(frozen=True)
class SubmissionRules:
    """The deployment's choices about what is taken and how (from the settings)."""

    voices: tuple[str, ...]
    default_voice: str | None = None
    max_image_bytes: int = DEFAULT_MAX_BYTES
    allow_private_urls: bool = False
    # The offline photo check: findings are shown with "Submit anyway" (advisory), refused (strict), or
    # not looked for (off).
    photo_check: PhotoCheck = "advisory"
    # Ask the requester to affirm the rights to the likeness where no form checkbox did.
    confirm_rights: bool = True
    # How long a hosted photo's URL stays valid; Tavus may take 24 h to download it.
    media_url_ttl: timedelta = timedelta(hours=48)
    # When Tavus is asked about a new replica first (image problems surface early).
    first_poll_after: timedelta = timedelta(seconds=10)
    model_name: str | None = None
    # `{callback_base_url}/tavus/callback/<token>` goes to Tavus as callback_url, when set.
    callback_base_url: str | None = None

    def model_for(self, requested: str | None = None) -> str:
        """The model a request will be trained with: its own `model=`, else TAVUS_MODEL_NAME, else
        phoenix-4 (Tavus' default). `requested` is `ReplicaDraft.model_name` or the stored column."""
        return model_for(requested, self.model_name)

    def callback_url(self, token: str) -> str | None:
        if self.callback_base_url is None:
            return None
        return f"{self.callback_base_url.rstrip('/')}/tavus/callback/{token}"


class SubmissionService:
    def __init__(
        self,
        rules: SubmissionRules,
        engine: Engine,
        lifecycle: Lifecycle,
        tavus: TavusClient,
        media: MediaStore | None = None,
        tavus_check: TavusPhotoCheck | None = None,
        between_steps: Callable[[], None] = lambda: None,
        on_check: Callable[[str, str], None] = lambda source, verdict: None,
    ) -> None:
        """`between_steps` runs before each photo check: the composition root lets acks go first there.
        `on_check` hears each offline check's verdict (`offline`, then `passed` or `flagged`)."""
        self._rules = rules
        self._on_check = on_check
        self._tavus_check = tavus_check
        self._between_steps = between_steps
        self._engine = engine
        self._lifecycle = lifecycle
        self._tavus = tavus
        self._media = media

    # --- shape ---------------------------------------------------------------------------------------

    def draft(
        self,
        requester: Requester,
        args: CreateArgs,
        *,
        uploaded: bool = False,
        thread_ts: str | None = None,
        slack_file_id: str | None = None,
        rights_affirmed: bool = False,
        retry_of: int | None = None,
    ) -> ReplicaDraft:
        """Turn what the person asked for into a draft, or raise the refusal that says what to fix."""
        if not (args.image_url or args.video_url or uploaded):
            raise MissingPhoto()
        voice = args.voice or self._rules.default_voice
        if not args.video_url and voice is None:
            raise MissingVoice(self._rules.voices)
        if voice is not None and voice not in self._rules.voices:
            raise UnknownVoice(voice, self._rules.voices)
        if args.model is not None and not is_documented(args.model):
            raise UnknownModel(args.model, DOCUMENTED_MODELS)
        model = self._rules.model_for(args.model or self._retried_model(retry_of))
        if not args.video_url and not trains_from_image(model):
            raise NoImageTraining(model, tuple(m for m in DOCUMENTED_MODELS if trains_from_image(m)))
        return ReplicaDraft(
            requester=requester,
            replica_name=(args.name or DEFAULT_REPLICA_NAME)[:MAX_NAME_LENGTH],
            voice_name=voice,
            image_url=args.image_url,
            video_url=args.video_url,
            consent_url=args.consent_url,
            thread_ts=thread_ts,
            slack_file_id=slack_file_id,
            rights_affirmed=rights_affirmed,
            retry_of=retry_of,
            model_name=model,
        )

    def _retried_model(self, retry_of: int | None) -> str | None:
        """A retry trains on the model the original asked for, unless it names its own."""
        original = replica_requests.get(self._engine, retry_of) if retry_of is not None else None
        return original.model_name if original is not None else None

    # --- the ways in -----------------------------------------------------------------------------------

    def receive(self, draft: ReplicaDraft) -> ReplicaDraft:
        """Record the request before acking it: from then on a crash cannot lose it (see `Recovery`)."""
        # Plain column values, not a model instance: building one costs more than its insert.
        return replace(draft, received_id=self._lifecycle.receive(request_fields(draft)))

    def submit_link(self, draft: ReplicaDraft) -> Outcome:
        """A photo or video the requester linked to: checked here, downloaded by Tavus."""
        try:
            photo = self._check_links(draft)
        except PreflightRefusal as refusal:
            log.info("preflight refused %s: %s", draft.requester.user_id, refusal.reason)
            return self.reject(draft, refusal)
        findings = self._look_at(photo[0]) if photo is not None else None
        if findings and self._rules.photo_check == "strict":
            return self.reject(draft, PhotoFlagged(findings))
        verdict = self._ask_tavus(draft, *photo) if photo is not None else None
        return self._decide(draft, draft.image_url, findings, verdict)

    def submit_upload(self, draft: ReplicaDraft, data: bytes) -> Outcome:
        """A photo uploaded to Slack: checked, hosted where Tavus can fetch it, then submitted."""
        if self._media is None:
            return self.reject(draft, NoMediaStore())
        try:
            info = check_image(data, max_bytes=self._rules.max_image_bytes)
        except PreflightRefusal as refusal:
            log.info("upload refused for %s: %s", draft.requester.user_id, refusal.reason)
            return self.reject(draft, refusal)
        findings = self._look_at(data)
        if findings and self._rules.photo_check == "strict":
            # Refused before anything is stored.
            return self.reject(draft, PhotoFlagged(findings))
        verdict = self._ask_tavus(draft, data, info.content_type)
        stored = self._media.put(data, info.content_type)
        return self._decide(draft, stored.url, findings, verdict, hosted=stored.key)

    def refuse(self, draft: ReplicaDraft) -> bool:
        """Nothing goes to Tavus: the received row goes (a refused photo leaves no request behind).
        False if another worker finished the request first, and so reported it."""
        return draft.received_id is None or self._lifecycle.refuse(draft.received_id)

    def reject(self, draft: ReplicaDraft, refusal: Exception) -> Superseded:
        """Drop the request and raise `refusal` for the requester, unless another worker finished the
        request first (then there is nothing to say)."""
        if self.refuse(draft):
            raise refusal
        return Superseded()

    def _decide(
        self,
        draft: ReplicaDraft,
        train_image_url: str | None,
        findings: tuple[Finding, ...] | None,
        verdict: TavusVerdict | None = None,
        *,
        hosted: str | None = None,
    ) -> Outcome:
        """Submit now, or hold for the requester's answer (rights, consent, or a doubtful photo). `hosted`:
        the key of the photo stored for Tavus, tied to the request as soon as it is recorded (so it is
        purged with the request, whatever Tavus then says)."""
        question = self._question_for(draft)
        refused = verdict is not None and not verdict.passed
        hold = question is not None or bool(findings) or refused
        fields = request_fields(draft, train_image_url, findings)
        fields["tavus_verdict"] = verdict.stored() if verdict is not None else None
        if draft.received_id is not None:
            # The row exists; only what the checks learned is new.
            fields = {k: fields[k] for k in _CHECKED_FIELDS}
        request = self._lifecycle.checked(draft.received_id, fields, hold=hold)
        if request is None:
            return Superseded()
        if hosted is not None and self._media is not None and request.id is not None:
            self._media.attach(hosted, request.id)
        if hold:
            return Held(request, question, findings or (), verdict)
        return self.send_to_tavus(request)

    def _look_at(self, photo: bytes) -> tuple[Finding, ...] | None:
        """The offline photo check (None when switched off). Only an advisory: Tavus decides."""
        if self._rules.photo_check == "off":
            return None
        self._between_steps()
        report = check_photo(photo, detect_faces=True)
        found = ", ".join(f.kind for f in report.findings)
        self._on_check("offline", "flagged" if found else "passed")
        log.info(
            "photo check: %s in %.0f ms (detector %s)", found or "clean", report.elapsed_ms, report.detector
        )
        return report.findings

    def _ask_tavus(self, draft: ReplicaDraft, photo: bytes, mime_type: str) -> TavusVerdict | None:
        """Tavus' own check of the photo (None when off or unavailable); runs after the ack, never in it."""
        if self._tavus_check is None:
            return None
        self._between_steps()
        return self._tavus_check.verdict(photo, mime_type, self._rules.model_for(draft.model_name))

    def _question_for(self, draft: ReplicaDraft) -> Question | None:
        """What the requester must confirm before anything is submitted, if anything."""
        if draft.video_url and not draft.consent_url:
            return Question.VIDEO_CONSENT
        if self._rules.confirm_rights and not draft.rights_affirmed:
            return Question.RIGHTS
        return None

    # --- confirmation ------------------------------------------------------------------------------------

    def confirm(self, request_id: int, user_id: str) -> ReplicaRequest:
        """The requester confirmed: the request, ready for `send_to_tavus`. Only they can confirm, and
        only once: a double click (or a lost race) raises AlreadyConfirmed."""
        request = replica_requests.get(self._engine, request_id)
        if request is None:
            raise RequestGone()
        if request.requester_id != user_id:
            raise NotPermitted(Action.CONFIRM, request.requester_id, request.replica_name)
        # Tavus may take 24 h to download the hosted photo; confirming later than that would hand it a
        # link that dies mid-training.
        window = max(self._rules.media_url_ttl - timedelta(hours=24), timedelta(0))
        if request.slack_file_id and request.created_at + window < utcnow():
            raise ConfirmationExpired()
        confirmed = self._lifecycle.confirm(request_id, user_id)
        if confirmed is None:
            raise AlreadyConfirmed()
        return confirmed

    def cancel(self, request_id: int, user_id: str) -> bool:
        """The requester changed their mind before confirming; nothing reaches Tavus."""
        return self._lifecycle.cancel(request_id, user_id)

    # --- Tavus -------------------------------------------------------------------------------------------

    def send_to_tavus(self, request: ReplicaRequest) -> Outcome:
        """Create the replica for a request recorded as "submitting". The row exists before Tavus is called,
        so a crash in between leaves something to reconcile rather than an untracked, paid training run."""
        assert request.id is not None
        video = request.train_video_url
        try:
            created = self._tavus.create_replica(
                replica_name=request.replica_name,
                train_image_url=None if video else request.train_image_url,
                voice_name=None if video else request.voice_name,
                train_video_url=video,
                consent_video_url=request.consent_video_url,
                callback_url=self._rules.callback_url(request.callback_token),
                model_name=self._rules.model_for(request.model_name),
                auto_fix_training_image=request.photo_choice == AUTO_FIX and not video,
            )
        except TavusError as exc:
            log.warning("tavus create failed for request %s: %s", request.id, exc)
            failed = submission_failure(exc)
            self._lifecycle.create_failed(request.id, SubmitError(failed.problem, failed.detail))
            raise failed from None
        return self.adopt(request, created.replica_id)

    def adopt(self, request: ReplicaRequest, replica_id: str) -> Outcome:
        """Tavus has a replica for this request: training starts, and the card goes up."""
        assert request.id is not None
        first_look = utcnow() + self._rules.first_poll_after
        started = self._lifecycle.start(request.id, replica_id, first_poll_at=first_look)
        if started is None:
            log.warning("request %s moved on before replica %s was recorded", request.id, replica_id)
            return Superseded()
        log.info("request %s created replica %s", request.id, replica_id)
        return Submitted(started)

    def _check_links(self, draft: ReplicaDraft) -> tuple[bytes, str] | None:
        """Check what Tavus will download (raising PreflightRefusal); the photo's bytes and type, if any."""
        for url in (draft.video_url, draft.consent_url):
            if url:
                check_url(url, allow_private=self._rules.allow_private_urls)
        if not draft.image_url:
            return None
        limit = self._rules.max_image_bytes
        fetched = fetch_url(draft.image_url, allow_private=self._rules.allow_private_urls, max_bytes=limit)
        info = check_image(fetched.content, max_bytes=limit)
        return fetched.content, info.content_type


def request_fields(
    draft: ReplicaDraft, train_image_url: str | None = None, findings: tuple[Finding, ...] | None = None
) -> dict[str, Any]:
    """A new request's columns (its status is the lifecycle's to set); every column not named starts empty."""
    affirmed = draft.rights_affirmed
    now = utcnow()
    return {
        "team_id": draft.requester.team_id,
        "channel_id": draft.requester.channel_id,
        "requester_id": draft.requester.user_id,
        "replica_name": draft.replica_name,
        "voice_name": None if draft.video_url else draft.voice_name,
        "source_url": draft.image_url,
        "train_image_url": train_image_url,
        "train_video_url": draft.video_url,
        "consent_video_url": draft.consent_url,
        "thread_ts": draft.thread_ts,
        "slack_file_id": draft.slack_file_id,
        "retry_of": draft.retry_of,
        "rights_affirmed_by": draft.requester.user_id if affirmed else None,
        "rights_affirmed_at": now if affirmed else None,
        "preflight_findings": None if findings is None else ",".join(f.kind for f in findings),
        "model_name": normalise_model(draft.model_name),
        "callback_token": secrets.token_urlsafe(32),
        "idempotency_key": secrets.token_hex(16),
        "lease_owner": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
    }


def draft_of(request: ReplicaRequest) -> ReplicaDraft:
    """The draft a stored request was made from, to check and submit it again after a restart."""
    return ReplicaDraft(
        requester=Requester(request.requester_id, request.channel_id, request.team_id),
        replica_name=request.replica_name,
        voice_name=request.voice_name,
        image_url=request.source_url,
        video_url=request.train_video_url,
        consent_url=request.consent_video_url,
        thread_ts=request.thread_ts,
        slack_file_id=request.slack_file_id,
        rights_affirmed=request.rights_affirmed_by is not None,
        retry_of=request.retry_of,
        received_id=request.id,
        model_name=request.model_name,
    )


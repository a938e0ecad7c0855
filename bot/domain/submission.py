"""Submitting a replica request: check what Tavus will download, record the request, take it through its
gates (`bot.domain.gatekeeper`), create the replica.

Every way in (command, mention, DM, modal, shortcut) ends here. Callers get an `Outcome` (submitted, held
for the requester's answer, waiting for someone else's, or superseded by another worker), or a refusal
raised: the photo's (`bot.photos.refusals`), the request's (`bot.domain.errors`), or Tavus'
(`SubmissionFailed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bot.domain.drafts import request_fields
from bot.domain.errors import (
    Action,
    AlreadyConfirmed,
    ConfirmationExpired,
    MissingPhoto,
    MissingVoice,
    NoImageTraining,
    NoMediaStore,
    NotPermitted,
    OutsideNotAllowed,
    PersonCannotConsent,
    PhotoFlagged,
    RequestGone,
    UnknownModel,
    UnknownVoice,
    submission_failure,
)
from bot.domain.gatekeeper import Gatekeeper, Photo, Ready
from bot.domain.gates import needs_consent
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.people import Directory, require_person
from bot.domain.requests import (
    DEFAULT_REPLICA_NAME,
    MAX_NAME_LENGTH,
    CreateArgs,
    Outcome,
    ReplicaDraft,
    Requester,
    SubmitError,
    Submitted,
    Superseded,
)
from bot.domain.rules import SubmissionRules
from bot.domain.tavus_check import TavusPhotoCheck
from bot.photos.download import check_url, fetch_url
from bot.photos.image_check import check_image
from bot.photos.offline_check import Finding, check_photo
from bot.photos.refusals import PreflightRefusal
from bot.tavus import TavusClient, TavusError
from bot.tavus.phoenix import DOCUMENTED_MODELS, is_documented, trains_from_image
from storage.db import Engine
from storage.models import Likeness, ReplicaRequest, RequestStatus, utcnow
from storage.repository import replica_requests

log = logging.getLogger(__name__)

# What the checks add to a request written before its ack (and the worker resuming it lets go).
_CHECKED_FIELDS = ("train_image_url", "preflight_findings", "lease_owner", "lease_until")
# The photo choice that asks Tavus' AI Image Fixer to mend the photo before training.
AUTO_FIX = "auto_fix"


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
        directory: Directory | None = None,
        on_check: Callable[[str, str], None] = lambda source, verdict: None,
    ) -> None:
        """`between_steps` runs before each photo check: the composition root lets acks go first there.
        `directory` tells who a colleague named as the face is (and who the approvers are). `on_check`
        hears each offline check's verdict (`offline`, then `passed` or `flagged`)."""
        self._rules = rules
        self._on_check = on_check
        self._between_steps = between_steps
        self._engine = engine
        self._lifecycle = lifecycle
        self._tavus = tavus
        self._media = media
        self._directory = directory
        self.gatekeeper = Gatekeeper(
            rules, engine, lifecycle, media=media, tavus_check=tavus_check, directory=directory,
            between_steps=between_steps,
        )

    @property
    def rules(self) -> SubmissionRules:
        return self._rules

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
        # Saying whose face it is (`for=`, the form's picker) answers the rights question too.
        affirmed = rights_affirmed or args.likeness is not None
        likeness, depicted = self._whose(requester, args, affirmed=affirmed)
        return ReplicaDraft(
            requester=requester,
            replica_name=(args.name or DEFAULT_REPLICA_NAME)[:MAX_NAME_LENGTH],
            voice_name=voice,
            image_url=args.image_url,
            video_url=args.video_url,
            consent_url=args.consent_url,
            thread_ts=thread_ts,
            slack_file_id=slack_file_id,
            rights_affirmed=affirmed,
            retry_of=retry_of,
            model_name=model,
            likeness=likeness,
            depicted_id=depicted,
        )

    def _whose(
        self, requester: Requester, args: CreateArgs, *, affirmed: bool
    ) -> tuple[Likeness | None, str | None]:
        """Whose face the request is of, as far as it says; None when the requester must be asked. Where
        nothing names anyone and nobody is asked, it is the requester's own, as it always was."""
        likeness, depicted = args.likeness, args.depicted_id
        if likeness == Likeness.COLLEAGUE and depicted == requester.user_id:
            likeness, depicted = Likeness.SELF, None
        if likeness == Likeness.OUTSIDE and self._rules.likeness_outside == "deny":
            raise OutsideNotAllowed()
        if likeness is None and (
            affirmed or not self._rules.confirm_rights or self._rules.likeness_consent == "off"
        ):
            likeness = Likeness.SELF
        return likeness, depicted

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
            photo = self.check_links(draft)
        except PreflightRefusal as refusal:
            log.info("preflight refused %s: %s", draft.requester.user_id, refusal.reason)
            return self.reject(draft, refusal)
        if (problem := self.face_problem(draft)) is not None:
            return self.reject(draft, problem)
        findings = self.look_at(photo.data) if photo is not None else None
        if findings and self._rules.photo_check == "strict":
            return self.reject(draft, PhotoFlagged(findings))
        return self._checked(draft, photo, findings, train_image_url=draft.image_url)

    def submit_upload(self, draft: ReplicaDraft, data: bytes) -> Outcome:
        """A photo uploaded to Slack: checked, hosted where Tavus can fetch it, then submitted."""
        if self._media is None:
            return self.reject(draft, NoMediaStore())
        try:
            info = check_image(data, max_bytes=self._rules.max_image_bytes)
        except PreflightRefusal as refusal:
            log.info("upload refused for %s: %s", draft.requester.user_id, refusal.reason)
            return self.reject(draft, refusal)
        if (problem := self.face_problem(draft)) is not None:
            return self.reject(draft, problem)
        findings = self.look_at(data)
        if findings and self._rules.photo_check == "strict":
            # Refused before anything is stored.
            return self.reject(draft, PhotoFlagged(findings))
        photo = Photo(data, info.content_type)
        return self._checked(draft, photo, findings, train_image_url=None)

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

    def face_problem(self, draft: ReplicaDraft) -> PersonCannotConsent | None:
        """Why the colleague named as the face cannot be asked (not a real, active person), if so."""
        if draft.likeness != Likeness.COLLEAGUE or draft.depicted_id is None:
            return None
        if self._rules.likeness_consent != "named" or self._directory is None:
            return None
        try:
            require_person(self._directory, draft.depicted_id)
        except PersonCannotConsent as problem:
            return problem
        return None

    def _checked(
        self,
        draft: ReplicaDraft,
        photo: Photo | None,
        findings: tuple[Finding, ...] | None,
        *,
        train_image_url: str | None,
    ) -> Outcome:
        """The local checks passed: record what they learned and take the request through its gates. An
        uploaded photo is hosted for Tavus now, and so is a linked one whose colleague must agree first:
        what they are shown is what is submitted."""
        received_id = draft.received_id or self._lifecycle.receive(request_fields(draft))
        fields = request_fields(replace(draft, received_id=received_id), train_image_url, findings)
        state = ReplicaRequest(**fields, id=received_id, status=RequestStatus.RECEIVED)
        values = {k: fields[k] for k in _CHECKED_FIELDS} | {"checked_at": utcnow()}
        values |= self.gatekeeper.carried_consent(state)
        hosting = photo is not None and (draft.uploaded or needs_consent(state, self._rules))
        if hosting and self._media is not None and photo is not None:
            stored = self._media.put(photo.data, photo.content_type, request_id=received_id)
            values |= {"train_image_url": stored.url, "photo_key": stored.key}
        step = self.gatekeeper.advance(
            state, received_id=received_id, values=values, photo=photo, findings=findings or ()
        )
        return self.send_to_tavus(step.request) if isinstance(step, Ready) else step

    def proceed(self, request: ReplicaRequest) -> Outcome:
        """Go on with a request that is "received" again after an answer (the requester's, the
        colleague's, an approver's), or resumed after a restart: its next gate, or Tavus."""
        assert request.id is not None
        step = self.gatekeeper.advance(request, received_id=request.id)
        return self.send_to_tavus(step.request) if isinstance(step, Ready) else step

    def look_at(self, photo: bytes) -> tuple[Finding, ...] | None:
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

    # --- the requester's answers --------------------------------------------------------------------------

    def confirm(
        self,
        request_id: int,
        user_id: str,
        *,
        likeness: Likeness | None = None,
        depicted_id: str | None = None,
    ) -> ReplicaRequest:
        """The requester answered (yes; or, with `likeness`, whose face it is): the request, "received"
        again, for `proceed`. Only they can answer, and only once: a double click (or a lost race) raises
        AlreadyConfirmed."""
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
        if likeness is None and request.likeness is None:
            # "This is me": the answer to whose face it is, and to the rights to it.
            likeness = Likeness.SELF
        if likeness is not None:
            likeness, depicted_id = self._answered_face(request, likeness, depicted_id)
        confirmed = self._lifecycle.confirm(request_id, user_id, likeness=likeness, depicted_id=depicted_id)
        if confirmed is None:
            raise AlreadyConfirmed()
        return confirmed

    def _answered_face(
        self, request: ReplicaRequest, likeness: Likeness, depicted_id: str | None
    ) -> tuple[Likeness, str | None]:
        if request.status != RequestStatus.AWAITING_CONFIRMATION:
            raise AlreadyConfirmed()
        args = CreateArgs(likeness=likeness, depicted_id=depicted_id)
        requester = Requester(request.requester_id, request.channel_id, request.team_id)
        chosen, depicted = self._whose(requester, args, affirmed=True)
        if chosen == Likeness.COLLEAGUE and depicted is not None and self._directory is not None:
            require_person(self._directory, depicted)
        return chosen or Likeness.SELF, depicted

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

    def check_links(self, draft: ReplicaDraft) -> Photo | None:
        """Check what Tavus will download (raising PreflightRefusal); the photo's bytes and type, if any."""
        for url in (draft.video_url, draft.consent_url):
            if url:
                check_url(url, allow_private=self._rules.allow_private_urls)
        if not draft.image_url:
            return None
        limit = self._rules.max_image_bytes
        fetched = fetch_url(draft.image_url, allow_private=self._rules.allow_private_urls, max_bytes=limit)
        info = check_image(fetched.content, max_bytes=limit)
        return Photo(fetched.content, info.content_type)

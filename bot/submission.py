"""Submitting a replica request: check the image, record the request, create the replica in Tavus.

No Slack here: the caller gets either the stored request or a plain-language refusal to show.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.commands import CommandError, CreateArgs
from bot.fetch import check_url, fetch_url
from bot.preflight import PreflightRefusal, check_image
from bot.settings import Settings
from bot.tavus import TavusAuthError, TavusBadRequest, TavusClient, TavusError, TavusUnavailable
from storage import repository
from storage.db import session_scope
from storage.models import ReplicaRequest, RequestStatus, utcnow

log = logging.getLogger(__name__)

DEFAULT_REPLICA_NAME = "Replica from Slack"
MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class Requester:
    user_id: str
    channel_id: str
    team_id: str | None = None


@dataclass(frozen=True)
class ReplicaDraft:
    """A request whose shape is valid; the image itself is not checked yet."""

    requester: Requester
    replica_name: str
    voice_name: str | None
    image_url: str | None = None
    video_url: str | None = None
    consent_url: str | None = None


@dataclass(frozen=True)
class SubmissionResult:
    request: ReplicaRequest | None = None
    refusal: str | None = None

    @property
    def accepted(self) -> bool:
        return self.request is not None and self.request.status == RequestStatus.TRAINING


class SubmissionService:
    def __init__(self, settings: Settings, engine: Engine, tavus: TavusClient) -> None:
        self._settings = settings
        self._engine = engine
        self._tavus = tavus

    def draft(self, requester: Requester, args: CreateArgs) -> ReplicaDraft:
        """Turn parsed `create` arguments into a draft, or raise CommandError saying what to fix."""
        if not args.image_url and not args.video_url:
            raise CommandError(
                "Give me a photo link: `/replica create https://example.com/headshot.png voice=anna`."
            )
        voice = args.voice or self._settings.default_voice
        voices = ", ".join(f"`{v}`" for v in self._settings.voices)
        if args.image_url and voice is None:
            raise CommandError(f"Pick a voice with `voice=<name>`. Stock voices: {voices}.")
        if voice is not None and voice not in self._settings.voices:
            raise CommandError(f"`{voice}` is not a stock voice. Choose one of: {voices}.")
        name = (args.name or DEFAULT_REPLICA_NAME)[:MAX_NAME_LENGTH]
        return ReplicaDraft(
            requester=requester,
            replica_name=name,
            voice_name=voice,
            image_url=args.image_url,
            video_url=args.video_url,
            consent_url=args.consent_url,
        )

    def preflight(self, draft: ReplicaDraft) -> str | None:
        """Check what Tavus will download; return a refusal for the requester, or None if it looks fine."""
        urls = [u for u in (draft.image_url, draft.video_url, draft.consent_url) if u]
        try:
            if draft.image_url:
                fetched = fetch_url(
                    draft.image_url,
                    allow_private=self._settings.allow_private_urls,
                    max_bytes=self._settings.max_image_bytes,
                )
                check_image(fetched.content, max_bytes=self._settings.max_image_bytes)
            else:
                for url in urls:
                    check_url(url, allow_private=self._settings.allow_private_urls)
        except PreflightRefusal as refusal:
            log.info("preflight refused %s: %s", draft.requester.user_id, refusal.reason)
            return refusal.message
        return None

    def submit(self, draft: ReplicaDraft) -> SubmissionResult:
        refusal = self.preflight(draft)
        if refusal is not None:
            return SubmissionResult(refusal=refusal)
        return self.create(draft, train_image_url=draft.image_url)

    def create(self, draft: ReplicaDraft, *, train_image_url: str | None) -> SubmissionResult:
        """Record the request, then create the replica. The row exists before Tavus is called so a crash in
        between leaves something to reconcile rather than an untracked, paid training run."""
        request = ReplicaRequest(
            team_id=draft.requester.team_id,
            channel_id=draft.requester.channel_id,
            requester_id=draft.requester.user_id,
            replica_name=draft.replica_name,
            voice_name=draft.voice_name,
            source_url=draft.image_url,
            train_image_url=train_image_url,
            train_video_url=draft.video_url,
            consent_video_url=draft.consent_url,
            status=RequestStatus.SUBMITTING,
            callback_token=secrets.token_urlsafe(32),
            idempotency_key=secrets.token_hex(16),
        )
        with session_scope(self._engine) as session:
            session.add(request)

        try:
            created = self._tavus.create_replica(
                replica_name=draft.replica_name,
                train_image_url=train_image_url if not draft.video_url else None,
                voice_name=draft.voice_name if not draft.video_url else None,
                train_video_url=draft.video_url,
                consent_video_url=draft.consent_url,
                callback_url=self._settings.public_url(f"/tavus/callback/{request.callback_token}"),
                model_name=self._settings.tavus_model_name,
            )
        except TavusError as exc:
            reason = _reason_for_requester(exc)
            log.warning("tavus create failed for request %s: %s", request.id, exc)
            with session_scope(self._engine) as session:
                request = session.merge(request)
                request.status = RequestStatus.SUBMIT_FAILED
                request.submit_error = reason
                request.finished_at = request.updated_at = utcnow()
            return SubmissionResult(request=request, refusal=reason)

        now = utcnow()
        with session_scope(self._engine) as session:
            request = session.merge(request)
            request.replica_id = created.replica_id
            request.status = RequestStatus.TRAINING
            request.submitted_at = request.updated_at = now
            request.next_poll_at = now + timedelta(seconds=self._settings.poll_interval_seconds)
            session.flush()
            repository.arm_card(session, request)
        log.info("request %s created replica %s", request.id, created.replica_id)
        return SubmissionResult(request=request)


def _reason_for_requester(exc: TavusError) -> str:
    if isinstance(exc, TavusBadRequest):
        return f"Tavus refused it: {exc.message}"
    if isinstance(exc, TavusAuthError):
        # The requester cannot fix this; the operator sees the detail in the logs.
        return "replica-bot is not set up correctly to talk to Tavus. Please ask the app's admin to check it."
    if isinstance(exc, TavusUnavailable):
        return "Tavus is not answering right now. Please try again in a few minutes."
    return "Tavus could not take the request right now. Please try again in a few minutes."

"""Submitting a replica request: check what Tavus will download, record the request, create the replica.

No Slack here: callers get the stored request, a question to put to the requester, or a plain-language
refusal to show. Every way in (command, mention, DM, modal, shortcut) ends in `create`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Table, delete, update
from sqlalchemy.engine import Engine

from bot.commands import CommandError, CreateArgs
from bot.fetch import check_url, fetch_url
from bot.media import MediaStore
from bot.photo_check import Finding, check_photo
from bot.preflight import PreflightRefusal, check_image
from bot.settings import Settings
from bot.tavus import TavusAuthError, TavusBadRequest, TavusClient, TavusError, TavusUnavailable
from storage import repository
from storage.db import session_scope
from storage.group_insert import GroupInsert
from storage.models import ReplicaRequest, RequestStatus, utcnow

log = logging.getLogger(__name__)

_REQUESTS: Table = ReplicaRequest.__table__  # type: ignore[assignment]

DEFAULT_REPLICA_NAME = "Replica from Slack"
MAX_NAME_LENGTH = 80
NO_MEDIA_STORE = (
    "this bot has no public address to host uploaded photos for Tavus yet (its admin needs to set "
    "PUBLIC_BASE_URL or MEDIA_BACKEND=s3). Meanwhile, `/replica create <image-url>` with a public link works."
)
RIGHTS_QUESTION = (
    "Before I send this to Tavus: do you have the rights to use this person's likeness for a replica "
    "(it is you, or they agreed to it)?"
)
VIDEO_CONSENT_QUESTION = (
    "You gave a training video without a consent video. Tavus then needs the training video itself to "
    "open with the spoken consent statement from the person in it. Does it, and do you have the rights "
    "to use this person's likeness?"
)
STALE_CONFIRMATION = (
    "This waited too long for confirmation: the hosted photo would expire before Tavus finishes with it. "
    "Please send the photo again."
)


@dataclass(frozen=True)
class Requester:
    user_id: str
    channel_id: str
    team_id: str | None = None


@dataclass(frozen=True)
class ReplicaDraft:
    """A request whose shape is valid; what it points at is not checked yet."""

    requester: Requester
    replica_name: str
    voice_name: str | None
    image_url: str | None = None
    video_url: str | None = None
    consent_url: str | None = None
    # Answer in this thread (mention, DM, shortcut) instead of starting one under a new card.
    thread_ts: str | None = None
    slack_file_id: str | None = None
    rights_affirmed: bool = False
    retry_of: int | None = None
    # The row written before the ack (`receive`); the checks then complete that row.
    received_id: int | None = None


@dataclass(frozen=True)
class SubmissionResult:
    request: ReplicaRequest | None = None
    refusal: str | None = None
    # Set when nothing is submitted until the requester answers this question.
    question: str | None = None
    # What the offline photo check saw. With a held request the requester may submit anyway; with no
    # request (PREFLIGHT_FACES=strict) they are the reason for refusing.
    findings: tuple[Finding, ...] = ()
    # Another worker finished this request first (one resumed after a crash while this one was slow):
    # nothing to report here, it reported already.
    superseded: bool = False

    @property
    def accepted(self) -> bool:
        return self.request is not None and self.request.status == RequestStatus.TRAINING


class SubmissionService:
    def __init__(
        self, settings: Settings, engine: Engine, tavus: TavusClient, media: MediaStore | None = None
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._tavus = tavus
        self._media = media
        self._received = GroupInsert(engine, _REQUESTS)

    # --- shape ---------------------------------------------------------------------------------------

    def draft(
        self, requester: Requester, args: CreateArgs, *, uploaded: bool = False, **extra: object
    ) -> ReplicaDraft:
        """Turn parsed `create` arguments into a draft, or raise CommandError saying what to fix."""
        if not (args.image_url or args.video_url or uploaded):
            raise CommandError(
                "Give me a photo link: `/replica create https://example.com/headshot.png voice=anna`."
            )
        voice = args.voice or self._settings.default_voice
        voices = ", ".join(f"`{v}`" for v in self._settings.voices)
        if not args.video_url and voice is None:
            raise CommandError(f"Pick a voice with `voice=<name>`. Stock voices: {voices}.")
        if voice is not None and voice not in self._settings.voices:
            raise CommandError(f"`{voice}` is not a stock voice. Choose one of: {voices}.")
        name = (args.name or DEFAULT_REPLICA_NAME)[:MAX_NAME_LENGTH]
        draft = ReplicaDraft(
            requester=requester,
            replica_name=name,
            voice_name=voice,
            image_url=args.image_url,
            video_url=args.video_url,
            consent_url=args.consent_url,
        )
        return replace(draft, **extra)  # type: ignore[arg-type]

    # --- the ways in -----------------------------------------------------------------------------------

    def receive(self, draft: ReplicaDraft) -> ReplicaDraft:
        """Record the request before acking it: from then on a crash cannot lose it (`claim_received`).
        Acks arrive in bursts, so concurrent ones share a transaction (storage/group_insert.py)."""
        # Plain column values, not a model instance: building one costs more than its insert.
        values = _request_fields(draft, None, RequestStatus.RECEIVED)
        return replace(draft, received_id=self._received.insert(values))

    def submit_link(self, draft: ReplicaDraft) -> SubmissionResult:
        """A photo or video the requester linked to: checked here, downloaded by Tavus."""
        try:
            photo = self._check_links(draft)
        except PreflightRefusal as refusal:
            log.info("preflight refused %s: %s", draft.requester.user_id, refusal.reason)
            return self._refuse(draft, SubmissionResult(refusal=refusal.message))
        findings = self._look_at(photo) if photo is not None else None
        return self._strict_refusal(draft, findings) or self._decide(draft, draft.image_url, findings)

    def submit_upload(self, draft: ReplicaDraft, data: bytes) -> SubmissionResult:
        """A photo uploaded to Slack: checked, hosted where Tavus can fetch it, then submitted."""
        if self._media is None:
            return self._refuse(draft, SubmissionResult(refusal=NO_MEDIA_STORE))
        try:
            info = check_image(data, max_bytes=self._settings.max_image_bytes)
        except PreflightRefusal as refusal:
            log.info("upload refused for %s: %s", draft.requester.user_id, refusal.reason)
            return self._refuse(draft, SubmissionResult(refusal=refusal.message))
        findings = self._look_at(data)
        if (refused := self._strict_refusal(draft, findings)) is not None:
            return refused
        stored = self._media.put(data, info.content_type)
        result = self._decide(draft, stored.url, findings)
        if result.request is not None and result.request.id is not None:
            self._media.attach(stored.key, result.request.id)
        return result

    def _strict_refusal(
        self, draft: ReplicaDraft, findings: tuple[Finding, ...] | None
    ) -> SubmissionResult | None:
        """With PREFLIGHT_FACES=strict, any finding refuses the photo before anything is stored."""
        if findings and self._settings.preflight_faces == "strict":
            return self._refuse(draft, SubmissionResult(findings=findings))
        return None

    def _refuse(self, draft: ReplicaDraft, refusal: SubmissionResult) -> SubmissionResult:
        return refusal if self.forget(draft) else SubmissionResult(superseded=True)

    def forget(self, draft: ReplicaDraft) -> bool:
        """Nothing goes to Tavus: drop the received row (a refused photo leaves no request behind).
        False if another worker finished the request first, and so reported it."""
        if draft.received_id is None:
            return True
        table = ReplicaRequest.__table__
        with session_scope(self._engine) as session:
            deleted = session.execute(
                delete(table).where(
                    table.c.id == draft.received_id, table.c.status == RequestStatus.RECEIVED
                )
            ).rowcount
        return deleted == 1

    def _decide(
        self, draft: ReplicaDraft, train_image_url: str | None, findings: tuple[Finding, ...] | None
    ) -> SubmissionResult:
        """Submit now, or hold for the requester's answer (rights, consent, or a doubtful photo)."""
        question = self._question_for(draft)
        if question is not None or findings:
            held = self.hold(draft, train_image_url, findings)
            if held is None:
                return SubmissionResult(superseded=True)
            return SubmissionResult(request=held, question=question, findings=findings or ())
        return self.create(draft, train_image_url=train_image_url, findings=findings)

    def _look_at(self, photo: bytes) -> tuple[Finding, ...] | None:
        """The offline photo check (None when switched off). Only an advisory: Tavus decides."""
        if self._settings.preflight_faces == "off":
            return None
        report = check_photo(photo, detect_faces=True)
        log.info("photo check: %s in %.0f ms (detector %s)",
                 ", ".join(f.kind for f in report.findings) or "clean", report.elapsed_ms, report.detector)
        return report.findings

    def _question_for(self, draft: ReplicaDraft) -> str | None:
        """What the requester must confirm before anything is submitted, if anything."""
        if draft.video_url and not draft.consent_url:
            return VIDEO_CONSENT_QUESTION
        if self._settings.require_consent_confirmation and not draft.rights_affirmed:
            return RIGHTS_QUESTION
        return None

    # --- confirmation ------------------------------------------------------------------------------------

    def hold(
        self, draft: ReplicaDraft, train_image_url: str | None = None,
        findings: tuple[Finding, ...] | None = None,
    ) -> ReplicaRequest | None:
        """Record the request but submit nothing until the requester confirms (None: superseded)."""
        return self._record(draft, train_image_url, RequestStatus.AWAITING_CONFIRMATION, findings)

    def confirm(self, request_id: int, user_id: str) -> SubmissionResult:
        """The requester confirmed: submit. Only they can, and a double click submits once."""
        table = ReplicaRequest.__table__
        now = utcnow()
        with session_scope(self._engine) as session:
            request = session.get(ReplicaRequest, request_id)
            if request is None:
                return SubmissionResult(refusal="I can't find that request any more.")
            if request.requester_id != user_id:
                return SubmissionResult(refusal="Only the person who asked for this replica can confirm it.")
            if request.slack_file_id and request.created_at + self._confirm_window() < now:
                return SubmissionResult(refusal=STALE_CONFIRMATION)
            claimed = session.execute(
                update(table)
                .where(table.c.id == request_id, table.c.status == RequestStatus.AWAITING_CONFIRMATION)
                .values(
                    status=RequestStatus.SUBMITTING,
                    rights_affirmed_by=user_id,
                    rights_affirmed_at=now,
                    updated_at=now,
                )
            ).rowcount
        if claimed != 1:
            return SubmissionResult(refusal="This request was already confirmed.")
        with session_scope(self._engine) as session:
            request = session.get(ReplicaRequest, request_id)
        assert request is not None
        return self._send_to_tavus(request)

    def _confirm_window(self) -> timedelta:
        # Tavus may take 24 h to download the hosted photo; confirming later than that would hand it a
        # link that dies mid-training.
        return timedelta(hours=max(self._settings.media_url_ttl_hours - 24, 0))

    def cancel(self, request_id: int, user_id: str) -> bool:
        """The requester changed their mind before confirming; nothing reaches Tavus."""
        table = ReplicaRequest.__table__
        now = utcnow()
        with session_scope(self._engine) as session:
            cancelled = session.execute(
                update(table)
                .where(
                    table.c.id == request_id,
                    table.c.requester_id == user_id,
                    table.c.status == RequestStatus.AWAITING_CONFIRMATION,
                )
                .values(
                    status=RequestStatus.SUBMIT_FAILED,
                    submit_error="Cancelled by the requester.",
                    finished_at=now,
                    updated_at=now,
                )
            ).rowcount
        return cancelled == 1

    # --- Tavus -------------------------------------------------------------------------------------------

    def create(
        self, draft: ReplicaDraft, *, train_image_url: str | None, findings: tuple[Finding, ...] | None = None
    ) -> SubmissionResult:
        """Record the request, then create the replica. The row exists before Tavus is called so a crash in
        between leaves something to reconcile rather than an untracked, paid training run."""
        request = self._record(draft, train_image_url, RequestStatus.SUBMITTING, findings)
        if request is None:
            return SubmissionResult(superseded=True)
        return self._send_to_tavus(request)

    def _record(
        self,
        draft: ReplicaDraft,
        train_image_url: str | None,
        status: RequestStatus,
        findings: tuple[Finding, ...] | None,
    ) -> ReplicaRequest | None:
        """Store the checked request: a new row, or the one received at the ack moved on from "received".
        Only one worker can move it (a slow one and one resuming after a crash); the other gets None."""
        with session_scope(self._engine) as session:
            if draft.received_id is None:
                request = self._new_request(draft, train_image_url, status, findings)
                session.add(request)
                return request
            table = ReplicaRequest.__table__
            moved = session.execute(
                update(table)
                .where(table.c.id == draft.received_id, table.c.status == RequestStatus.RECEIVED)
                .values(
                    status=status,
                    train_image_url=train_image_url,
                    preflight_findings=_findings_text(findings),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=utcnow(),
                )
            ).rowcount
            return session.get(ReplicaRequest, draft.received_id) if moved == 1 else None

    def _send_to_tavus(self, request: ReplicaRequest) -> SubmissionResult:
        video = request.train_video_url
        try:
            created = self._tavus.create_replica(
                replica_name=request.replica_name,
                train_image_url=None if video else request.train_image_url,
                voice_name=None if video else request.voice_name,
                train_video_url=video,
                consent_video_url=request.consent_video_url,
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

        request = self._record_created(request, created.replica_id)
        log.info("request %s created replica %s", request.id, created.replica_id)
        return SubmissionResult(request=request)

    def _record_created(self, request: ReplicaRequest, replica_id: str) -> ReplicaRequest:
        now = utcnow()
        with session_scope(self._engine) as session:
            request = session.merge(request)
            request.replica_id = replica_id
            request.status = RequestStatus.TRAINING
            request.submitted_at = request.updated_at = now
            request.progress_changed_at = now
            # Image rejections come early: the first look follows soon (see Tracker.next_poll_at).
            first_look = min(self._settings.poll_interval_seconds, self._settings.poll_early_interval_seconds)
            request.next_poll_at = now + timedelta(seconds=first_look)
            request.lease_owner = request.lease_until = None
            session.flush()
            repository.arm_card(session, request)
        return request

    # --- crash recovery --------------------------------------------------------------------------------

    def claim_received(self, *, owner: str) -> list[ReplicaDraft]:
        """Requests acked before a crash and never checked, as drafts to submit again (the caller knows
        how to fetch an uploaded photo from Slack and where to answer)."""
        ids = repository.claim_stalled_submissions(
            self._engine,
            owner=owner,
            older_than=timedelta(seconds=self._settings.reconcile_after_seconds),
            status=RequestStatus.RECEIVED,
        )
        with session_scope(self._engine) as session:
            requests = [r for r in (session.get(ReplicaRequest, i) for i in ids) if r is not None]
        for request in requests:
            log.info("request %s was acked but never checked before a restart; checking it now", request.id)
        return [_draft_of(request) for request in requests]

    def give_up(self, draft: ReplicaDraft, reason: str) -> None:
        """A received request that cannot be processed: stop resuming it, keeping the reason."""
        if draft.received_id is None:
            return
        table = ReplicaRequest.__table__
        now = utcnow()
        with session_scope(self._engine) as session:
            session.execute(
                update(table)
                .where(table.c.id == draft.received_id, table.c.status == RequestStatus.RECEIVED)
                .values(
                    status=RequestStatus.SUBMIT_FAILED, submit_error=reason, finished_at=now, updated_at=now
                )
            )

    def reconcile(self, *, owner: str) -> int:
        """Finish requests a crash left in "submitting". Tavus has no idempotency key, so look for a replica
        it created for us (same name, created after our row) before submitting again: never a second run."""
        ids = repository.claim_stalled_submissions(
            self._engine, owner=owner, older_than=timedelta(seconds=self._settings.reconcile_after_seconds)
        )
        if not ids:
            return 0
        try:
            recent = self._tavus.list_replicas(limit=100)
        except TavusError as exc:
            log.warning("cannot reconcile %s stalled submissions yet: %s", len(ids), exc)
            return 0
        with session_scope(self._engine) as session:
            requests = sorted(
                (r for r in (session.get(ReplicaRequest, i) for i in ids) if r is not None),
                key=lambda r: r.created_at,
            )
            taken = {r.replica_id for r in recent if repository.find_by_replica_id(session, r.replica_id)}
        for request in requests:
            match = next(
                (
                    r for r in sorted(recent, key=lambda r: r.created_at or request.created_at)
                    if r.replica_id not in taken
                    and r.replica_name == request.replica_name
                    and (r.created_at is None or r.created_at >= request.created_at - timedelta(seconds=5))
                ),
                None,
            )
            if match is not None:
                taken.add(match.replica_id)
                log.info("request %s: adopting replica %s Tavus created before a crash", request.id,
                         match.replica_id)
                self._record_created(request, match.replica_id)
            else:
                log.info("request %s never reached Tavus before a crash; submitting it now", request.id)
                self._send_to_tavus(request)
        return len(requests)

    def _new_request(
        self, draft: ReplicaDraft, train_image_url: str | None, status: RequestStatus,
        findings: tuple[Finding, ...] | None = None,
    ) -> ReplicaRequest:
        return ReplicaRequest(**_request_fields(draft, train_image_url, status, findings))

    def _check_links(self, draft: ReplicaDraft) -> bytes | None:
        """Check what Tavus will download (raising PreflightRefusal); returns the photo's bytes, if any."""
        for url in (draft.video_url, draft.consent_url):
            if url:
                check_url(url, allow_private=self._settings.allow_private_urls)
        if not draft.image_url:
            return None
        fetched = fetch_url(
            draft.image_url, allow_private=self._settings.allow_private_urls,
            max_bytes=self._settings.max_image_bytes,
        )
        check_image(fetched.content, max_bytes=self._settings.max_image_bytes)
        return fetched.content


def _findings_text(findings: tuple[Finding, ...] | None) -> str | None:
    return None if findings is None else ",".join(f.kind for f in findings)


def _request_fields(
    draft: ReplicaDraft,
    train_image_url: str | None,
    status: RequestStatus,
    findings: tuple[Finding, ...] | None = None,
) -> dict[str, object]:
    """A new request's columns; every column not named here starts empty."""
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
        "status": status,
        "preflight_findings": _findings_text(findings),
        "callback_token": secrets.token_urlsafe(32),
        "idempotency_key": secrets.token_hex(16),
        "created_at": now,
        "updated_at": now,
    }


def _draft_of(request: ReplicaRequest) -> ReplicaDraft:
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
    )


def _reason_for_requester(exc: TavusError) -> str:
    if isinstance(exc, TavusBadRequest):
        return f"Tavus said: {exc.message}"
    if isinstance(exc, TavusAuthError):
        # The requester cannot fix this; the operator sees the detail in the logs.
        return "replica-bot is not set up correctly to talk to Tavus. Please ask the app's admin to check it."
    if isinstance(exc, TavusUnavailable):
        return "Tavus is not answering right now. Please try again in a few minutes."
    return "Tavus could not take the request right now. Please try again in a few minutes."

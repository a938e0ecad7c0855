"""The composition root: builds every long-lived part of the bot from the settings, once, and hands each
part what it needs through its constructor. Nothing else builds services or reaches for a global."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
from slack_sdk import WebClient

from bot.domain.access import Access
from bot.domain.audit import Audit
from bot.domain.catalogue import Catalogue
from bot.domain.deletion import DeletionService
from bot.domain.erasure import Erasure
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.photo_choice import PhotoChoices
from bot.domain.queries import RequestQueries
from bot.domain.recovery import Recovery
from bot.domain.resubmission import Resubmission
from bot.domain.rules import Approvals, SubmissionRules
from bot.domain.submission import SubmissionService
from bot.domain.tavus_check import TavusPhotoCheck
from bot.domain.tracking import PollSchedule, Tracker
from bot.domain.try_face import Faces, JobLifecycle, SampleVideos, TestCalls, TryFace, TryRules
from bot.domain.waits import Waits
from bot.photos.offline_check import available_detector
from bot.service.after_ack import AfterAck
from bot.service.batch_wiring import BatchParts, build_batches
from bot.service.media import build_media_store
from bot.service.metrics import Metrics
from bot.service.scheduler import SWEEP_JOB, Scheduler, Throttle
from bot.service.settings import Settings, SettingsError
from bot.slack.client import slack_client
from bot.slack.delivery import Deliverer
from bot.slack.directory import SlackDirectory
from bot.slack.files import SlackFileDownloader
from bot.slack.home_tab import HomePublisher
from bot.slack.intake import Intake
from bot.slack.pacing import COMMERCIAL_READ_LIMIT, READ_LIMIT, Pacer, Rate, rates_for
from bot.tavus import TavusClient
from bot.tavus.image_validation import ImageValidator
from bot.tavus.jobs import TavusJobs
from handlers.services import Services, Voices
from storage.db import Engine, make_engine, migrate, ping
from storage.repository import seen_events

log = logging.getLogger(__name__)

# The outbox lease is short: it is renewed before every post, and a crashed worker's rows come back soon.
_OUTBOX_LEASE_SECONDS = 15


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    catalogue: Catalogue
    tavus: TavusClient
    slack: WebClient
    tracker: Tracker
    deliverer: Deliverer
    scheduler: Scheduler
    media: MediaStore | None
    services: Services
    after_ack: AfterAck
    kicks: Throttle
    owner: str
    metrics: Metrics
    # Set when the process hands its work over: background work takes nothing new from then on.
    stopping: threading.Event
    batches: BatchParts | None = None

    def migrate(self) -> None:
        """Bring the schema to the newest revision (raises DatabaseError when the database cannot be
        reached): from then on Slack's requests can be taken."""
        migrate(self.engine)

    def start_work(self) -> None:
        """Start the background work (after `migrate`)."""
        self.scheduler.start()

    def say_started(self) -> None:
        """One log line of what this worker checks and how often it polls (after `start`: loading the face
        detector to say so takes a moment nobody should wait for)."""
        checks = _photo_checks(self)
        log.info("photo checks: format, size, decompression bombs and truncation always; %s", checks)
        log.info(
            "replica-bot worker %s started (poll every %ss)", self.owner, self.settings.poll_interval_seconds
        )

    def healthy(self) -> bool:
        return self.scheduler.running and ping(self.engine)

    def close(self, *, finish_acked: bool = True) -> None:
        """`finish_acked`: first finish the work acked to people (the hand-over waits for it itself)."""
        if finish_acked:
            self.after_ack.close()
        self.kicks.cancel()
        self.scheduler.shutdown()
        if self.batches is not None:
            self.batches.kicks.cancel()
            self.batches.work.close()
        self.tavus.close()
        self.engine.dispose()


def build_runtime(settings: Settings, *, socket_mode: bool = False) -> Runtime:
    """Everything, built and wired; nothing touches the database until `Runtime.start`."""
    engine = make_engine(settings.database_url)
    # Configuration mistakes stop the start before anything touches the database.
    media = _media_store(settings, engine, socket_mode=socket_mode)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    metrics = Metrics(engine)
    stopping = threading.Event()
    docs_url = str(settings.tavus_docs_url)
    catalogue = Catalogue(docs_url.rstrip("/"))
    access = Access(
        allowed_channels=settings.allowed_channel_ids,
        admins=settings.admin_user_ids,
        delete_grace=timedelta(minutes=settings.delete_grace_minutes),
    )
    tavus = TavusClient(
        str(settings.tavus_api_url).rstrip("/"),
        settings.secret("tavus_api_key"),
        # The poller's workers, plus room for submissions and deletions sharing the client.
        max_connections=settings.poll_concurrency + 8,
        observe=metrics.tavus_call,
        stopping=stopping,
    )
    token, api_url = settings.secret("slack_bot_token"), str(settings.slack_api_url)
    slack = slack_client(token, api_url, retry_rate_limits=False, observe=metrics.slack_call)
    home = HomePublisher(engine, catalogue, access)
    overrides = {method: Rate(*rate) for method, rate in settings.slack_rate_limits.items()}
    commercial = settings.slack_distribution == "commercial"
    pacer = Pacer(
        engine,
        rates_for(settings.slack_distribution, overrides),
        read_limit=COMMERCIAL_READ_LIMIT if commercial else READ_LIMIT,
    )
    schedule = PollSchedule(
        interval=settings.poll_interval_seconds,
        early_interval=settings.poll_early_interval_seconds,
        early_window=settings.poll_early_window_seconds,
        max_interval=settings.poll_max_interval_seconds,
    )
    scheduler = Scheduler()
    # The lifecycle wakes delivery after every move that queued something; the throttle keeps a busy sweep
    # from waking it once per row.
    kicks = Throttle(scheduler.kick_delivery)
    lifecycle = Lifecycle(engine, on_queued=kicks)
    rules = _submission_rules(settings)
    after_ack = AfterAck()
    # Who a colleague named as the face is, and who is in an approvers' group: asked while someone waits.
    directory_client = slack_client(token, api_url, retry_rate_limits=True, observe=metrics.slack_call)
    directory = SlackDirectory(directory_client)
    tavus_check = TavusPhotoCheck(_image_validator(settings, tavus, metrics), on_check=metrics.image_checked)
    submission = SubmissionService(
        rules, engine, lifecycle, tavus, media,
        tavus_check=tavus_check,
        # The photo checks (CPU, then a round trip to Tavus) sit in the middle of the work after an ack:
        # a burst of new requests that arrives meanwhile is acked first (docs/benchmarks.md).
        between_steps=after_ack.yield_to_acks,
        directory=directory,
        on_check=metrics.image_checked,
    )
    waits = Waits(engine, lifecycle, access, rules, media=media, directory=directory)
    deliverer = Deliverer(
        engine,
        slack,
        catalogue,
        owner=owner,
        lease_seconds=_OUTBOX_LEASE_SECONDS,
        notify_requester_dm=settings.notify_requester_dm,
        # The requester's App Home is republished whenever their card changes.
        home=home,
        docs_url=docs_url,
        # Every call the outbox makes stays within Slack's budgets, shared through the database.
        pacer=pacer,
        # The DM asking the colleague in the photo cannot be sent: the requester hears whom to ask.
        on_unreachable=waits.unreachable,
        try_face=settings.try_face != "off",
        stopping=stopping,
        on_outcome_posted=metrics.outcome_posted,
    )
    jobs_lifecycle = JobLifecycle(engine, on_queued=kicks)
    try_face = _try_face(settings, engine, access, tavus, schedule, jobs_lifecycle, owner)
    recovery = Recovery(
        engine,
        lifecycle,
        submission,
        tavus,
        owner=owner,
        stalled_after=timedelta(seconds=settings.reconcile_after_seconds),
    )
    tracker = Tracker(
        engine,
        lifecycle,
        tavus,
        catalogue,
        owner=owner,
        schedule=schedule,
        stuck_after=timedelta(hours=settings.stuck_after_hours),
        concurrency=settings.poll_concurrency,
        # Sample videos and test calls are followed by the same sweep, after the faces in training.
        also=(try_face.videos, try_face.calls),
        stopping=stopping,
    )
    downloader = SlackFileDownloader(token, api_url, max_bytes=settings.max_image_bytes)
    intake = Intake(submission, recovery, downloader, catalogue, slack=slack, run_later=after_ack.submit)
    batch_parts = build_batches(
        settings, engine, scheduler=scheduler, lifecycle=lifecycle, on_queued=kicks, submission=submission,
        tavus_check=tavus_check, access=access, slack=slack, downloader=downloader, directory=directory,
        media=media, after_ack=after_ack, owner=owner, stopping=stopping,
    )

    def reconcile() -> None:
        """Repair what a crash interrupted: submissions Tavus may have seen, then requests acked but
        never checked, then sample videos and test calls Tavus may have seen."""
        if stopping.is_set():
            return
        recovery.reconcile()
        intake.resume_received()
        try_face.reconcile(older_than=timedelta(seconds=settings.reconcile_after_seconds))

    # A sweep only takes rows that are due, so running it at the shortest spacing costs one query.
    scheduler.every(schedule.tick_seconds, tracker.sweep, name=SWEEP_JOB, at_start=True)
    scheduler.deliver_with(deliverer.deliver_due, every=settings.outbox_interval_seconds)
    # Often enough that a crash mid-submission is repaired within a minute, however long the poll interval.
    scheduler.every(min(schedule.tick_seconds, 60), reconcile, name="reconcile", at_start=True)
    scheduler.every(600, lambda: _purge_media(media, settings), name="housekeeping")
    # Consent and approvals that nobody answered in time end, and their photos go.
    def expire() -> None:
        if not stopping.is_set():
            waits.expire_due()

    scheduler.every(min(schedule.tick_seconds, 60), expire, name="expiry", at_start=True)
    services = Services(
        submission=submission,
        intake=intake,
        deletion=DeletionService(engine, lifecycle, tavus, access),
        requests=RequestQueries(engine, access),
        retries=Resubmission(engine, access),
        access=access,
        catalogue=catalogue,
        home=home,
        voices=Voices(settings.voices, settings.default_voice, settings.voice_descriptions),
        first_delivery=lambda keys: seen_events.first_time(engine, keys),
        docs_url=docs_url,
        photo_choices=PhotoChoices(
            engine, lifecycle, access, media_url_ttl=rules.media_url_ttl, confirm_rights=rules.confirm_rights
        ),
        waits=waits,
        audit=Audit(engine, access),
        try_face=try_face,
        erasure=Erasure(engine, lifecycle, tavus, access, media),
        batches=batch_parts.batches,
    )
    return Runtime(
        settings=settings,
        engine=engine,
        catalogue=catalogue,
        tavus=tavus,
        slack=slack,
        tracker=tracker,
        deliverer=deliverer,
        scheduler=scheduler,
        media=media,
        services=services,
        after_ack=after_ack,
        kicks=kicks,
        owner=owner,
        metrics=metrics,
        stopping=stopping,
        batches=batch_parts,
    )


def _try_face(
    settings: Settings,
    engine: Engine,
    access: Access,
    tavus: TavusClient,
    schedule: PollSchedule,
    lifecycle: JobLifecycle,
    owner: str,
) -> TryFace:
    """Sample videos and test calls of finished faces: the settings' limits, the face client's connection."""
    rules = TryRules(
        mode=settings.try_face,
        script_max_chars=settings.sample_script_max_chars,
        videos_per_face=settings.sample_videos_per_face,
        call_seconds=settings.test_call_seconds,
        calls_per_face=settings.test_calls_per_face,
        callback_base_url=str(settings.public_base_url) if settings.public_base_url else None,
    )
    faces = Faces(engine, access, rules)
    jobs = TavusJobs(tavus)
    videos = SampleVideos(engine, lifecycle, jobs, faces, rules, schedule, owner=owner)
    calls = TestCalls(engine, lifecycle, jobs, faces, rules, schedule, owner=owner)
    return TryFace(rules, faces, videos, calls)


def _image_validator(settings: Settings, tavus: TavusClient, metrics: Metrics) -> ImageValidator | None:
    """Tavus' image check, on a client of its own: one attempt and a short timeout, since the request
    goes on without it rather than waiting out retries. It shares `tavus`' choice of path family."""
    if not settings.tavus_image_validation:
        return None
    seconds = settings.tavus_image_validation_timeout_seconds
    client = TavusClient(
        str(settings.tavus_api_url).rstrip("/"),
        settings.secret("tavus_api_key"),
        timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
        max_attempts=1,
        # A batch checks this many rows at once; a request waiting for a connection would time out.
        max_connections=max(4, settings.batch_concurrency),
        paths=tavus.paths,
        observe=metrics.tavus_call,
    )
    return ImageValidator(client)


def _submission_rules(settings: Settings) -> SubmissionRules:
    first_look = min(settings.poll_interval_seconds, settings.poll_early_interval_seconds)
    return SubmissionRules(
        voices=settings.voices,
        default_voice=settings.default_voice,
        max_image_bytes=settings.max_image_bytes,
        allow_private_urls=settings.allow_private_urls,
        photo_check=settings.preflight_faces,
        confirm_rights=settings.require_consent_confirmation,
        media_url_ttl=timedelta(hours=settings.media_url_ttl_hours),
        # Image rejections come early: the first look follows soon.
        first_poll_after=timedelta(seconds=first_look),
        model_name=settings.tavus_model_name,
        callback_base_url=str(settings.public_base_url) if settings.public_base_url else None,
        likeness_consent=settings.likeness_consent,
        likeness_outside=settings.likeness_outside,
        consent_expires=timedelta(hours=settings.consent_expires_hours),
        approvals=Approvals(
            mode=settings.approval,
            # Without APPROVERS, the admins decide.
            approvers=settings.approvers or settings.admin_user_ids,
            channel=settings.approval_channel,
            quota_per_month=settings.quota_per_user_per_month,
            expires=timedelta(hours=settings.approval_expires_hours),
        ),
    )


def _photo_checks(runtime: Runtime) -> str:
    mode = runtime.settings.preflight_faces
    detector = available_detector() if mode != "off" else None
    if mode == "off":
        faces = "off"
    elif detector:
        faces = f"with {detector}"
    else:
        faces = "not checked (install replica-bot[faces] for a face detector)"
    return f"sharpness, light and framing {mode}; faces {faces}"


def _media_store(settings: Settings, engine: Engine, *, socket_mode: bool) -> MediaStore | None:
    try:
        return build_media_store(settings, engine, socket_mode=socket_mode)
    except SettingsError:
        if socket_mode or settings.media_backend != "builtin":
            raise
        # Links still work without a public address; only uploaded photos need hosting.
        log.warning(
            "PUBLIC_BASE_URL is not set: photos uploaded to Slack cannot be hosted for Tavus "
            "(set it, or MEDIA_BACKEND=s3); /replica create <url> still works"
        )
        return None


def _purge_media(media: MediaStore | None, settings: Settings) -> None:
    if media is not None:
        purged = media.purge_finished(retention=timedelta(hours=settings.media_retention_hours))
        if purged:
            log.info("purged %s stored photos of finished requests", purged)

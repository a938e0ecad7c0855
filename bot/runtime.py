"""The composition root: builds every long-lived part of the bot from the settings, once."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from sqlalchemy.engine import Engine

from bot.access import Access
from bot.after_ack import AfterAck
from bot.catalogue import Catalogue
from bot.deletion import DeletionService
from bot.delivery import Deliverer
from bot.home import HomePublisher
from bot.media import MediaStore, build_media_store
from bot.photo_check import available_detector
from bot.scheduler import Scheduler
from bot.settings import Settings, SettingsError
from bot.slack_files import SlackFileDownloader
from bot.submission import SubmissionService
from bot.tavus import TavusClient
from bot.tracking import Tracker
from storage.db import make_engine, migrate, ping

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    catalogue: Catalogue
    tavus: TavusClient
    slack: WebClient
    submission: SubmissionService
    tracker: Tracker
    deliverer: Deliverer
    scheduler: Scheduler
    files: SlackFileDownloader
    media: MediaStore | None
    access: Access
    deletion: DeletionService
    owner: str = field(default="")
    # Listeners' work after their ack (see bot/after_ack.py).
    after_ack: AfterAck = field(default_factory=AfterAck)
    # Picks up requests acked before a crash; it answers in Slack, so the handlers set it
    # (handlers.flow.resume_received).
    resume_received: Callable[[], object] = field(default=lambda: 0)

    def start(self) -> None:
        self.scheduler.start()
        detector = available_detector()
        log.info(
            "photo checks: format, size, decompression bombs and truncation always; sharpness, light and "
            "framing %s; faces %s",
            self.settings.preflight_faces,
            f"with {detector}"
            if detector and self.settings.preflight_faces != "off"
            else "off"
            if self.settings.preflight_faces == "off"
            else "not checked (install replica-bot[faces] for a face detector)",
        )
        log.info(
            "replica-bot worker %s started (poll every %ss)", self.owner, self.settings.poll_interval_seconds
        )

    def healthy(self) -> bool:
        return self.scheduler.running and ping(self.engine)

    def notify_changed(self) -> None:
        self.scheduler.kick_delivery()

    def close(self) -> None:
        self.after_ack.close()
        self.scheduler.shutdown()
        self.tavus.close()
        self.engine.dispose()


def slack_client(settings: Settings, *, retry_rate_limits: bool) -> WebClient:
    """A WebClient aimed at SLACK_API_URL. Listener replies retry 429/5xx in place; the outbox does not,
    because it reschedules instead of sleeping while it holds a lease."""
    handlers = [RateLimitErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(max_retry_count=2)]
    client = WebClient(
        token=settings.secret("slack_bot_token"), base_url=str(settings.slack_api_url), timeout=10
    )
    if retry_rate_limits:
        for handler in handlers:
            client.retry_handlers.append(handler)
    return client


def build_runtime(settings: Settings, *, socket_mode: bool = False) -> Runtime:
    engine = make_engine(settings.database_url)
    # Configuration mistakes stop the start before anything touches the database.
    media = _media_store(settings, engine, socket_mode=socket_mode)
    migrate(engine)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    catalogue = Catalogue(str(settings.tavus_docs_url).rstrip("/"))
    tavus = TavusClient(
        str(settings.tavus_api_url).rstrip("/"),
        settings.secret("tavus_api_key"),
        # The poller's workers, plus room for submissions and deletions sharing the client.
        max_connections=settings.poll_concurrency + 8,
    )
    slack = slack_client(settings, retry_rate_limits=False)
    deliverer = Deliverer(
        engine,
        slack,
        catalogue,
        owner=owner,
        # Short: the lease is renewed before every post, and a crashed worker's rows come back this soon.
        lease_seconds=15,
        notify_requester_dm=settings.notify_requester_dm,
        # The requester's App Home is republished whenever their card changes.
        home=HomePublisher(engine, catalogue, settings),
        docs_url=str(settings.tavus_docs_url),
    )
    submission = SubmissionService(settings, engine, tavus, media)
    tracker = Tracker(
        engine,
        tavus,
        catalogue,
        owner=owner,
        poll_interval=settings.poll_interval_seconds,
        stuck_after=timedelta(hours=settings.stuck_after_hours),
        concurrency=settings.poll_concurrency,
        early_interval=settings.poll_early_interval_seconds,
        early_window=settings.poll_early_window_seconds,
        max_interval=settings.poll_max_interval_seconds,
    )
    scheduler = Scheduler(
        sweep=tracker.sweep,
        deliver=deliverer.deliver_due,
        # A sweep only takes rows that are due, so running it at the shortest spacing costs one query.
        poll_interval=tracker.tick_seconds,
        outbox_interval=settings.outbox_interval_seconds,
        housekeeping=lambda: _purge_media(media, settings),
        # `runtime` is bound below; the job first runs once the scheduler starts.
        reconcile=lambda: _reconcile(runtime),
    )
    tracker.on_change = scheduler.kick_delivery
    access = Access(settings)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        catalogue=catalogue,
        tavus=tavus,
        slack=slack,
        submission=submission,
        tracker=tracker,
        deliverer=deliverer,
        scheduler=scheduler,
        files=SlackFileDownloader(
            settings.secret("slack_bot_token"),
            str(settings.slack_api_url),
            max_bytes=settings.max_image_bytes,
        ),
        media=media,
        access=access,
        deletion=DeletionService(engine, tavus, access),
        owner=owner,
    )
    return runtime


def _reconcile(runtime: Runtime) -> None:
    """Repair what a crash interrupted: submissions Tavus may have seen, then requests acked but unchecked."""
    runtime.submission.reconcile(owner=runtime.owner)
    runtime.resume_received()


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

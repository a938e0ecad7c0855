"""Batches, wired: the lifecycle, what people do with a batch, and the worker that reads, checks and
submits its rows after the ack, run by the scheduler every second and woken at once when there is news."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.domain.access import Access
from bot.domain.batch import Batches, BatchLifecycle, BatchWork, RowChecker
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.people import Directory
from bot.domain.submission import SubmissionService
from bot.domain.tavus_check import TavusPhotoCheck
from bot.service.after_ack import AfterAck
from bot.service.scheduler import Scheduler, Throttle
from bot.service.settings import Settings
from bot.slack.files import SlackFileDownloader, SlackFiles
from storage.db import Engine

BATCH_JOB = "batches"
# How often the worker looks for batch work nobody woke it for (another process's, or after a restart).
TICK_SECONDS = 1.0


@dataclass(frozen=True)
class BatchParts:
    batches: Batches
    work: BatchWork
    kicks: Throttle


def build_batches(
    settings: Settings,
    engine: Engine,
    *,
    scheduler: Scheduler,
    lifecycle: Lifecycle,
    on_queued: Throttle,
    submission: SubmissionService,
    tavus_check: TavusPhotoCheck,
    access: Access,
    slack: WebClient,
    downloader: SlackFileDownloader,
    directory: Directory,
    media: MediaStore | None,
    after_ack: AfterAck,
    owner: str,
    stopping: threading.Event,
) -> BatchParts:
    files = SlackFiles(slack, downloader)
    batch_lifecycle = BatchLifecycle(engine, on_queued=on_queued)
    checker = RowChecker(submission, files=files, tavus_check=tavus_check, media=media, directory=directory)
    work = BatchWork(
        engine,
        batch_lifecycle,
        lifecycle,
        submission,
        checker,
        files,
        owner=owner,
        max_rows=settings.batch_max_rows,
        concurrency=settings.batch_concurrency,
        # Like a request cut short by a crash, a row is picked up again after RECONCILE_AFTER_SECONDS.
        lease_seconds=settings.reconcile_after_seconds,
        media=media,
        # Checking a row (CPU, then a round trip to Tavus) lets the acks of Slack requests go first.
        between_steps=after_ack.yield_to_acks,
        stopping=stopping,
    )
    kicks = Throttle(lambda: scheduler.kick(BATCH_JOB), spacing=0.2)
    batches = Batches(
        engine,
        batch_lifecycle,
        access,
        submission.rules,
        max_rows=settings.batch_max_rows,
        directory=directory,
        kick=kicks,
    )
    scheduler.every(TICK_SECONDS, work.run, name=BATCH_JOB, at_start=True)
    return BatchParts(batches, work, kicks)

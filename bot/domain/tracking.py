"""While a replica trains: the sweep that polls Tavus, and what each answer means for the request.

The sweep polls only in-flight requests, each under a lease. What an answer changes is a lifecycle move
(`bot.domain.lifecycle`): progress, a stall, completion or failure, each written with the notification it
causes. A failure is explained here, once, against the error catalogue, and stored with the request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from bot.domain.catalogue import Catalogue
from bot.domain.lifecycle import REPLICA_GONE, Failure, Lifecycle, Poll
from bot.domain.sweep import NO_ANSWER, Followed, NoAnswer, poll_one, sweep
from bot.tavus import FinetuneState, Replica, ReplicaState, TavusClient, TavusError, TavusNotFound
from bot.tavus.phoenix import has_preview_stage
from storage.db import Engine
from storage.models import OutboxKind, RequestStatus, utcnow
from storage.repository import leases, replica_requests
from storage.repository.leases import DuePoll

log = logging.getLogger(__name__)

# Polls in flight at once unless told otherwise (POLL_CONCURRENCY); see docs/benchmarks.md for the choice.
DEFAULT_CONCURRENCY = 32
# After the first minutes, look again after at most this share of the request's age (capped by the maximum).
_SPACING_SHARE_OF_AGE = 0.05
_MAX_TICK_SECONDS = 5.0


@dataclass(frozen=True)
class PollSchedule:
    """How often each request is polled. With `early_window` (seconds after submission) and
    `early_interval`, requests are polled more often while image problems usually surface; past that,
    the spacing grows with the request's age, from `interval` up to `max_interval`."""

    interval: float
    early_interval: float | None = None
    early_window: float = 0
    max_interval: float | None = None

    @property
    def tick_seconds(self) -> float:
        """How often to run the sweep. A sweep takes only rows already due, so ticking at the spacing itself
        would let a row polled just after a tick wait almost two spacings; a tick finding nothing due costs
        one indexed query."""
        return min(self._early.total_seconds(), _MAX_TICK_SECONDS) / 2

    def next_poll_at(self, started_at: datetime, now: datetime) -> datetime:
        """When to poll again a request that started training at `started_at`: often in its first
        minutes, then less and less often."""
        age = now - started_at
        if age < timedelta(seconds=self.early_window):
            return now + self._early
        spacing = max(self._interval, age * _SPACING_SHARE_OF_AGE)
        return now + min(spacing, timedelta(seconds=max(self.max_interval or self.interval, self.interval)))

    @property
    def _interval(self) -> timedelta:
        return timedelta(seconds=self.interval)

    @property
    def _early(self) -> timedelta:
        return timedelta(seconds=min(self.early_interval or self.interval, self.interval))


class FollowedWithCallbacks(Followed[Any, Any], Protocol):
    """A kind the sweep follows whose callbacks the tracker routes (a sample video, a test call)."""

    def callback(self, token: str) -> Callable[[], bool] | None: ...


class Tracker:
    """Follows the replicas in training (this class is their kind for the sweep), and the other kinds it
    is given, in one sweep."""

    name = "requests"

    def __init__(
        self,
        engine: Engine,
        lifecycle: Lifecycle,
        tavus: TavusClient,
        catalogue: Catalogue,
        *,
        owner: str,
        schedule: PollSchedule,
        stuck_after: timedelta = timedelta(hours=6),
        concurrency: int = DEFAULT_CONCURRENCY,
        lease_seconds: float = 120,
        also: Sequence[FollowedWithCallbacks] = (),
        stopping: threading.Event | None = None,
    ) -> None:
        """`also`: the other kinds the sweep follows (sample videos, test calls), after the replicas. Once
        `stopping` is set, a sweep asks Tavus about nothing further, and records the answers it has."""
        self._engine = engine
        self._lifecycle = lifecycle
        self._tavus = tavus
        self._catalogue = catalogue
        self._owner = owner
        self._schedule = schedule
        self._stuck_after = stuck_after
        self._concurrency = max(1, concurrency)
        self._lease_seconds = lease_seconds
        self._also = tuple(also)
        self._stopping = stopping or threading.Event()

    @property
    def tick_seconds(self) -> float:
        return self._schedule.tick_seconds

    def sweep(self) -> int:
        """Poll every replica, sample video and test call that was due when the sweep began, once; returns
        how many were polled. Each kind is swept in turn by the same engine (`bot.domain.sweep`)."""
        kinds = (self, *self._also)
        return sum(sweep(kind, concurrency=self._concurrency, stopping=self._stopping) for kind in kinds)

    def poll_now(self, request_id: int) -> bool:
        """Poll one request at once (a Tavus callback said something happened); whether it changed."""
        if self._stopping.is_set():
            return False
        lease = self._lease_seconds
        if not leases.claim_request(self._engine, request_id, owner=self._owner, lease_seconds=lease):
            return False
        request = replica_requests.get(self._engine, request_id)
        if request is None:
            return False
        target = DuePoll(
            request_id,
            request.replica_id,
            request.training_progress,
            request.submitted_at or request.created_at,
            request.progress_changed_at,
            request.status,
            request.model_name,
        )
        return poll_one(self, target)

    def callback(self, token: str) -> Callable[[], bool] | None:
        """What a Tavus callback with this URL token asks for: a fresh look at whatever it is about (the
        body is unsigned, so it is only a reason to ask Tavus again); None if the token is nobody's."""
        if self._stopping.is_set():
            return lambda: False  # the process hands over: the next one's sweep will look
        request_id = replica_requests.request_id_for_callback(self._engine, token)
        if request_id is not None:
            return partial(self.poll_now, request_id)
        return next((poll for kind in self._also if (poll := kind.callback(token)) is not None), None)

    # --- the replicas, as the sweep follows them ------------------------------------------------------

    def claim(self, *, due_by: datetime, limit: int) -> list[DuePoll]:
        return leases.claim_due_polls(
            self._engine, owner=self._owner, due_by=due_by, limit=limit, lease_seconds=self._lease_seconds
        )

    def key(self, target: DuePoll) -> int:
        return target.request_id

    def reschedule(self, target: DuePoll) -> None:
        self._reschedule(target.request_id)

    def fetch(self, target: DuePoll) -> Replica | NoAnswer | None:
        """What Tavus says about the replica: None if it is gone, NO_ANSWER if Tavus could not say."""
        if target.replica_id is None:
            # Leased as in flight yet never submitted: nothing to ask; look again later.
            self._reschedule(target.request_id)
            return NO_ANSWER
        try:
            return self._tavus.get_replica(target.replica_id)
        except TavusNotFound:
            return None
        except TavusError as exc:
            log.warning("could not poll replica %s: %s", target.replica_id, exc)
            self._reschedule(target.request_id)
            return NO_ANSWER

    def record(self, target: DuePoll, replica: Replica | None) -> bool:
        """Record what Tavus said; whether it changed the request (and so queued something for Slack)."""
        now = utcnow()
        poll = Poll(self._owner, now, self._schedule.next_poll_at(target.started_at, now))
        request_id = target.request_id
        previewed = target.status == RequestStatus.PREVIEW_READY
        if replica is None:
            moved = self._lifecycle.fail(
                request_id, Failure(REPLICA_GONE, None), poll=poll, after_preview=previewed
            )
        elif replica.status == ReplicaState.ERROR:
            failure = self.explain(replica.error_message)
            moved = self._lifecycle.fail(request_id, failure, poll=poll, after_preview=previewed)
            if moved:
                log.info("replica %s failed: %s", target.replica_id, failure.code or "unknown error")
        elif replica.status == ReplicaState.COMPLETED and (
            previewed or has_preview_stage(replica.model_name or target.model_name)
        ):
            moved = self._two_stages(target, replica, poll, now)
        elif replica.status == ReplicaState.COMPLETED:
            moved = self._lifecycle.complete(
                request_id,
                progress=replica.training_progress,
                thumbnail_video_url=replica.thumbnail_video_url,
                poll=poll,
            )
        elif replica.training_progress != target.training_progress:
            moved = self._lifecycle.progress(
                request_id,
                progress=replica.training_progress,
                percent=replica.progress_percent,
                poll=poll,
                tuning=previewed,
            )
        else:
            # Once per request: the lifecycle queues the notice at most once.
            moved = self._stalled(target, now) and self._lifecycle.stall(
                request_id, poll=poll, tuning=previewed
            )
        if not moved:
            replica_requests.record_poll(self._engine, request_id, owner=self._owner, values=poll.values())
        return moved

    def _two_stages(self, target: DuePoll, replica: Replica, poll: Poll, now: datetime) -> bool:
        """phoenix-4.5 answered `completed`: the preview is usable; `finetune_status` says whether tuning
        ended. A first look that finds tuning over already records both moves, so each is announced."""
        request_id = target.request_id
        moved = False
        if target.status != RequestStatus.PREVIEW_READY:
            moved = self._lifecycle.preview(
                request_id,
                thumbnail_video_url=replica.thumbnail_video_url,
                finetune_status=replica.finetune_status,
                progress=replica.training_progress,
                percent=replica.progress_percent,
                poll=poll,
            )
            if not moved:
                return False  # another worker recorded it (and whatever followed)
            log.info("face %s: preview ready, tuning goes on", target.replica_id)
            target = target._replace(
                status=RequestStatus.PREVIEW_READY,
                training_progress=replica.training_progress,
                progress_changed_at=now,
            )
        state = replica.finetune_state
        if state != FinetuneState.TUNING:
            errored = state == FinetuneState.ERRORED
            log.info("face %s: tuning %s", target.replica_id, "failed" if errored else "finished")
            ended = self._lifecycle.tuned(
                request_id,
                finetune_status=replica.finetune_status,
                thumbnail_video_url=replica.thumbnail_video_url,
                poll=poll,
                errored=errored,
            )
            return ended or moved
        if moved:
            return True
        if replica.training_progress != target.training_progress:
            return self._lifecycle.progress(
                request_id,
                progress=replica.training_progress,
                percent=replica.progress_percent,
                poll=poll,
                tuning=True,
            )
        return self._stalled(target, now) and self._lifecycle.stall(request_id, poll=poll, tuning=True)

    def explain(self, error_message: str | None) -> Failure:
        """What a training failure was, in the catalogue's terms: its code (or the unknown code Tavus used)
        and Tavus' own words, stored with the request so nothing has to work it out again."""
        explained = self._catalogue.explain(error_message)
        return Failure(explained.entry.code if explained.entry else explained.code, explained.raw or None)

    def _stalled(self, target: DuePoll, now: datetime) -> bool:
        since = target.progress_changed_at or target.started_at
        if now - since < self._stuck_after:
            return False
        return OutboxKind.STUCK not in replica_requests.queued_kinds(self._engine, target.request_id)

    def _reschedule(self, request_id: int) -> None:
        next_poll_at = utcnow() + timedelta(seconds=self._schedule.interval)
        replica_requests.record_poll(
            self._engine, request_id, owner=self._owner, values={"next_poll_at": next_poll_at}
        )


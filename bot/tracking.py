"""What happens while a replica trains, and when training fails or completes.

The sweep polls only in-flight requests. A transition and the notification it causes are written in one
transaction, so a crash can lose neither, and the outbox's unique key means a failure is queued only once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.catalogue import Catalogue
from bot.tavus import Replica, ReplicaState, TavusClient, TavusError, TavusNotFound
from storage import repository
from storage.db import session_scope
from storage.models import OutboxKind, ReplicaRequest, RequestStatus, utcnow

log = logging.getLogger(__name__)

GONE_MESSAGE = "The replica no longer exists in Tavus (it may have been deleted)."
# Polls in flight at once unless told otherwise (POLL_CONCURRENCY); see docs/benchmarks.md for the choice.
DEFAULT_CONCURRENCY = 32
# After the first minutes, look again after at most this share of the request's age (capped by the maximum).
_SPACING_SHARE_OF_AGE = 0.05


class Tracker:
    def __init__(
        self,
        engine: Engine,
        tavus: TavusClient,
        catalogue: Catalogue,
        *,
        owner: str,
        poll_interval: float,
        stuck_after: timedelta = timedelta(hours=6),
        concurrency: int = DEFAULT_CONCURRENCY,
        lease_seconds: float = 120,
        early_interval: float | None = None,
        early_window: float = 0,
        max_interval: float | None = None,
    ) -> None:
        """`poll_interval` is the spacing between polls of one request. With `early_window` (seconds
        after submission) and `early_interval`, requests are polled more often while image problems
        usually surface; past that, spacing grows with the request's age up to `max_interval`."""
        self._engine = engine
        self._tavus = tavus
        self._catalogue = catalogue
        self._owner = owner
        self._poll_interval = timedelta(seconds=poll_interval)
        self._early_interval = timedelta(seconds=min(early_interval or poll_interval, poll_interval))
        self._early_window = timedelta(seconds=early_window)
        self._max_interval = timedelta(seconds=max(max_interval or poll_interval, poll_interval))
        self._stuck_after = stuck_after
        self._concurrency = max(1, concurrency)
        # Rows leased ahead of the workers: enough to keep every worker busy between two claims, few
        # enough that none waits long under its lease.
        self._batch = 2 * self._concurrency
        self._lease_seconds = lease_seconds
        # Called after a sweep that queued notifications, so they go out without waiting an interval.
        self.on_change: Callable[[], None] = lambda: None
        self._kick_lock = threading.Lock()
        self._kick_pending = False
        self._last_kick = 0.0

    @property
    def tick_seconds(self) -> float:
        """How often the sweep should run: as often as the shortest spacing, so no poll comes late."""
        return self._early_interval.total_seconds()

    def next_poll_at(self, request: ReplicaRequest, now: datetime) -> datetime:
        """When to poll this request again: often in its first minutes, then less and less often."""
        age = now - (request.submitted_at or request.created_at)
        if age < self._early_window:
            return now + self._early_interval
        spacing = max(self._poll_interval, age * _SPACING_SHARE_OF_AGE)
        return now + min(spacing, self._max_interval)

    def sweep(self) -> int:
        """Poll every request that was due when the sweep began, once; returns how many were polled.

        `concurrency` workers share one queue of leased rows. Whichever worker finds it running low leases
        the next batch (one UPDATE … RETURNING that also hands back the replica ids), so workers never wait
        for a whole batch to finish, and a row waits under its lease for a couple of polls at most.
        """
        due_by = utcnow()
        queue: deque[tuple[int, str | None]] = deque()
        lock = threading.Lock()
        exhausted = False

        def next_target() -> tuple[int, str | None] | None:
            nonlocal exhausted
            with lock:
                if len(queue) < self._concurrency and not exhausted:
                    wanted = self._batch - len(queue)
                    claimed = repository.claim_due_polls(
                        self._engine,
                        owner=self._owner,
                        due_by=due_by,
                        limit=wanted,
                        lease_seconds=self._lease_seconds,
                    )
                    queue.extend(claimed)
                    exhausted = len(claimed) < wanted
                return queue.popleft() if queue else None

        def work() -> int:
            polled = 0
            while (target := next_target()) is not None:
                if self._poll_safely(*target):
                    self._changed(soon=True)
                polled += 1
            return polled

        began = time.monotonic()
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="poll") as pool:
            workers = [pool.submit(work) for _ in range(self._concurrency)]
            total = sum(worker.result() for worker in workers)
        self._changed(soon=False)
        if total:
            log.info("swept %d in-flight requests in %.1f s", total, time.monotonic() - began)
        return total

    def poll_now(self, request_id: int) -> bool:
        """Poll one request at once (a Tavus callback said something happened)."""
        if not repository.claim_request(
            self._engine, request_id, owner=self._owner, lease_seconds=self._lease_seconds
        ):
            return False
        with session_scope(self._engine) as session:
            request = session.get(ReplicaRequest, request_id)
            replica_id = request.replica_id if request else None
        changed = self._poll_safely(request_id, replica_id)
        if changed:
            self.on_change()
        return changed

    def _changed(self, *, soon: bool) -> None:
        """Something was queued for Slack: wake delivery now, but not for every row of a busy sweep."""
        with self._kick_lock:
            self._kick_pending = self._kick_pending or soon
            if not self._kick_pending or (soon and time.monotonic() - self._last_kick < 0.5):
                return
            self._kick_pending = False
            self._last_kick = time.monotonic()
        self.on_change()

    def _poll_safely(self, request_id: int, replica_id: str | None) -> bool:
        try:
            return self._poll(request_id, replica_id)
        except Exception:
            # One bad row must not stop the sweep; it is retried next interval.
            log.exception("polling request %s failed", request_id)
            self._reschedule(request_id)
            return False

    def _poll(self, request_id: int, replica_id: str | None) -> bool:
        # Claimed rows were in flight when leased; _apply re-checks the status before writing anything.
        if replica_id is None:
            self._reschedule(request_id)
            return False
        try:
            replica = self._tavus.get_replica(replica_id)
        except TavusNotFound:
            replica = None
        except TavusError as exc:
            log.warning("could not poll replica %s: %s", replica_id, exc)
            self._reschedule(request_id)
            return False
        try:
            return self._apply(request_id, replica)
        except IntegrityError as exc:
            if not repository.is_unique_violation(exc):
                raise
            # Another worker recorded the same transition first; theirs stands.
            log.info("request %s transition already recorded elsewhere", request_id)
            return False

    def _apply(self, request_id: int, replica: Replica | None) -> bool:
        now = utcnow()
        with session_scope(self._engine) as session:
            request = session.get(ReplicaRequest, request_id)
            if request is None or request.status != RequestStatus.TRAINING:
                return False
            request.last_polled_at = now
            request.next_poll_at = now + self._poll_interval
            repository.release_request_lease(session, request, self._owner)
            changed = False
            if replica is None:
                changed = self._fail(session, request, GONE_MESSAGE)
            elif replica.status == ReplicaState.ERROR:
                changed = self._fail(session, request, replica.error_message or "")
            elif replica.status == ReplicaState.COMPLETED:
                request.status = RequestStatus.COMPLETED
                request.finished_at = now
                request.progress_percent = 100
                request.training_progress = replica.training_progress or "100/100"
                request.thumbnail_video_url = replica.thumbnail_video_url
                repository.enqueue_once(session, request, OutboxKind.COMPLETION)
                # Issue 6: then a DM to the requester pointing at that post (sent after it).
                repository.enqueue_once(session, request, OutboxKind.REQUESTER_DM)
                changed = True
            elif replica.training_progress != request.training_progress:
                request.training_progress = replica.training_progress
                request.progress_percent = replica.progress_percent
                request.progress_changed_at = now
                changed = True
            elif self._stalled(request, now):
                # Once per request: the outbox key makes a second notice impossible.
                changed = repository.enqueue_once(session, request, OutboxKind.STUCK)
            if changed:
                request.updated_at = now
                session.add(request)
                session.flush()
                repository.arm_card(session, request)
            return changed

    def _stalled(self, request: ReplicaRequest, now: datetime) -> bool:
        since = request.progress_changed_at or request.submitted_at or request.created_at
        return now - since >= self._stuck_after

    def _fail(self, session: object, request: ReplicaRequest, error_message: str) -> bool:
        explained = self._catalogue.explain(error_message)
        request.status = RequestStatus.FAILED
        request.finished_at = utcnow()
        request.error_message = explained.raw or None
        request.error_code = explained.entry.code if explained.entry else explained.code
        repository.enqueue_once(session, request, OutboxKind.FAILURE)  # type: ignore[arg-type]
        # Issue 6: then a DM to the requester pointing at the failure post (sent after it).
        repository.enqueue_once(session, request, OutboxKind.REQUESTER_DM)  # type: ignore[arg-type]
        log.info("replica %s failed: %s", request.replica_id, request.error_code or "unknown error")
        return True

    def _reschedule(self, request_id: int) -> None:
        with session_scope(self._engine) as session:
            request = session.get(ReplicaRequest, request_id)
            if request is not None:
                request.next_poll_at = utcnow() + self._poll_interval
                repository.release_request_lease(session, request, self._owner)
                session.add(request)

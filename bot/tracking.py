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
from queue import SimpleQueue
from typing import Any, TypeVar

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
_MAX_TICK_SECONDS = 5.0
# Threads recording answers. Recording a failure takes several statements; with one writer, 1,000 failures
# at once queued up behind it (docs/benchmarks.md). More would only contend for SQLite's single write lock.
_WRITERS = 4

T = TypeVar("T")


class _NoAnswer:
    """Tavus could not be asked (or did not answer); the row was rescheduled."""


NO_ANSWER = _NoAnswer()


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
        """How often to run the sweep. A sweep takes only rows already due, so ticking at the spacing itself
        would let a row polled just after a tick wait almost two spacings; a tick finding nothing due costs
        one indexed query."""
        return min(self._early_interval.total_seconds(), _MAX_TICK_SECONDS) / 2

    def next_poll_at(self, request: ReplicaRequest, now: datetime) -> datetime:
        """When to poll this request again: often in its first minutes, then less and less often."""
        age = now - (request.submitted_at or request.created_at)
        if age < self._early_window:
            return now + self._early_interval
        spacing = max(self._poll_interval, age * _SPACING_SHARE_OF_AGE)
        return now + min(spacing, self._max_interval)

    def sweep(self) -> int:
        """Poll every request that was due when the sweep began, once; returns how many were polled.

        `concurrency` workers ask Tavus, sharing one queue of leased rows: whichever finds it running low
        leases the next batch (one UPDATE … RETURNING that also hands back the replica ids), so no worker
        waits for a whole batch to finish and no row waits long under its lease. A few writer threads record
        the answers, so the database sees a handful of writers rather than one per worker.
        """
        due_by = utcnow()

        def claim(limit: int) -> list[tuple[int, str | None]]:
            return repository.claim_due_polls(
                self._engine, owner=self._owner, due_by=due_by, limit=limit, lease_seconds=self._lease_seconds
            )

        first = claim(self._batch)
        if not first:
            return 0  # the usual tick: no threads started
        leased: deque[tuple[int, str | None]] = deque(first)
        lease_lock = threading.Lock()
        exhausted = len(first) < self._batch

        def next_target() -> tuple[int, str | None] | None:
            nonlocal exhausted
            with lease_lock:
                if len(leased) < self._concurrency and not exhausted:
                    wanted = self._batch - len(leased)
                    claimed = claim(wanted)
                    leased.extend(claimed)
                    exhausted = len(claimed) < wanted
                return leased.popleft() if leased else None

        answers: SimpleQueue[tuple[int, Replica | None] | None] = SimpleQueue()

        def ask() -> int:
            asked = 0
            while (target := next_target()) is not None:
                request_id, replica_id = target
                answer = self._guarded(NO_ANSWER, self._ask, request_id, replica_id)
                if not isinstance(answer, _NoAnswer):
                    answers.put((request_id, answer))
                asked += 1
            return asked

        def record() -> None:
            while (item := answers.get()) is not None:
                request_id, replica = item
                if self._guarded(False, self._record, request_id, replica):
                    self._changed(soon=True)

        began = time.monotonic()
        writers = [
            threading.Thread(target=record, name=f"poll-writer-{n}", daemon=True) for n in range(_WRITERS)
        ]
        for writer in writers:
            writer.start()
        try:
            with ThreadPoolExecutor(self._concurrency, thread_name_prefix="poll") as pool:
                workers = [pool.submit(ask) for _ in range(self._concurrency)]
                total = sum(worker.result() for worker in workers)
        finally:
            for _ in writers:
                answers.put(None)
            for writer in writers:
                writer.join()
        self._changed(soon=False)
        if total:
            log.info("polled %d in-flight requests in %.1f s", total, time.monotonic() - began)
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
            if not self._kick_pending or (soon and time.monotonic() - self._last_kick < 1.0):
                return
            self._kick_pending = False
            self._last_kick = time.monotonic()
        self.on_change()

    def _poll_safely(self, request_id: int, replica_id: str | None) -> bool:
        return self._guarded(False, self._poll, request_id, replica_id)

    def _guarded(self, failed: T, step: Callable[..., T], request_id: int, *args: Any) -> T:
        try:
            return step(request_id, *args)
        except Exception:
            # One bad row must not stop the sweep; it is retried next interval.
            log.exception("polling request %s failed", request_id)
            self._reschedule(request_id)
            return failed

    def _poll(self, request_id: int, replica_id: str | None) -> bool:
        answer = self._ask(request_id, replica_id)
        return not isinstance(answer, _NoAnswer) and self._record(request_id, answer)

    def _ask(self, request_id: int, replica_id: str | None) -> Replica | _NoAnswer | None:
        """What Tavus says about the replica: None if it is gone, NO_ANSWER if Tavus could not say."""
        if replica_id is None:
            # Leased as in flight yet never submitted: nothing to ask; look again later.
            self._reschedule(request_id)
            return NO_ANSWER
        try:
            return self._tavus.get_replica(replica_id)
        except TavusNotFound:
            return None
        except TavusError as exc:
            log.warning("could not poll replica %s: %s", replica_id, exc)
            self._reschedule(request_id)
            return NO_ANSWER

    def _record(self, request_id: int, replica: Replica | None) -> bool:
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
            request.next_poll_at = self.next_poll_at(request, now)
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

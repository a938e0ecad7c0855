"""What happens while a replica trains, and when training fails or completes.

The sweep polls only in-flight requests. A transition and the notification it causes are written in one
transaction, so a crash can lose neither, and the outbox's unique key means a failure is queued only once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.catalogue import Catalogue
from bot.tavus import Replica, ReplicaState, TavusClient, TavusError, TavusNotFound
from storage import repository
from storage.db import session_scope
from storage.models import OutboxKind, ReplicaRequest, RequestStatus, utcnow

log = logging.getLogger(__name__)

GONE_MESSAGE = "The replica no longer exists in Tavus (it may have been deleted)."


class Tracker:
    def __init__(
        self,
        engine: Engine,
        tavus: TavusClient,
        catalogue: Catalogue,
        *,
        owner: str,
        poll_interval: float,
        concurrency: int = 8,
        lease_seconds: float = 30,
    ) -> None:
        self._engine = engine
        self._tavus = tavus
        self._catalogue = catalogue
        self._owner = owner
        self._poll_interval = timedelta(seconds=poll_interval)
        self._concurrency = concurrency
        self._lease_seconds = lease_seconds
        # Called after a sweep that queued notifications, so they go out without waiting an interval.
        self.on_change: Callable[[], None] = lambda: None

    def sweep(self) -> int:
        """Poll every due in-flight request once; returns how many were polled."""
        total = 0
        while ids := repository.claim_due_requests(
            self._engine, owner=self._owner, lease_seconds=self._lease_seconds
        ):
            with ThreadPoolExecutor(self._concurrency, thread_name_prefix="poll") as pool:
                changed = list(pool.map(self._poll_safely, ids))
            total += len(ids)
            if any(changed):
                self.on_change()
        return total

    def poll_now(self, request_id: int) -> bool:
        """Poll one request at once (a Tavus callback said something happened)."""
        if not repository.claim_request(
            self._engine, request_id, owner=self._owner, lease_seconds=self._lease_seconds
        ):
            return False
        changed = self._poll_safely(request_id)
        if changed:
            self.on_change()
        return changed

    def _poll_safely(self, request_id: int) -> bool:
        try:
            return self._poll(request_id)
        except Exception:
            # One bad row must not stop the sweep; it is retried next interval.
            log.exception("polling request %s failed", request_id)
            self._reschedule(request_id)
            return False

    def _poll(self, request_id: int) -> bool:
        with session_scope(self._engine) as session:
            request = session.get(ReplicaRequest, request_id)
            replica_id = request.replica_id if request else None
        if request is None or replica_id is None or request.status != RequestStatus.TRAINING:
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
                changed = True
            elif replica.training_progress != request.training_progress:
                request.training_progress = replica.training_progress
                request.progress_percent = replica.progress_percent
                changed = True
            if changed:
                request.updated_at = now
                session.add(request)
                session.flush()
                repository.arm_card(session, request)
            return changed

    def _fail(self, session: object, request: ReplicaRequest, error_message: str) -> bool:
        explained = self._catalogue.explain(error_message)
        request.status = RequestStatus.FAILED
        request.finished_at = utcnow()
        request.error_message = explained.raw or None
        request.error_code = explained.entry.code if explained.entry else explained.code
        repository.enqueue_once(session, request, OutboxKind.FAILURE)  # type: ignore[arg-type]
        log.info("replica %s failed: %s", request.replica_id, request.error_code or "unknown error")
        return True

    def _reschedule(self, request_id: int) -> None:
        with session_scope(self._engine) as session:
            request = session.get(ReplicaRequest, request_id)
            if request is not None:
                request.next_poll_at = utcnow() + self._poll_interval
                repository.release_request_lease(session, request, self._owner)
                session.add(request)

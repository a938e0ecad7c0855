"""Repairing what a crash interrupted, so that no request is lost and no training run is paid twice.

Two moments can be cut short: between the ack and the photo check (the request is "received"), and
between calling Tavus and recording its answer ("submitting"). Both are picked up once they have sat
still for RECONCILE_AFTER_SECONDS, by whichever process leases them first.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.domain.errors import SubmissionFailed
from bot.domain.lifecycle import Lifecycle
from bot.domain.requests import ReplicaDraft, SubmitError
from bot.domain.submission import SubmissionService
from bot.tavus import Replica, TavusClient, TavusError
from storage.db import Engine
from storage.models import ReplicaRequest, RequestStatus
from storage.repository import leases, replica_requests

log = logging.getLogger(__name__)

# A replica Tavus reports as created this long before our row still counts as ours (clock skew).
_CLOCK_SKEW = timedelta(seconds=5)


class Recovery:
    def __init__(
        self,
        engine: Engine,
        lifecycle: Lifecycle,
        submission: SubmissionService,
        tavus: TavusClient,
        *,
        owner: str,
        stalled_after: timedelta,
    ) -> None:
        self._engine = engine
        self._lifecycle = lifecycle
        self._submission = submission
        self._tavus = tavus
        self._owner = owner
        # Longer than the Tavus client's worst case with retries, so a slow create is never taken for a crash.
        self._stalled_after = stalled_after

    def claim_received(self) -> list[ReplicaRequest]:
        """Requests a crash left "received": acked and never checked (the caller checks them again, as
        drafts: it knows how to fetch an uploaded photo from Slack and where to answer), or checked and
        answered, with their next gate to take (`SubmissionService.proceed`)."""
        ids = leases.claim_stalled_submissions(
            self._engine, owner=self._owner, older_than=self._stalled_after, status=RequestStatus.RECEIVED
        )
        requests = replica_requests.get_many(self._engine, ids)
        for request in requests:
            done = "was answered" if request.checked_at else "was acked but never checked"
            log.info("request %s %s before a restart; going on with it now", request.id, done)
        return requests

    def give_up(self, draft: ReplicaDraft, error: SubmitError) -> None:
        """A received request that cannot be processed: stop resuming it, keeping why."""
        if draft.received_id is not None:
            self._lifecycle.give_up(draft.received_id, error)

    def reconcile(self) -> int:
        """Finish requests a crash left in "submitting". Tavus has no idempotency key, so look for a replica
        it created for us (same name, created after our row) before submitting again: never a second run."""
        ids = leases.claim_stalled_submissions(
            self._engine, owner=self._owner, older_than=self._stalled_after
        )
        if not ids:
            return 0
        try:
            recent = self._tavus.list_replicas(limit=100)
        except TavusError as exc:
            log.warning("cannot reconcile %s stalled submissions yet: %s", len(ids), exc)
            return 0
        requests = replica_requests.get_many(self._engine, ids)
        taken = replica_requests.known_replica_ids(self._engine, [r.replica_id for r in recent])
        for request in requests:
            match = _made_for(request, recent, taken)
            if match is not None:
                taken.add(match.replica_id)
                replica_id = match.replica_id
                log.info("request %s: adopting replica %s Tavus made before a crash", request.id, replica_id)
                self._submission.adopt(request, replica_id)
                continue
            log.info("request %s never reached Tavus before a crash; submitting it now", request.id)
            try:
                self._submission.send_to_tavus(request)
            except SubmissionFailed as failed:
                # Recorded as submit_failed; the requester sees it in their list and App Home.
                log.warning("request %s could not be submitted after a restart: %s", request.id, failed)
        return len(requests)


def _made_for(request: ReplicaRequest, recent: list[Replica], taken: set[str]) -> Replica | None:
    """The oldest replica Tavus made that fits this request and no other request has."""
    candidates = sorted(recent, key=lambda r: r.created_at or request.created_at)
    for replica in candidates:
        if (
            replica.replica_id not in taken
            and replica.replica_name == request.replica_name
            and (replica.created_at is None or replica.created_at >= request.created_at - _CLOCK_SKEW)
        ):
            return replica
    return None

"""`/replica delete <replica_id>`: remove a replica in Tavus, but never so soon after a training error that
the credit refund cannot register."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.access import Access
from bot.tavus import TavusClient, TavusError, TavusNotFound
from storage import repository
from storage.db import session_scope
from storage.models import RequestStatus, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeletionOutcome:
    deleted: bool
    message: str


class DeletionService:
    def __init__(self, engine: Engine, tavus: TavusClient, access: Access) -> None:
        self._engine = engine
        self._tavus = tavus
        self._access = access

    def delete(self, replica_id: str, user_id: str, channel_id: str) -> DeletionOutcome:
        with session_scope(self._engine) as session:
            request = repository.find_by_replica_id(session, replica_id)
        if request is None or not self._access.can_see(request, user_id, channel_id):
            return DeletionOutcome(
                False, f"I have no request for replica `{replica_id}` that you can see here."
            )
        if not self._access.can_manage(request, user_id):
            return DeletionOutcome(
                False, "Only the person who asked for this replica, or an admin, can delete it."
            )
        if request.status == RequestStatus.DELETED:
            return DeletionOutcome(False, f"Replica `{replica_id}` is already deleted.")
        wait = self._access.delete_blocked_for(request)
        if wait is not None:
            minutes = max(1, round(wait.total_seconds() / 60))
            return DeletionOutcome(
                False,
                f"Not yet: replica `{replica_id}` failed only recently. A failed run costs no credit, but "
                "deleting it right after the error can stop the refund from registering. Please try again "
                f"in {minutes} min.",
            )
        try:
            self._tavus.delete_replica(replica_id)
        except TavusNotFound:
            log.info("replica %s was already gone in Tavus", replica_id)
        except TavusError as exc:
            log.warning("deleting replica %s failed: %s", replica_id, exc)
            return DeletionOutcome(
                False, "Tavus did not answer the deletion. Nothing changed; please try again."
            )
        now = utcnow()
        with session_scope(self._engine) as session:
            stored = repository.find_by_replica_id(session, replica_id)
            if stored is not None:
                stored.status = RequestStatus.DELETED
                stored.deleted_by, stored.deleted_at = user_id, now
                stored.finished_at = stored.finished_at or now
                stored.updated_at = now
                session.add(stored)
                session.flush()
                repository.arm_card(session, stored)
        return DeletionOutcome(True, f"Deleted replica `{replica_id}` in Tavus.")

"""`/replica delete <replica_id>`: remove a replica in Tavus, but never so soon after a training error that
the credit refund cannot register."""

from __future__ import annotations

import logging

from bot.domain.access import Access
from bot.domain.errors import (
    Action,
    AlreadyDeleted,
    DeleteTooSoon,
    DeletionNotConfirmed,
    NotPermitted,
    ReplicaNotVisible,
)
from bot.domain.lifecycle import Lifecycle
from bot.domain.transitions import DELETE
from bot.tavus import TavusClient, TavusError, TavusNotFound
from storage.db import Engine
from storage.models import ReplicaRequest, RequestStatus
from storage.repository import replica_requests

log = logging.getLogger(__name__)


class DeletionService:
    def __init__(self, engine: Engine, lifecycle: Lifecycle, tavus: TavusClient, access: Access) -> None:
        self._engine = engine
        self._lifecycle = lifecycle
        self._tavus = tavus
        self._access = access

    def delete(self, replica_id: str, user_id: str, channel_id: str) -> ReplicaRequest:
        """Delete the replica in Tavus and mark its request deleted (the card follows); the request.
        Raises the refusal that says why not, with nothing changed."""
        request = replica_requests.find_by_replica_id(self._engine, replica_id)
        if request is None or not self._access.can_see(request, user_id, channel_id):
            raise ReplicaNotVisible(replica_id)
        if not self._access.can_manage(request, user_id):
            raise NotPermitted(Action.DELETE, request.requester_id, request.replica_name)
        if request.status == RequestStatus.DELETED or request.status not in DELETE.sources:
            raise AlreadyDeleted(replica_id)
        wait = self._access.delete_blocked_for(request)
        if wait is not None:
            raise DeleteTooSoon(replica_id, wait)
        try:
            self._tavus.delete_replica(replica_id)
        except TavusNotFound:
            log.info("replica %s was already gone in Tavus", replica_id)
        except TavusError as exc:
            log.warning("deleting replica %s failed: %s", replica_id, exc)
            raise DeletionNotConfirmed() from None
        assert request.id is not None
        deleted = self._lifecycle.delete(request.id, user_id, finished_at=request.finished_at)
        return deleted or request

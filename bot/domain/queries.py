"""Read-only questions about requests: `/replica status` and `/replica list`."""

from __future__ import annotations

from bot.domain.access import Access
from bot.domain.errors import ReplicaNotVisible
from storage.db import Engine
from storage.models import ReplicaRequest
from storage.repository import replica_requests

RECENT = 10


class RequestQueries:
    def __init__(self, engine: Engine, access: Access) -> None:
        self._engine = engine
        self._access = access

    def visible(self, replica_id: str, user_id: str, channel_id: str) -> ReplicaRequest:
        """The request for this replica, if this person may see it here; else ReplicaNotVisible."""
        request = replica_requests.find_by_replica_id(self._engine, replica_id)
        if request is None or not self._access.can_see(request, user_id, channel_id):
            raise ReplicaNotVisible(replica_id)
        return request

    def recent_for(self, user_id: str) -> list[ReplicaRequest]:
        return replica_requests.recent(self._engine, requester_id=user_id, limit=RECENT)

"""Who may do what, where. Slack-free: the listeners ask, and say no politely."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.settings import Settings
from storage.models import ReplicaRequest, RequestStatus, utcnow


@dataclass(frozen=True)
class Access:
    settings: Settings

    def channel_allowed(self, channel_id: str) -> bool:
        return self.settings.channel_allowed(channel_id)

    def where_allowed(self) -> str:
        channels = ", ".join(f"<#{c}>" for c in self.settings.allowed_channel_ids)
        return f"I only take replica requests in {channels}. Please ask there."

    def can_see(self, request: ReplicaRequest, user_id: str, channel_id: str) -> bool:
        """Your own requests anywhere; someone else's only where they were made, unless you are an admin."""
        return (
            request.requester_id == user_id
            or request.channel_id == channel_id
            or self.settings.is_admin(user_id)
        )

    def can_manage(self, request: ReplicaRequest, user_id: str) -> bool:
        """Delete or retry: the requester or an admin."""
        return request.requester_id == user_id or self.settings.is_admin(user_id)

    def delete_blocked_for(self, request: ReplicaRequest) -> timedelta | None:
        """How much longer a failed replica must be kept so its credit refund can register, if at all."""
        if request.status != RequestStatus.FAILED or request.finished_at is None:
            return None
        remaining = request.finished_at + timedelta(minutes=self.settings.delete_grace_minutes) - utcnow()
        return remaining if remaining > timedelta(0) else None

"""Who may do what, where: the listeners ask before acting, and the renderer says no politely."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.errors import ChannelNotAllowed
from storage.models import ReplicaRequest, RequestStatus, utcnow


@dataclass(frozen=True)
class Access:
    # Channels where requests are taken; empty means everywhere.
    allowed_channels: tuple[str, ...] = ()
    # May see, delete and retry anyone's requests.
    admins: tuple[str, ...] = ()
    # How long a failed replica is kept before it may be deleted, so its credit refund can register.
    delete_grace: timedelta = timedelta(minutes=60)

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    def channel_allowed(self, channel_id: str) -> bool:
        return not self.allowed_channels or channel_id in self.allowed_channels

    def require_channel(self, channel_id: str) -> None:
        """Raise ChannelNotAllowed unless requests are taken in this channel."""
        if not self.channel_allowed(channel_id):
            raise ChannelNotAllowed(self.allowed_channels)

    def can_see(self, request: ReplicaRequest, user_id: str, channel_id: str) -> bool:
        """Your own requests anywhere; someone else's only where they were made, unless you are an admin."""
        return request.requester_id == user_id or request.channel_id == channel_id or self.is_admin(user_id)

    def can_manage(self, request: ReplicaRequest, user_id: str) -> bool:
        """Delete or retry: the requester or an admin."""
        return request.requester_id == user_id or self.is_admin(user_id)

    def delete_blocked_for(self, request: ReplicaRequest) -> timedelta | None:
        """How much longer a failed replica must be kept so its credit refund can register, if at all."""
        if request.status != RequestStatus.FAILED or request.finished_at is None:
            return None
        remaining = request.finished_at + self.delete_grace - utcnow()
        return remaining if remaining > timedelta(0) else None

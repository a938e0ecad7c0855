"""Messages addressed to someone other than the request's own thread: the DM asking the colleague in the
photo, and each approver's message (or the one post in the approvals channel). Each is posted once, where
its recipient reads it, and edited in place when the request changes (the answer, an expiry, a
withdrawal), like the request card.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial

from slack_sdk import WebClient

from bot.domain.catalogue import Catalogue
from bot.slack import render
from bot.slack.exactly_once import OncePoster
from bot.slack.pacing import OPEN, UPDATE, PacedCalls
from storage.models import OutboxMessage, ReplicaRequest

log = logging.getLogger(__name__)


def is_user(recipient: str) -> bool:
    return recipient[:1] in ("U", "W")


class DirectMessages:
    """The bot's DM channel with each person, opened once (conversations.open, within its budget)."""

    def __init__(self, client: WebClient, calls: PacedCalls) -> None:
        self._client = client
        self._calls = calls
        self._channels: dict[str, str] = {}
        self._lock = threading.Lock()

    def channel(self, user_id: str, team: str | None) -> str:
        with self._lock:
            known = self._channels.get(user_id)
        if known is not None:
            return known
        response = self._calls.call(
            OPEN, team, lambda: self._client.conversations_open(users=user_id), wait_up_to=1.0
        )
        channel = str(response["channel"]["id"])
        with self._lock:
            self._channels[user_id] = channel
        return channel


class AddressedMessages:
    def __init__(
        self,
        client: WebClient,
        calls: PacedCalls,
        poster: OncePoster,
        dms: DirectMessages,
        catalogue: Catalogue,
        *,
        record: Callable[[OutboxMessage, str | None, str | None], None],
    ) -> None:
        """`record(row, ts, channel)` marks a row delivered, remembering where it was posted."""
        self._client = client
        self._calls = calls
        self._poster = poster
        self._dms = dms
        self._catalogue = catalogue
        self._record = record

    def deliver(self, row: OutboxMessage, request: ReplicaRequest) -> None:
        """Post the row where its recipient reads it, or edit it there if it was posted before."""
        assert row.recipient is not None
        message = render.addressed_message(row.kind, request, self._catalogue)
        team = request.team_id
        if row.slack_ts and row.posted_channel_id:
            self._poster.renew(row)
            edit = partial(
                self._client.chat_update,
                channel=row.posted_channel_id,
                ts=row.slack_ts,
                text=message.text,
                blocks=message.blocks,
            )
            self._calls.call(UPDATE, team, edit)
            self._record(row, row.slack_ts, row.posted_channel_id)
            return
        recipient = row.recipient
        channel = self._dms.channel(recipient, team) if is_user(recipient) else recipient
        ts = self._poster.post(row, channel, message, thread_ts=None, team=team)
        self._record(row, ts, channel)

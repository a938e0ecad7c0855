"""Posting an outbox row to Slack exactly once, although `chat.postMessage` has no idempotency key.

Each post carries the outbox id in its message metadata, and an attempt is counted before Slack is
called. If a later attempt finds that an earlier one may have reached Slack (a crash between Slack's
answer and our commit), it looks for that metadata in the channel or thread before posting again.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.slack.ids import METADATA_EVENT
from bot.slack.render import Message
from storage.db import Engine
from storage.models import OutboxMessage
from storage.repository import leases

log = logging.getLogger(__name__)


class LostLease(Exception):
    """Another worker owns the row now; leave it to them."""


class OncePoster:
    def __init__(self, engine: Engine, client: WebClient, *, owner: str, lease_seconds: float) -> None:
        self._engine = engine
        self._client = client
        self._owner = owner
        self._lease_seconds = lease_seconds

    def post(self, row: OutboxMessage, channel: str, message: Message, *, thread_ts: str | None) -> str:
        """Post `row` (rendered as `message`) unless an earlier attempt already did; the post's ts."""
        assert row.id is not None
        if row.attempts > 0:
            earlier = self._find_posted(row, channel, thread_ts)
            if earlier is not None:
                log.info("outbox %s was already posted as %s; not posting again", row.id, earlier)
                return earlier
        attempts = leases.start_outbox_attempt(
            self._engine, row.id, owner=self._owner, lease_seconds=self._lease_seconds
        )
        if attempts is None:
            raise LostLease
        row.attempts = attempts
        response = self._client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"outbox_id": row.id}},
        )
        return str(response["ts"])

    def renew(self, row: OutboxMessage) -> None:
        """Extend our lease before editing a message (an edit needs no attempt count: it is idempotent)."""
        assert row.id is not None
        if not leases.renew_outbox_lease(
            self._engine, row.id, owner=self._owner, lease_seconds=self._lease_seconds
        ):
            raise LostLease

    def _find_posted(self, row: OutboxMessage, channel: str, thread_ts: str | None) -> str | None:
        try:
            if thread_ts:
                response = self._client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            else:
                oldest = f"{row.created_at.timestamp() - 60:.6f}"
                response = self._client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=200
                )
        except SlackClientError as exc:
            log.warning("could not check whether outbox %s was posted: %s", row.id, exc)
            return None
        messages: list[dict[str, Any]] = response.get("messages") or []
        for message in messages:
            metadata: dict[str, Any] = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("outbox_id") == row.id:
                return str(message["ts"])
        return None

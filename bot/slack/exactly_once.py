"""Posting an outbox row to Slack exactly once, although `chat.postMessage` has no idempotency key.

Each post carries the outbox id in its message metadata, and an attempt is counted (with its time) before
Slack is called. An attempt Slack answered with an error did not land, so it is uncounted again. If a
later attempt finds that an earlier one may have reached Slack (a crash between Slack's answer and our
commit), it reads the thread or channel around the earlier attempt's time before posting again.

Those reads may be rationed to one a minute (commercially distributed apps outside the Marketplace), so
a row that needs one and cannot have it now waits (`NotNow`): it is never posted without the read. One
read serves every uncertain row of the same thread or channel whose attempt it covers, so a crash that
left many rows uncertain costs one read per thread, not one per row.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.ids import METADATA_EVENT
from bot.slack.pacing import HISTORY, POST, REPLIES, NotNow, PacedCalls
from bot.slack.render import Message
from storage.db import Engine
from storage.models import OutboxMessage
from storage.repository import leases

log = logging.getLogger(__name__)

# An attempt may still be on its way to Slack until the client gives up on it (its timeout), so a read
# taken sooner could miss it.
SETTLE_SECONDS = 11.0
# Clocks differ between us and Slack; reads start this long before the attempt.
CLOCK_MARGIN = timedelta(seconds=10)
# Pages of one read, at most (each page is a call against the budget).
_MAX_PAGES = 5
_CACHE_SIZE = 500


class LostLease(Exception):
    """Another worker owns the row now; leave it to them."""


@dataclass
class _Read:
    """What one read of a thread (or a channel's top level) found, from `oldest` on."""

    fetched_at: float
    oldest: float
    found: dict[int, str]
    # False when the read stopped before its last page.
    complete: bool = True


class OncePoster:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        *,
        owner: str,
        lease_seconds: float,
        calls: PacedCalls | None = None,
        inline_wait: float = 2.0,
    ) -> None:
        self._engine = engine
        self._client = client
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._calls = calls or PacedCalls(None)
        self._inline_wait = inline_wait
        self._reads: dict[tuple[str, str | None], _Read] = {}
        self._reads_lock = threading.Lock()

    def post(
        self, row: OutboxMessage, channel: str, message: Message, *, thread_ts: str | None, team: str | None
    ) -> str:
        """Post `row` (rendered as `message`) unless an earlier attempt already did; the post's ts.
        Raises `NotNow` when a budget says wait (nothing was posted)."""
        assert row.id is not None
        if row.attempts > 0:
            earlier = self._find_posted(row, channel, thread_ts, team)
            if earlier is not None:
                log.info("outbox %s was already posted as %s; not posting again", row.id, earlier)
                return earlier
        response = self._calls.call(
            POST,
            team,
            lambda: self._send(row, channel, message, thread_ts),
            channel=channel,
            wait_up_to=self._inline_wait,
        )
        return str(response["ts"])

    def _send(self, row: OutboxMessage, channel: str, message: Message, thread_ts: str | None) -> Any:
        assert row.id is not None
        attempts = leases.start_outbox_attempt(
            self._engine, row.id, owner=self._owner, lease_seconds=self._lease_seconds
        )
        if attempts is None:
            raise LostLease
        row.attempts = attempts
        try:
            return self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"outbox_id": row.id}},
            )
        except SlackApiError as exc:
            # Slack answered no (a 4xx, or ok: false): nothing was posted, so the next attempt has nothing
            # to look for. A 5xx may have come after the post was made: that attempt stays counted.
            if exc.response is None or exc.response.status_code < 500:
                leases.forget_outbox_attempt(self._engine, row.id, owner=self._owner)
                row.attempts -= 1
            raise

    def renew(self, row: OutboxMessage) -> None:
        """Extend our lease before editing a message (an edit needs no attempt count: it is idempotent)."""
        assert row.id is not None
        if not leases.renew_outbox_lease(
            self._engine, row.id, owner=self._owner, lease_seconds=self._lease_seconds
        ):
            raise LostLease

    # --- was it posted already? -------------------------------------------------------------------------

    def _find_posted(
        self, row: OutboxMessage, channel: str, thread_ts: str | None, team: str | None
    ) -> str | None:
        assert row.id is not None
        attempted = row.attempted_at or row.created_at
        settled = attempted.timestamp() + SETTLE_SECONDS
        if time.time() < settled:
            raise NotNow(settled - time.time())
        oldest = (attempted - CLOCK_MARGIN).timestamp()
        key = (channel, thread_ts)
        with self._reads_lock:
            read = self._reads.get(key)
        if read is None or read.fetched_at < settled or read.oldest > oldest:
            read = self._read(channel, thread_ts, oldest, team)
            if read.complete:
                with self._reads_lock:
                    if len(self._reads) >= _CACHE_SIZE:
                        self._reads.clear()
                    self._reads[key] = read
        if row.id not in read.found and not read.complete:
            # Not seen, but not everything was read: posting now could post twice.
            raise NotNow(60.0)
        return read.found.get(row.id)

    def _read(self, channel: str, thread_ts: str | None, oldest: float, team: str | None) -> _Read:
        """Every post of ours in the thread (or the channel's top level) since `oldest`, by outbox id."""
        fetched_at = time.time()
        method = REPLIES if thread_ts else HISTORY
        limit = self._calls.pacer.read_limit if self._calls.pacer is not None else 200
        found: dict[int, str] = {}
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {
                "channel": channel,
                "oldest": f"{oldest:.6f}",
                "include_all_metadata": True,
                "limit": limit,
            }
            if cursor:
                params["cursor"] = cursor
            if thread_ts:
                read = partial(self._client.conversations_replies, ts=thread_ts, **params)
            else:
                read = partial(self._client.conversations_history, **params)
            response = self._calls.call(method, team, read)
            for message in response.get("messages") or []:
                metadata: dict[str, Any] = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT and isinstance(payload.get("outbox_id"), int):
                    found[payload["outbox_id"]] = str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or not cursor:
                return _Read(fetched_at, oldest, found)
        return _Read(fetched_at, oldest, found, complete=False)

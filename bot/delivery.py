"""Delivering the outbox to Slack: the request card, and failure/completion posts in its thread.

chat.postMessage has no idempotency key. Each post carries the outbox id in its message metadata, and an
attempt is recorded before Slack is called; if a later attempt finds an earlier one may have reached Slack
(a crash between Slack's answer and our commit), it looks for that metadata before posting again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import Engine

from bot import messages
from bot.catalogue import Catalogue
from storage import repository
from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, utcnow

log = logging.getLogger(__name__)

METADATA_EVENT = "replica_bot_notification"
MAX_ATTEMPTS = 20
MAX_BACKOFF_SECONDS = 300
# Errors Slack will keep giving for this channel, however often we retry.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "restricted_action",
        "cant_update_message",
        "message_not_found",
        "invalid_arguments",
    }
)


class _LostLease(Exception):
    """Another worker owns the row now; leave it to them."""


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        catalogue: Catalogue,
        *,
        owner: str,
        lease_seconds: float = 30,
        batch_size: int = 50,
    ) -> None:
        self._engine = engine
        self._client = client
        self._catalogue = catalogue
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._batch_size = batch_size

    def deliver_due(self) -> int:
        """Deliver every due notification; returns how many were handled."""
        handled = 0
        while ids := repository.claim_due_outbox(
            self._engine, owner=self._owner, limit=self._batch_size, lease_seconds=self._lease_seconds
        ):
            with session_scope(self._engine) as session:
                kinds = {row.id: row.kind for row in (session.get(OutboxMessage, i) for i in ids) if row}
            # Cards first: a thread post needs the card's ts.
            for outbox_id in sorted(ids, key=lambda i: (kinds.get(i) != OutboxKind.CARD, i)):
                self._deliver_safely(outbox_id)
            handled += len(ids)
        return handled

    def _deliver_safely(self, outbox_id: int) -> None:
        try:
            self._deliver(outbox_id)
        except _LostLease:
            log.info("outbox %s taken over by another worker", outbox_id)
        except SlackApiError as exc:
            self._failed(
                outbox_id, exc.response.get("error") or str(exc.response.status_code), _retry_after(exc)
            )
        except (SlackClientError, OSError) as exc:
            self._failed(outbox_id, type(exc).__name__, None)
        except Exception:
            log.exception("delivering outbox %s failed", outbox_id)
            self._failed(outbox_id, "internal_error", None)

    def _deliver(self, outbox_id: int) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, outbox_id)
            request = session.get(ReplicaRequest, row.request_id) if row else None
        if (
            row is None
            or request is None
            or row.status != OutboxStatus.PENDING
            or row.lease_owner != self._owner
        ):
            return
        channel = request.card_channel_id or request.channel_id
        if row.kind == OutboxKind.CARD:
            card = messages.request_card(request)
            if request.card_ts:
                self._renew(row)
                self._client.chat_update(
                    channel=channel, ts=request.card_ts, text=card.text, blocks=card.blocks
                )
                self._record_card(row, request, channel, request.card_ts)
            else:
                # Uploads are answered in the upload's thread; commands start a thread under the card.
                ts = self._post_once(row, channel, card, thread_ts=request.thread_ts)
                self._record_card(row, request, channel, ts)
            return
        if request.card_ts is None:
            # The card has not reached Slack yet; the thread post has to wait for it.
            self._defer(outbox_id, seconds=2)
            return
        if row.kind == OutboxKind.FAILURE:
            message = messages.failure_post(
                request, self._catalogue.explain(request.error_message), self._catalogue
            )
        else:
            message = messages.completion_post(request)
        ts = self._post_once(row, channel, message, thread_ts=request.thread_ts or request.card_ts)
        self._record_sent(row.id, ts, row.version)  # type: ignore[arg-type]

    def _post_once(
        self, row: OutboxMessage, channel: str, message: messages.Message, *, thread_ts: str | None
    ) -> str:
        if row.attempts > 0:
            earlier = self._find_posted(row, channel, thread_ts)
            if earlier is not None:
                log.info("outbox %s was already posted as %s; not posting again", row.id, earlier)
                return earlier
        self._renew(row)
        with session_scope(self._engine) as session:
            stored = session.get(OutboxMessage, row.id)
            assert stored is not None
            stored.attempts += 1
            row.attempts = stored.attempts
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
        for message in response.get("messages", []):
            metadata: dict[str, Any] = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("outbox_id") == row.id:
                return str(message["ts"])
        return None

    def _renew(self, row: OutboxMessage) -> None:
        if not repository.renew_outbox_lease(
            self._engine,
            row.id,
            owner=self._owner,
            lease_seconds=self._lease_seconds,  # type: ignore[arg-type]
        ):
            raise _LostLease

    def _record_card(self, row: OutboxMessage, request: ReplicaRequest, channel: str, ts: str) -> None:
        with session_scope(self._engine) as session:
            stored_request = session.get(ReplicaRequest, request.id)
            if stored_request is not None and stored_request.card_ts is None:
                stored_request.card_ts = ts
                stored_request.card_channel_id = channel
                session.add(stored_request)
        self._record_sent(row.id, ts, row.version)  # type: ignore[arg-type]

    def _record_sent(self, outbox_id: int, ts: str, rendered_version: int) -> None:
        now = utcnow()
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                return
            row.slack_ts = row.slack_ts or ts
            row.delivered_version = rendered_version
            row.lease_owner = row.lease_until = None
            # A change that arrived while we were posting re-armed the row; deliver it next pass.
            if row.version == rendered_version:
                row.status = OutboxStatus.SENT
                row.sent_at = now
            else:
                row.next_attempt_at = now
            row.last_error = None
            session.add(row)

    def _defer(self, outbox_id: int, *, seconds: float) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is not None:
                row.next_attempt_at = utcnow() + timedelta(seconds=seconds)
                row.lease_owner = row.lease_until = None
                session.add(row)

    def _failed(self, outbox_id: int, error: str, retry_after: float | None) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                return
            row.last_error = error
            row.lease_owner = row.lease_until = None
            row.failures += 1
            if error in PERMANENT_ERRORS or row.failures >= MAX_ATTEMPTS:
                row.status = OutboxStatus.DEAD
                log.error(
                    "outbox %s (%s for request %s) cannot be delivered: %s",
                    row.id,
                    row.kind,
                    row.request_id,
                    error,
                )
            else:
                delay = retry_after if retry_after is not None else min(2**row.failures, MAX_BACKOFF_SECONDS)
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                log.warning("outbox %s not delivered (%s); retrying in %.0f s", row.id, error, delay)
            session.add(row)


def _retry_after(exc: SlackApiError) -> float | None:
    value = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return float(value[0] if isinstance(value, list) else value) if value else None
    except ValueError:
        return None

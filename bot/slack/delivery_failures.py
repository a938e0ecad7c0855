"""What to do when Slack refuses an outbox row: try again later (with its Retry-After, or backing off),
take it to the requester's DM (the channel refused it for good), or give up on it and say so in the log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from storage.db import Engine
from storage.models import OutboxKind, OutboxMessage, utcnow
from storage.repository import outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
MAX_BACKOFF_SECONDS = 300
# Errors Slack will keep giving, however often we retry (PERMANENT_ERRORS); of those, the ones about the
# channel rather than the message (FALLBACK_ERRORS): the requester's DM can still take it.
FALLBACK_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "restricted_action", "cant_update_message",
    "message_not_found",
})
PERMANENT_ERRORS = FALLBACK_ERRORS | {
    "msg_too_long", "invalid_blocks", "no_text", "invalid_arguments",
    # conversations.open for someone's DM
    "user_not_found", "user_disabled", "user_not_visible", "cannot_dm_bot",
}


def failed(
    engine: Engine,
    outbox_id: int,
    error: str,
    retry_after: float | None,
    *,
    on_unreachable: Callable[[int, str], None],
) -> None:
    """An attempt at `outbox_id` failed with `error`. `on_unreachable(request_id, error)`: the DM asking
    the colleague in the photo cannot be sent."""
    row = outbox.get(engine, outbox_id)
    if row is None:
        return
    failures = row.failures + 1
    what = f"outbox {row.id} ({row.kind} for request {row.request_id})"
    addressed = row.recipient is not None
    if addressed and (error in PERMANENT_ERRORS or failures >= MAX_ATTEMPTS):
        # Nobody else can read a message meant for this person: the requester is told whom to ask.
        outbox.record_failure(engine, outbox_id, error=error, dead=True)
        log.warning("%s cannot reach %s: %s", what, row.recipient, error)
        if row.kind == OutboxKind.CONSENT_ASK and row.request_id is not None:
            on_unreachable(row.request_id, error)
    elif error in FALLBACK_ERRORS and row.fallback_reason is None and _channel_post(row):
        # Never again in this channel: the next pass takes it to the requester's DM.
        outbox.record_failure(engine, outbox_id, error=error, fall_back=True)
        log.warning("%s: the channel refused it (%s); sending it to the requester's DM", what, error)
    elif error in PERMANENT_ERRORS or failures >= MAX_ATTEMPTS:
        outbox.record_failure(engine, outbox_id, error=error, dead=True)
        log.error("%s cannot be delivered: %s", what, error)
    else:
        delay = retry_after if retry_after is not None else min(2**failures, MAX_BACKOFF_SECONDS)
        retry_at = utcnow() + timedelta(seconds=delay)
        outbox.record_failure(engine, outbox_id, error=error, retry_at=retry_at)
        log.warning("outbox %s not delivered (%s); retrying in %.0f s", row.id, error, delay)


def _channel_post(row: OutboxMessage) -> bool:
    """A post into the request's (or batch's) channel or thread (not a DM), which its requester's DM can
    take instead."""
    return row.kind not in (OutboxKind.REQUESTER_DM, OutboxKind.BATCH_DM) and row.recipient is None

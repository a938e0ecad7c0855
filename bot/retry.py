"""Retrying a failed request with a new photo: who may, and what the retry starts from.

The retry itself is an ordinary new request made through the upload form, prefilled with the failed
request's name and voice and carrying `retry_of`, so its card links back to the one that failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot import messages
from bot.access import Access
from storage.db import session_scope
from storage.models import ReplicaRequest, RequestStatus

NOT_FOUND = "I can't find that request any more."


@dataclass(frozen=True)
class RetryPlan:
    request_id: int
    replica_name: str
    voice_name: str | None
    # Where the new card goes: where the failed one was (its thread, for a request made by upload).
    channel_id: str
    thread_ts: str | None


def plan_retry(engine: Engine, access: Access, value: str, user_id: str) -> RetryPlan | str:
    """What to prefill the form with, or why this person cannot retry this request."""
    try:
        request_id = int(value)
    except (TypeError, ValueError):
        return NOT_FOUND
    with session_scope(engine) as session:
        request = session.get(ReplicaRequest, request_id)
    if request is None:
        return NOT_FOUND
    if not access.can_manage(request, user_id):
        return (
            f"Only <@{request.requester_id}>, who asked for *{messages.escape(request.replica_name)}*, "
            "or an admin can retry it."
        )
    if request.status not in messages.RETRYABLE:
        state = "is ready" if request.status == RequestStatus.COMPLETED else "has not failed"
        return f"*{messages.escape(request.replica_name)}* {state}, so there is nothing to retry."
    # A card that moved to the requester's DM (its channel refused it) is retried there, not in the channel.
    moved = request.card_channel_id is not None and request.card_channel_id != request.channel_id
    return RetryPlan(
        request_id=request_id,
        replica_name=request.replica_name,
        voice_name=request.voice_name,
        channel_id=request.card_channel_id if moved and request.card_channel_id else request.channel_id,
        thread_ts=None if moved else request.thread_ts,
    )

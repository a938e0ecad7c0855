"""Retrying a failed request with a new photo or video: who may, and what the retry starts from.

The retry itself is an ordinary new request made through a form, prefilled with the failed request's name
and voice and carrying `retry_of`, so its card links back to the one that failed. A request trained from a
video is retried with a video: whatever Tavus said about it, a new recording (or a fixed file at a new
link) is what the next run needs, so the plan says so and carries the consent video given last time.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.access import Access
from bot.domain.errors import Action, NothingToRetry, NotPermitted, RequestGone
from storage.db import Engine
from storage.models import ReplicaRequest, RequestStatus
from storage.repository import replica_requests

# What can be retried: a training run that failed, or a request that never reached training.
RETRYABLE = (RequestStatus.FAILED, RequestStatus.SUBMIT_FAILED)


@dataclass(frozen=True)
class RetryPlan:
    request_id: int
    replica_name: str
    voice_name: str | None
    # Where the new card goes: where the failed one was (its thread, for a request made by upload).
    channel_id: str
    thread_ts: str | None
    # Set for a request trained from a video: the retry asks for a new one.
    video: bool = False
    consent_url: str | None = None
    error_code: str | None = None


class Resubmission:
    def __init__(self, engine: Engine, access: Access) -> None:
        self._engine = engine
        self._access = access

    def plan(self, value: str, user_id: str) -> RetryPlan:
        """What to prefill the form with for the request `value` names; raises the refusal that says why
        this person cannot retry it."""
        request = managed_request(self._engine, self._access, value, user_id, Action.RETRY)
        assert request.id is not None  # a stored row
        if request.status not in RETRYABLE:
            raise NothingToRetry(request.replica_name, completed=request.status == RequestStatus.COMPLETED)
        # A card that moved to the requester's DM (its channel refused it) is retried there, not in the
        # channel.
        moved = request.card_channel_id is not None and request.card_channel_id != request.channel_id
        video = request.train_video_url is not None
        return RetryPlan(
            request_id=request.id,
            replica_name=request.replica_name,
            voice_name=request.voice_name,
            channel_id=request.card_channel_id if moved and request.card_channel_id else request.channel_id,
            thread_ts=None if moved else request.thread_ts,
            video=video,
            consent_url=request.consent_video_url if video else None,
            # Only the video form says what the last run lacked.
            error_code=request.error_code if video else None,
        )


def managed_request(
    engine: Engine, access: Access, value: str, user_id: str, action: Action
) -> ReplicaRequest:
    """The request a button's `value` names, if this person may manage it; raises the refusal otherwise."""
    try:
        request_id = int(value)
    except (TypeError, ValueError):
        raise RequestGone() from None
    request = replica_requests.get(engine, request_id)
    if request is None:
        raise RequestGone()
    if not access.can_manage(request, user_id):
        raise NotPermitted(action, request.requester_id, request.replica_name)
    return request

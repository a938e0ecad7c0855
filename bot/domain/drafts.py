"""A request's columns made from a draft, and the draft read back from a stored request (to check it again
after a restart)."""

from __future__ import annotations

import secrets
from typing import Any

from bot.domain.requests import ReplicaDraft, Requester
from bot.photos.offline_check import Finding
from bot.tavus.phoenix import normalise_model
from storage.models import Likeness, ReplicaRequest, utcnow


def request_fields(
    draft: ReplicaDraft, train_image_url: str | None = None, findings: tuple[Finding, ...] | None = None
) -> dict[str, Any]:
    """A new request's columns (its status is the lifecycle's to set); every column not named starts empty."""
    affirmed = draft.rights_affirmed
    now = utcnow()
    return {
        "team_id": draft.requester.team_id,
        "channel_id": draft.requester.channel_id,
        "requester_id": draft.requester.user_id,
        "replica_name": draft.replica_name,
        "voice_name": None if draft.video_url else draft.voice_name,
        "source_url": draft.image_url,
        "train_image_url": train_image_url,
        "train_video_url": draft.video_url,
        "consent_video_url": draft.consent_url,
        "thread_ts": draft.thread_ts,
        "slack_file_id": draft.slack_file_id,
        "retry_of": draft.retry_of,
        "rights_affirmed_by": draft.requester.user_id if affirmed else None,
        "rights_affirmed_at": now if affirmed else None,
        "preflight_findings": None if findings is None else ",".join(f.kind for f in findings),
        "model_name": normalise_model(draft.model_name),
        "likeness": draft.likeness,
        "depicted_id": draft.depicted_id,
        "callback_token": secrets.token_urlsafe(32),
        "idempotency_key": secrets.token_hex(16),
        "lease_owner": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
    }


def draft_of(request: ReplicaRequest) -> ReplicaDraft:
    """The draft a stored request was made from, to check and submit it again after a restart."""
    return ReplicaDraft(
        requester=Requester(request.requester_id, request.channel_id, request.team_id),
        replica_name=request.replica_name,
        voice_name=request.voice_name,
        image_url=request.source_url,
        video_url=request.train_video_url,
        consent_url=request.consent_video_url,
        thread_ts=request.thread_ts,
        slack_file_id=request.slack_file_id,
        rights_affirmed=request.rights_affirmed_by is not None,
        retry_of=request.retry_of,
        received_id=request.id,
        model_name=request.model_name,
        likeness=Likeness(request.likeness) if request.likeness else None,
        depicted_id=request.depicted_id,
    )

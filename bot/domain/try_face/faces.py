"""Which face someone means, and whether they may try it out here: the rules every sample video and test
call is asked under before anything is recorded or sent to Tavus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.domain.access import Access
from bot.domain.errors import (
    Action,
    AllowanceUsed,
    FaceNotUsable,
    NotPermitted,
    RequestGone,
    TryFaceOff,
    TryOnlyInChannel,
    UnknownFace,
)
from storage.db import Engine
from storage.job_models import JobKind
from storage.models import ReplicaRequest, RequestStatus
from storage.repository import face_jobs, replica_requests

TryMode = Literal["requester", "everyone", "off"]
# A face people can use: phoenix-4.5's watermarked preview already, and every finished face.
USABLE = (RequestStatus.PREVIEW_READY, RequestStatus.COMPLETED)


@dataclass(frozen=True)
class TryRules:
    """The deployment's choices (from the settings): who may try a face, and what it may cost."""

    # requester: the face's requester and admins; everyone: anyone in its channel; off: nobody.
    mode: TryMode = "requester"
    script_max_chars: int = 400
    videos_per_face: int = 3
    call_seconds: int = 120
    calls_per_face: int = 5
    # `{callback_base_url}/tavus/callback/<token>` goes to Tavus as callback_url, when set.
    callback_base_url: str | None = None

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def callback_url(self, token: str) -> str | None:
        if self.callback_base_url is None:
            return None
        return f"{self.callback_base_url.rstrip('/')}/tavus/callback/{token}"

    def allowance(self, kind: JobKind) -> int:
        return self.videos_per_face if kind == JobKind.VIDEO else self.calls_per_face


class Faces:
    def __init__(self, engine: Engine, access: Access, rules: TryRules) -> None:
        self._engine = engine
        self._access = access
        self._rules = rules

    def by_request(self, request_id: str | int) -> ReplicaRequest:
        """The face a button or a form names (by its request), or RequestGone."""
        try:
            face = replica_requests.get(self._engine, int(request_id))
        except ValueError:
            face = None
        if face is None:
            raise RequestGone()
        return face

    def by_face_id(self, face_id: str) -> ReplicaRequest:
        """The face a command names, if this bot made it; else UnknownFace (and Tavus is not asked)."""
        face = replica_requests.find_by_replica_id(self._engine, face_id.strip().strip("`"))
        if face is None:
            raise UnknownFace(face_id)
        return face

    def check(self, face: ReplicaRequest, user_id: str, channel_id: str | None) -> None:
        """Raise the refusal that says why this person may not try this face from here, if they may not."""
        if not self._rules.enabled:
            raise TryFaceOff()
        if not self._access.can_manage(face, user_id):
            if self._rules.mode == "requester":
                raise NotPermitted(Action.TRY, face.requester_id, face.replica_name)
            if channel_id not in (face.card_channel_id, face.channel_id):
                raise TryOnlyInChannel(face.replica_name, face.card_channel_id or face.channel_id)
        if face.status not in USABLE or face.replica_id is None:
            raise FaceNotUsable(face.replica_name, face.replica_id, face.status)

    def allowance(self, kind: JobKind, user_id: str) -> int | None:
        """How many of `kind` a face may have when this person asks; None (no limit) for admins."""
        return None if self._access.is_admin(user_id) else self._rules.allowance(kind)

    def left(self, face: ReplicaRequest, kind: JobKind, user_id: str) -> int | None:
        """How many more of `kind` the face may have when this person asks (None: no limit). The insert
        checks again, exactly."""
        assert face.id is not None
        allowance = self.allowance(kind, user_id)
        return None if allowance is None else allowance - face_jobs.made(self._engine, face.id, kind)

    def used(self, face: ReplicaRequest, kind: JobKind, made: int) -> AllowanceUsed:
        return AllowanceUsed(kind, face.replica_name, made, self._rules.allowance(kind), self._access.admins)

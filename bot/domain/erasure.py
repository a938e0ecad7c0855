"""Forgetting a person on request, and keeping finished requests only as long as the operator wants.

`forget` removes a person's photos and personal fields (`storage.repository.erasure.PERSONAL_COLUMNS`)
from every request they asked for, and their name from every request they acted on; what remains
counts (statuses, models, error codes, verdicts) but names nobody. A request still in progress is left
alone unless `include_active`: then its face is deleted at Tavus first — never sooner after a training
error than the credit refund needs (`Access.delete_blocked_for`).

`purge` deletes finished requests (their rows, notifications and photos) that ended long enough ago. It
is safe beside running processes: it takes only finished requests with nothing left to say in Slack, in
one transaction per batch that checks that again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.domain.access import Access
from bot.domain.errors import SubmitProblem
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.requests import SubmitError
from bot.domain.transitions import WITHDRAW
from bot.tavus import TavusClient, TavusError, TavusNotFound
from storage.db import Engine
from storage.models import TERMINAL, WAITING_FOR_OTHERS, RequestStatus, utcnow
from storage.repository import batch_erasure, erasure, replica_requests
from storage.repository.erasure import Involvement

log = logging.getLogger(__name__)

_BATCH = 500


class Why(StrEnum):
    """Why a request of the person was left as it was."""

    # Still in progress; `include_active` deletes its face at Tavus and forgets it.
    ACTIVE = "active"
    # Being checked or submitted right now: try again in a few minutes.
    SUBMITTING = "submitting"
    # Failed too recently: deleting its face now could keep the credit refund from registering.
    HELD = "held"
    # Tavus could not delete the face; nothing was forgotten, so nothing is lost track of.
    NOT_DELETED = "not_deleted"


@dataclass(frozen=True)
class Left:
    request_id: int
    replica_id: str | None
    why: Why
    # For HELD: how much longer the refund needs.
    wait: timedelta | None = None


@dataclass(frozen=True)
class Forgotten:
    person: str
    # Requests they asked for whose personal fields and photos were removed.
    requests: int
    # Other requests where only their name (as the one who confirmed, chose or deleted) was removed.
    mentions: int
    photos: int
    faces_deleted: tuple[str, ...]
    left: tuple[Left, ...]


@dataclass(frozen=True)
class Purged:
    requests: int
    photos: int
    # Ended batches whose requests were all purged.
    batches: int = 0


class Erasure:
    def __init__(
        self,
        engine: Engine,
        lifecycle: Lifecycle,
        tavus: TavusClient | None,
        access: Access,
        media: MediaStore | None,
    ) -> None:
        """Without `tavus`, requests in progress can only be left as they are."""
        self._engine = engine
        self._lifecycle = lifecycle
        self._tavus = tavus
        self._access = access
        self._media = media

    def forget(self, person: str, *, include_active: bool = False, by: str = "") -> Forgotten:
        """Remove `person` from every request they asked for or appear in; `by`: who asked (kept as the
        one who deleted a face, until that too is forgotten)."""
        chosen: list[int] = []
        left: list[Left] = []
        faces: list[str] = []
        for involved in erasure.involvements(self._engine, person):
            if not involved.subject:
                continue
            if RequestStatus(involved.status) in TERMINAL:
                chosen.append(involved.request_id)
            elif not include_active or self._tavus is None:
                left.append(Left(involved.request_id, involved.replica_id, Why.ACTIVE))
            elif (stopped := self._stop(involved, person, by)) is None:
                chosen.append(involved.request_id)
                if involved.replica_id is not None:
                    faces.append(involved.replica_id)
            else:
                left.append(stopped)
        photos = self._media.erase(chosen) if self._media is not None and chosen else 0
        done = erasure.erase(self._engine, person, chosen)
        photos += done.photos
        # A batch's rows hold copies of what its requests hold: their face, their name, their link.
        mentions = done.mentions + batch_erasure.forget(self._engine, person)
        log.info(
            "forgot a person: %d requests, %d mentions, %d photos, %d faces at Tavus; %d left",
            done.requests, mentions, photos, len(faces), len(left),
        )
        return Forgotten(person, done.requests, mentions, photos, tuple(faces), tuple(left))

    def _stop(self, involved: Involvement, person: str, by: str) -> Left | None:
        """End a request in progress so it can be forgotten: None when done, else why it was left."""
        status = RequestStatus(involved.status)
        if status == RequestStatus.AWAITING_CONFIRMATION:
            self._lifecycle.set_aside(involved.request_id)
            return None
        if status in WAITING_FOR_OTHERS:
            # Nothing reached Tavus yet: the wait for the colleague's or an approver's answer just ends.
            ended = {"submit_error": SubmitError(SubmitProblem.CANCELLED).stored(), "finished_at": utcnow()}
            self._lifecycle.move(WITHDRAW, involved.request_id, {**ended, "expires_at": None})
            return None
        if status not in (RequestStatus.TRAINING, RequestStatus.PREVIEW_READY) or involved.replica_id is None:
            return Left(involved.request_id, involved.replica_id, Why.SUBMITTING)
        request = replica_requests.get(self._engine, involved.request_id)
        if request is None:
            return None
        wait = self._access.delete_blocked_for(request)
        if wait is not None:
            return Left(involved.request_id, involved.replica_id, Why.HELD, wait)
        assert self._tavus is not None
        try:
            self._tavus.delete_replica(involved.replica_id)
        except TavusNotFound:
            log.info("replica %s was already gone in Tavus", involved.replica_id)
        except TavusError as exc:
            log.warning("deleting replica %s failed: %s", involved.replica_id, exc)
            return Left(involved.request_id, involved.replica_id, Why.NOT_DELETED)
        if self._lifecycle.delete(involved.request_id, by, finished_at=request.finished_at) is None:
            # It moved on meanwhile; whatever it became, its face is gone now.
            log.info("request %s changed while its face was deleted", involved.request_id)
        return None

    def purge(self, older_than: timedelta) -> Purged:
        """Delete finished requests that ended more than `older_than` ago, with their photos."""
        cutoff = utcnow() - older_than
        requests = photos = 0
        after = 0
        while ids := erasure.finished_before(self._engine, cutoff, after=after, limit=_BATCH):
            after = ids[-1]
            photos += self._media.erase(ids) if self._media is not None else 0
            dropped, dropped_photos = erasure.drop_finished(self._engine, ids)
            requests += dropped
            photos += dropped_photos
        batches = batch_erasure.drop_ended(self._engine, cutoff)
        log.info(
            "purged %d finished requests, %d photos and %d batches that ended before %s",
            requests, photos, batches, cutoff,
        )
        return Purged(requests, photos, batches)


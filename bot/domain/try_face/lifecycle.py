"""A sample video's and a test call's lifecycles: every status, every move, and what each move tells the
face's thread. The only place a job's status changes.

Like a request's (`bot.domain.lifecycle`), each move is a row of a transition table and a compare-and-set
in the database (`storage.repository.face_jobs.transition`) that writes its posts (outbox rows for the
face's request, with the job as their subject) in the same transaction: a crash loses neither, two workers
cannot both record it, and each post is queued once. `docs/architecture.md` draws both tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.domain.lifecycle import Poll
from bot.domain.requests import SubmitError
from bot.domain.transitions import Transition
from storage.db import Engine
from storage.job_models import CallStatus, FaceJob, JobKind, VideoStatus
from storage.models import OutboxKind, utcnow
from storage.repository import face_jobs
from storage.repository.face_jobs import Inserted
from storage.repository.outbox import Queued

V = VideoStatus
C = CallStatus
O = OutboxKind  # noqa: E741

ASK_VIDEO = Transition("ask_video", (None,), V.CREATING, "a script is sent, written before Tavus is called")
VIDEO_STARTED = Transition(
    "video_started", (V.CREATING,), V.GENERATING, "Tavus took it: POST /v2/videos", queues=(O.VIDEO_STARTED,)
)
VIDEO_READY = Transition("video_ready", (V.GENERATING,), V.READY, "Tavus says ready", queues=(O.VIDEO_READY,))
VIDEO_FAILED = Transition(
    "video_failed", (V.GENERATING,), V.FAILED, "Tavus says error", queues=(O.VIDEO_FAILED,)
)
VIDEO_DELETED = Transition(
    "video_deleted", (V.GENERATING,), V.DELETED, "Tavus says deleted, or knows it no more",
    queues=(O.VIDEO_DELETED,),
)
VIDEO_REFUSED = Transition(
    "video_refused", (V.CREATING,), V.REFUSED, "Tavus refuses the create with a 4xx", answered=True
)
VIDEO_NOT_MADE = Transition(
    "video_not_made", (V.CREATING,), V.NOT_MADE, "Tavus stays down, or the create fails after a restart",
    queues=(O.VIDEO_NOT_MADE,), answered=True,
)
VIDEO_TRANSITIONS: tuple[Transition[VideoStatus], ...] = (
    ASK_VIDEO, VIDEO_STARTED, VIDEO_READY, VIDEO_FAILED, VIDEO_DELETED, VIDEO_REFUSED, VIDEO_NOT_MADE,
)

ASK_CALL = Transition("ask_call", (None,), C.CREATING, "Talk to it clicked, written before Tavus is called")
# The link to join goes to the person who clicked, privately, in the reply: never into the thread.
CALL_STARTED = Transition(
    "call_started", (C.CREATING,), C.LIVE, "Tavus made the conversation", queues=(O.CALL_STARTED,),
    answered=True,
)
CALL_ENDED = Transition(
    "call_ended", (C.LIVE,), C.ENDED, "Tavus says ended (a callback, a poll) or its time is up",
    queues=(O.CALL_ENDED,),
)
CALL_REFUSED = Transition(
    "call_refused", (C.CREATING,), C.REFUSED, "Tavus refuses with a 4xx: too many conversations at once, …",
    answered=True,
)
CALL_NOT_STARTED = Transition(
    "call_not_started", (C.CREATING,), C.NOT_STARTED, "Tavus stays down, or a restart cut the start short",
    queues=(O.CALL_NOT_STARTED,), answered=True,
)
CALL_TRANSITIONS: tuple[Transition[CallStatus], ...] = (
    ASK_CALL, CALL_STARTED, CALL_ENDED, CALL_REFUSED, CALL_NOT_STARTED,
)

# What a job no longer holds once it ends: its place as the one running, its lease.
_ENDED: dict[str, Any] = {"active_key": None, "lease_owner": None, "lease_until": None}


class JobLifecycle:
    def __init__(self, engine: Engine, *, on_queued: Callable[[], None] = lambda: None) -> None:
        """`on_queued` is called after every move that queued a post."""
        self._engine = engine
        self._on_queued = on_queued

    def ask(self, kind: JobKind, values: Mapping[str, Any], *, allowance: int | None) -> Inserted:
        """Record a job before Tavus is called, within the face's allowance (None: unlimited) and one of
        its `active_key` at a time."""
        first = ASK_VIDEO if kind == JobKind.VIDEO else ASK_CALL
        now = utcnow()
        row = {**values, "kind": str(kind), "status": first.target_status, "created_at": now}
        row["updated_at"] = now
        return face_jobs.insert(self._engine, row, allowance=allowance)

    # --- Tavus took it --------------------------------------------------------------------------------

    def video_started(self, job: FaceJob, video_id: str, *, first_poll_at: datetime) -> FaceJob | None:
        return self._move(VIDEO_STARTED, job, _taken(video_id, first_poll_at))

    def call_started(
        self,
        job: FaceJob,
        conversation_id: str,
        *,
        join_url: str | None,
        ends_at: datetime,
        first_poll_at: datetime,
    ) -> FaceJob | None:
        values = {**_taken(conversation_id, first_poll_at), "join_url": join_url, "ends_at": ends_at}
        return self._move(CALL_STARTED, job, values)

    def not_started(self, job: FaceJob, error: SubmitError, *, refused: bool) -> FaceJob | None:
        """Tavus refused the create (`refused`: a 4xx, told to the clicker only) or could not be reached
        (the thread is told too). Nothing runs, nothing counts against the face's allowance."""
        video = job.kind == JobKind.VIDEO
        if refused:
            transition: Transition[Any] = VIDEO_REFUSED if video else CALL_REFUSED
        else:
            transition = VIDEO_NOT_MADE if video else CALL_NOT_STARTED
        values = {**_ENDED, "create_error": error.stored(), "finished_at": utcnow()}
        return self._move(transition, job, values)

    # --- what a poll (or a callback's re-read) found -------------------------------------------------

    def video_ready(
        self,
        job: FaceJob,
        *,
        video_url: str | None,
        thumbnail_url: str | None,
        details: str | None,
        poll: Poll,
    ) -> bool:
        values = {"video_url": video_url, "thumbnail_url": thumbnail_url, "status_details": details}
        return self._ended(VIDEO_READY, job, poll, values)

    def video_failed(self, job: FaceJob, *, details: str | None, poll: Poll) -> bool:
        return self._ended(VIDEO_FAILED, job, poll, {"status_details": details})

    def video_deleted(self, job: FaceJob, *, poll: Poll) -> bool:
        return self._ended(VIDEO_DELETED, job, poll, {})

    def call_ended(self, job: FaceJob, *, ended_at: datetime, poll: Poll) -> bool:
        # The link is no use once the call is over; nothing keeps it.
        return self._ended(CALL_ENDED, job, poll, {"finished_at": ended_at, "join_url": None})

    # --- the one way a job's status changes -------------------------------------------------------------

    def _ended(
        self, transition: Transition[Any], job: FaceJob, poll: Poll, values: Mapping[str, Any]
    ) -> bool:
        ended = {"finished_at": poll.polled_at, **_ENDED, **poll.values(), **values}
        return self._move(transition, job, ended, release_lease_of=poll.owner) is not None

    def _move(
        self,
        transition: Transition[Any],
        job: FaceJob,
        values: Mapping[str, Any],
        *,
        release_lease_of: str | None = None,
    ) -> FaceJob | None:
        moved = face_jobs.transition(
            self._engine,
            job,
            sources=transition.source_statuses,
            target=transition.target_status,
            values={**values, "updated_at": utcnow()},
            queue=[Queued(kind, subject=job.subject) for kind in transition.queues],
            release_lease_of=release_lease_of,
        )
        if moved is not None and transition.queues:
            self._on_queued()
        return moved


def _taken(tavus_id: str, first_poll_at: datetime) -> dict[str, Any]:
    """Tavus has it: its id, when, the first look; the lease taken for the create (a recovery's) goes."""
    return {
        "tavus_id": tavus_id,
        "started_at": utcnow(),
        "next_poll_at": first_poll_at,
        "lease_owner": None,
        "lease_until": None,
    }

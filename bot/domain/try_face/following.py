"""What sample videos and test calls share as kinds the sweep follows (`bot.domain.sweep`): the lease on
due jobs, the poll pacing of a face's training (`PollSchedule`), callbacks as a fast path that only makes
the bot look again, and what a create Tavus did not take leaves behind."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Generic, TypeVar

from bot.domain.errors import TavusDeclined, submission_failure
from bot.domain.lifecycle import Poll
from bot.domain.requests import SubmitError
from bot.domain.sweep import NoAnswer, poll_one
from bot.domain.tracking import PollSchedule
from bot.domain.try_face.faces import Faces, TryRules
from bot.domain.try_face.lifecycle import JobLifecycle
from bot.tavus import TavusAuthError, TavusError, TavusUnavailable
from bot.tavus.jobs import TavusJobs
from storage.db import Engine
from storage.job_models import FaceJob, JobKind
from storage.models import utcnow
from storage.repository import face_jobs, leases

log = logging.getLogger(__name__)

Answer = TypeVar("Answer")


class FollowedJobs(Generic[Answer]):
    """The jobs of one kind, as the sweep follows them; `fetch` and `record` are each kind's own."""

    name: str
    kind: JobKind
    # The statuses in which Tavus is running it and the bot polls.
    in_flight: tuple[str, ...]

    def __init__(
        self,
        engine: Engine,
        lifecycle: JobLifecycle,
        tavus: TavusJobs,
        faces: Faces,
        rules: TryRules,
        schedule: PollSchedule,
        *,
        owner: str,
        lease_seconds: float = 120,
    ) -> None:
        self._engine = engine
        self._lifecycle = lifecycle
        self._tavus = tavus
        self._faces = faces
        self._rules = rules
        self._schedule = schedule
        self._owner = owner
        self._lease_seconds = lease_seconds

    # --- the sweep ------------------------------------------------------------------------------------

    def claim(self, *, due_by: datetime, limit: int) -> list[FaceJob]:
        ids = leases.claim_due_jobs(
            self._engine, self.kind, self.in_flight, owner=self._owner, due_by=due_by, limit=limit,
            lease_seconds=self._lease_seconds,
        )
        return face_jobs.get_many(self._engine, ids)

    def key(self, job: FaceJob) -> int:
        assert job.id is not None
        return job.id

    def reschedule(self, job: FaceJob) -> None:
        self._unchanged(job, {"next_poll_at": utcnow() + timedelta(seconds=self._schedule.interval)})

    def callback(self, token: str) -> Callable[[], bool] | None:
        """A fresh look at the job this callback token belongs to, if it is one of this kind."""
        job = face_jobs.for_callback(self._engine, token)
        if job is None or job.kind != self.kind or job.id is None:
            return None
        return partial(self.poll_now, job.id)

    def poll_now(self, job_id: int) -> bool:
        """Ask Tavus about one job at once (its callback came); whether that changed it."""
        lease = self._lease_seconds
        if not leases.claim_job(self._engine, job_id, self.in_flight, owner=self._owner, lease_seconds=lease):
            return False
        job = face_jobs.get(self._engine, job_id)
        return job is not None and poll_one(self, job)

    def fetch(self, job: FaceJob) -> Answer | NoAnswer:
        """What Tavus says about the job (each kind asks its own endpoint)."""
        raise NotImplementedError

    def record(self, job: FaceJob, answer: Answer) -> bool:
        """What the answer changes (each kind's own moves)."""
        raise NotImplementedError

    def _poll(self, job: FaceJob, now: datetime, *, until: datetime | None = None) -> Poll:
        """This poll's bookkeeping: the next look, paced like a face's training (and never after `until`)."""
        later = self._schedule.next_poll_at(job.started_at or job.created_at, now)
        return Poll(self._owner, now, min(later, until) if until is not None else later)

    def _unchanged(self, job: FaceJob, values: dict[str, object]) -> None:
        face_jobs.record_poll(self._engine, self.key(job), owner=self._owner, values=values)

    def _first_poll(self) -> datetime:
        now = utcnow()
        return self._schedule.next_poll_at(now, now)

    # --- a create Tavus did not take ----------------------------------------------------------------

    def _declined(self, job: FaceJob, exc: TavusError) -> TavusDeclined:
        """Record that Tavus did not start `job`, and the refusal that tells the person who asked."""
        log.warning("tavus did not start %s %s: %s", self.kind, job.id, exc)
        failed = submission_failure(exc)
        error = SubmitError(failed.problem, failed.detail)
        # A 4xx is Tavus' answer to this one job: the person who asked hears why. Anything that may pass
        # (down, busy, our key) is told in the thread as well.
        refused = not isinstance(exc, TavusAuthError | TavusUnavailable) and (exc.status_code or 500) < 500
        self._lifecycle.not_started(job, error, refused=refused)
        return TavusDeclined(self.kind, failed.problem, failed.detail)

    def _stalled(self, status: str, older_than: timedelta) -> list[FaceJob]:
        """Jobs a crash left in `status` (between calling Tavus and recording its answer), leased to us."""
        owner = self._owner
        ids = leases.claim_stalled_jobs(self._engine, self.kind, status, owner=owner, older_than=older_than)
        return face_jobs.get_many(self._engine, ids)

"""A sample video of a finished face: asked for in its thread, recorded before Tavus is called, created once
(`POST /v2/videos`), followed until Tavus says ready, error or deleted, and told in the thread once.

Tavus has no idempotency key for videos either, so a crash between the create and recording its answer is
repaired the way a face's create is: look for the video Tavus made for this job (its `video_name` carries
the job's id) before creating it again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.errors import AlreadyRunning, ScriptRefused, TavusDeclined
from bot.domain.sweep import NO_ANSWER, NoAnswer
from bot.domain.try_face.following import FollowedJobs
from bot.tavus import TavusError, TavusNotFound
from bot.tavus.jobs import Video, VideoState
from storage.job_models import FaceJob, JobKind, VideoStatus
from storage.models import ReplicaRequest, utcnow
from storage.repository import face_jobs, replica_requests

log = logging.getLogger(__name__)


def video_name(job: FaceJob, face_name: str) -> str:
    """What the video is called in Tavus: where it came from, and the job it belongs to (found again by it
    after a crash)."""
    return f"Sample of {face_name} from Slack ({job_tag(job)})"


def job_tag(job: FaceJob) -> str:
    return f"replica-bot {job.kind} {job.id}"


@dataclass(frozen=True)
class VideoForm:
    """What the sample video's form needs: whose face, how long a script may be, and how many more videos
    the face may have when this person asks (None: no limit)."""

    request_id: int
    face_name: str
    limit: int
    left: int | None


class SampleVideos(FollowedJobs[Video | None]):
    name = "sample videos"
    kind = JobKind.VIDEO
    in_flight = (VideoStatus.GENERATING.value,)

    # --- asking --------------------------------------------------------------------------------------

    def open(self, face: ReplicaRequest, user_id: str, channel_id: str | None) -> VideoForm:
        """Before the form opens: this person may make a video of this face from here, and it has videos
        left (refusals raised otherwise)."""
        self._faces.check(face, user_id, channel_id)
        assert face.id is not None
        left = self._faces.left(face, self.kind, user_id)
        if left is not None and left <= 0:
            raise self._faces.used(face, self.kind, face_jobs.made(self._engine, face.id, self.kind))
        return VideoForm(face.id, face.replica_name, self._rules.script_max_chars, left)

    def ask(self, face: ReplicaRequest, user_id: str, channel_id: str, script: str) -> FaceJob:
        """Record a sample video of `face` with `script` (a refusal says why not). A second ask with the
        same script while the first is being made (a double click, a double submit, a Slack retry) is
        AlreadyRunning, and makes nothing."""
        self._faces.check(face, user_id, channel_id)
        script = script.strip()
        if not 0 < len(script) <= self._rules.script_max_chars:
            raise ScriptRefused(len(script), self._rules.script_max_chars)
        assert face.id is not None
        digest = hashlib.sha256(script.encode()).hexdigest()[:24]
        inserted = self._lifecycle.ask(
            self.kind,
            {
                "request_id": face.id,
                "replica_id": face.replica_id,
                "asked_by": user_id,
                "asked_in": channel_id,
                "script": script,
                "active_key": f"video:{face.id}:{digest}",
                "callback_token": secrets.token_urlsafe(32),
            },
            allowance=self._faces.allowance(self.kind, user_id),
        )
        if inserted.job is not None:
            return inserted.job
        if inserted.running is not None:
            raise AlreadyRunning(self.kind, face.replica_name, inserted.running.asked_by)
        raise self._faces.used(face, self.kind, inserted.made)

    def create(self, job: FaceJob) -> FaceJob:
        """Ask Tavus to make it. The job is recorded already: a crash from here on is reconciled. Raises
        TavusDeclined (recorded, and told in the thread where it may pass) if Tavus does not take it."""
        face = replica_requests.get(self._engine, job.request_id)
        name = face.replica_name if face is not None else job.replica_id
        try:
            video = self._tavus.create_video(
                replica_id=job.replica_id,
                script=job.script or "",
                video_name=video_name(job, name),
                callback_url=self._rules.callback_url(job.callback_token),
            )
        except TavusError as exc:
            raise self._declined(job, exc) from None
        return self._adopt(job, video.video_id)

    def _adopt(self, job: FaceJob, video_id: str) -> FaceJob:
        started = self._lifecycle.video_started(job, video_id, first_poll_at=self._first_poll())
        if started is None:
            log.warning("sample video %s moved on before Tavus' video %s was recorded", job.id, video_id)
            return job
        log.info("sample video %s is Tavus video %s", job.id, video_id)
        return started

    # --- following ------------------------------------------------------------------------------------

    def fetch(self, job: FaceJob) -> Video | NoAnswer | None:
        """What Tavus says about the video: None if it no longer knows it, NO_ANSWER if it could not say."""
        try:
            return self._tavus.get_video(job.tavus_id or "")
        except TavusNotFound:
            return None
        except (TavusError, ValueError) as exc:
            log.warning("could not poll video %s: %s", job.tavus_id, exc)
            self.reschedule(job)
            return NO_ANSWER

    def record(self, job: FaceJob, video: Video | None) -> bool:
        poll = self._poll(job, utcnow())
        if video is None or video.status == VideoState.DELETED:
            return self._lifecycle.video_deleted(job, poll=poll)
        if video.status == VideoState.READY:
            return self._lifecycle.video_ready(
                job,
                video_url=video.watch_url,
                thumbnail_url=video.thumbnail_url,
                details=video.status_details,
                poll=poll,
            )
        if video.status == VideoState.ERROR:
            return self._lifecycle.video_failed(job, details=video.status_details, poll=poll)
        self._unchanged(job, {**poll.values(), "generation_progress": video.generation_progress})
        return False

    # --- after a crash ---------------------------------------------------------------------------------

    def reconcile(self, older_than: timedelta) -> int:
        """Finish videos a crash left "creating": adopt the one Tavus made for the job, else create it now."""
        jobs = self._stalled(VideoStatus.CREATING, older_than)
        if not jobs:
            return 0
        try:
            recent = self._tavus.list_videos()
        except TavusError as exc:
            log.warning("cannot reconcile %s stalled sample videos yet: %s", len(jobs), exc)
            return 0
        taken = face_jobs.known_tavus_ids(self._engine, self.kind, [v.video_id for v in recent])
        for job in jobs:
            tag = f"({job_tag(job)})"
            match = next((v for v in recent if v.video_id not in taken and tag in (v.video_name or "")), None)
            if match is not None:
                taken.add(match.video_id)
                log.info("sample video %s: adopting video %s, made before a crash", job.id, match.video_id)
                self._adopt(job, match.video_id)
                continue
            log.info("sample video %s never reached Tavus before a crash; creating it now", job.id)
            try:
                self.create(job)
            except TavusDeclined as declined:
                log.warning("sample video %s could not be made after a restart: %s", job.id, declined)
        return len(jobs)


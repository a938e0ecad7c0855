"""Trying a finished face where it was asked for: a sample video and a short test call, from its thread.

Both are jobs Tavus runs and the bot follows as it follows a face's training: recorded before Tavus is
called (`lifecycle`), created once, followed by the same sweep with callbacks as the fast path
(`following`), told in the face's thread once through the outbox, and repaired after a crash. `faces` has
who may try which face, and what it may cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.try_face.calls import StartedCall, TestCalls
from bot.domain.try_face.faces import Faces, TryMode, TryRules
from bot.domain.try_face.lifecycle import CALL_TRANSITIONS, VIDEO_TRANSITIONS, JobLifecycle
from bot.domain.try_face.videos import SampleVideos, VideoForm
from storage.job_models import FaceJob
from storage.models import ReplicaRequest

# A face is the request that made it (its thread is where it is tried out); a job, a video or a call.
Face = ReplicaRequest
Job = FaceJob

__all__ = [
    "CALL_TRANSITIONS",
    "VIDEO_TRANSITIONS",
    "Face",
    "Faces",
    "Job",
    "JobLifecycle",
    "SampleVideos",
    "StartedCall",
    "TestCalls",
    "TryFace",
    "TryMode",
    "TryRules",
    "VideoForm",
]


@dataclass(frozen=True)
class TryFace:
    """What the listeners use to try a face out."""

    rules: TryRules
    faces: Faces
    videos: SampleVideos
    calls: TestCalls

    def reconcile(self, *, older_than: timedelta) -> int:
        """Repair what a crash cut short between calling Tavus and recording its answer."""
        return self.videos.reconcile(older_than) + self.calls.reconcile(older_than)

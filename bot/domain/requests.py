"""The values a replica request is made of before and after it is submitted, and what submitting returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import SubmitProblem
from bot.domain.image_checks import TavusVerdict
from bot.photos.offline_check import Finding
from storage.models import Likeness, ReplicaRequest

DEFAULT_REPLICA_NAME = "Replica from Slack"
MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class Requester:
    user_id: str
    channel_id: str
    team_id: str | None = None


@dataclass(frozen=True)
class CreateArgs:
    """What the person asked for, as typed (a command, a mention, the form); not checked yet."""

    image_url: str | None = None
    video_url: str | None = None
    consent_url: str | None = None
    voice: str | None = None
    name: str | None = None
    # `model=`: the face model for this request only (else TAVUS_MODEL_NAME, else Tavus' default).
    model: str | None = None
    # `for=`: whose face it is (None: not said), and the colleague's user id for `Likeness.COLLEAGUE`.
    likeness: Likeness | None = None
    depicted_id: str | None = None


@dataclass(frozen=True)
class ReplicaDraft:
    """A request whose shape is valid; what it points at is not checked yet."""

    requester: Requester
    replica_name: str
    voice_name: str | None
    image_url: str | None = None
    video_url: str | None = None
    consent_url: str | None = None
    # Answer in this thread (mention, DM, shortcut) instead of starting one under a new card.
    thread_ts: str | None = None
    slack_file_id: str | None = None
    rights_affirmed: bool = False
    retry_of: int | None = None
    # The row written before the ack (`SubmissionService.receive`); the checks then complete that row.
    received_id: int | None = None
    # The model the face will be trained with (`SubmissionRules.model_for`), stored with the request.
    model_name: str | None = None
    # Whose face it is, when said (`for=`, the form's picker); None: the requester is asked.
    likeness: Likeness | None = None
    depicted_id: str | None = None

    @property
    def uploaded(self) -> bool:
        """The photo is a file shared in Slack, not a link."""
        return self.slack_file_id is not None and not (self.image_url or self.video_url)


class Question(StrEnum):
    """What the requester must confirm before anything is submitted."""

    RIGHTS = "rights"  # the rights to the likeness (REQUIRE_CONSENT_CONFIRMATION, LIKENESS_CONSENT=off)
    WHOSE_FACE = "whose_face"  # me, a colleague, or someone outside (it answers RIGHTS too)
    VIDEO_CONSENT = "video_consent"  # a training video without a consent video opens with the statement


@dataclass(frozen=True)
class Submitted:
    """Tavus is training it; the card follows in the channel."""

    request: ReplicaRequest


@dataclass(frozen=True)
class Held:
    """Recorded, waiting for the requester: a question to answer, a doubtful photo, or both."""

    request: ReplicaRequest
    question: Question | None
    findings: tuple[Finding, ...] = ()
    # Tavus' own check, when it was asked and answered.
    verdict: TavusVerdict | None = None

    @property
    def refused_by_tavus(self) -> bool:
        return self.verdict is not None and not self.verdict.passed

    @property
    def request_id(self) -> int:
        assert self.request.id is not None
        return self.request.id


@dataclass(frozen=True)
class Waiting:
    """Recorded, waiting for someone else: the colleague in the photo, or an approver. The card says so."""

    request: ReplicaRequest


@dataclass(frozen=True)
class Superseded:
    """Another worker finished this request first (one resumed after a crash while this one was slow):
    it has reported already, so there is nothing to say here."""


Outcome = Submitted | Held | Waiting | Superseded


@dataclass(frozen=True)
class SubmitError:
    """Why a request ended without training, as stored in `submit_error`: the problem, then the detail."""

    problem: SubmitProblem
    detail: str | None = None

    def stored(self) -> str:
        return f"{self.problem}: {self.detail}" if self.detail else str(self.problem)

    @classmethod
    def parse(cls, stored: str | None) -> SubmitError | None:
        """The stored value read back; None for text that is not one of ours (written by an older
        version, which stored the words themselves)."""
        code, _, detail = (stored or "").partition(":")
        try:
            problem = SubmitProblem(code.strip())
        except ValueError:
            return None
        return cls(problem, detail.strip() or None)

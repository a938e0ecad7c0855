"""Why something a person asked for cannot be done: one exception type per reason, carrying the facts.

The domain raises these; `bot.slack.errors` maps each one to the words the person reads, wherever they
are. `str()` is for logs only. Photos refused by the checks raise `bot.photos.refusals` types, and Tavus'
own refusals `bot.tavus.errors` types; those are mapped the same way.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from bot.photos.offline_check import Finding
from bot.tavus import TavusAuthError, TavusBadRequest, TavusError, TavusUnavailable


class Refusal(Exception):
    """Base class: the request is understood and refused, with nothing half done."""


class Action(StrEnum):
    CONFIRM = "confirm"
    DELETE = "delete"
    RETRY = "retry"
    # What to do with a photo Tavus' check failed: submit anyway, let Tavus fix it, or use another.
    CHOOSE = "choose"


class CannotAutoFix(Refusal):
    """"Let Tavus fix it" for a photo whose failed checks the fixer cannot mend (it was not offered)."""


class MissingPhoto(Refusal):
    """A request with neither a photo link, a video link nor an uploaded photo."""


class MissingVoice(Refusal):
    """An image request without `voice=` and no default voice configured."""

    def __init__(self, voices: tuple[str, ...]) -> None:
        super().__init__(f"no voice given; stock voices {', '.join(voices)}")
        self.voices = voices


class UnknownVoice(Refusal):
    def __init__(self, voice: str, voices: tuple[str, ...]) -> None:
        super().__init__(f"{voice!r} is not one of {', '.join(voices)}")
        self.voice = voice
        self.voices = voices


class UnknownModel(Refusal):
    """`model=` names a model Tavus does not document."""

    def __init__(self, model: str, models: tuple[str, ...]) -> None:
        super().__init__(f"{model!r} is not one of {', '.join(models)}")
        self.model = model
        self.models = models


class NoImageTraining(Refusal):
    """A photo request for a model that cannot train from a photo (phoenix-3)."""

    def __init__(self, model: str, models: tuple[str, ...]) -> None:
        super().__init__(f"{model} has no image training; image models {', '.join(models)}")
        self.model = model
        self.models = models


class ChannelNotAllowed(Refusal):
    """Requests are only taken in the channels of ALLOWED_CHANNEL_IDS."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__(f"only in {', '.join(allowed)}")
        self.allowed = allowed


class NoMediaStore(Refusal):
    """An uploaded photo, but nowhere public to host it for Tavus (no PUBLIC_BASE_URL, no S3)."""


class PhotoFlagged(Refusal):
    """PREFLIGHT_FACES=strict and the offline photo check found problems: nothing was stored or sent."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        super().__init__(", ".join(f.kind for f in findings))
        self.findings = findings


class RequestGone(Refusal):
    """The request a button or form refers to no longer exists."""


class NotPermitted(Refusal):
    """Only the requester (or, to delete or retry, an admin) may do this."""

    def __init__(self, action: Action, requester_id: str, replica_name: str) -> None:
        super().__init__(f"{action} belongs to {requester_id}")
        self.action = action
        self.requester_id = requester_id
        self.replica_name = replica_name


class AlreadyConfirmed(Refusal):
    """A second click on a confirmation (or one that lost the race): submitted once already."""


class ConfirmationExpired(Refusal):
    """Confirmed too late: the hosted photo would expire before Tavus is done with it."""


class NothingToRetry(Refusal):
    """The request has not failed (it is ready, or still under way)."""

    def __init__(self, replica_name: str, *, completed: bool) -> None:
        super().__init__(f"{replica_name!r} {'completed' if completed else 'has not failed'}")
        self.replica_name = replica_name
        self.completed = completed


class ReplicaNotVisible(Refusal):
    """No request for this replica that this person may see here."""

    def __init__(self, replica_id: str) -> None:
        super().__init__(replica_id)
        self.replica_id = replica_id


class AlreadyDeleted(Refusal):
    def __init__(self, replica_id: str) -> None:
        super().__init__(replica_id)
        self.replica_id = replica_id


class DeleteTooSoon(Refusal):
    """A failed replica is kept a while so its credit refund can register."""

    def __init__(self, replica_id: str, wait: timedelta) -> None:
        super().__init__(f"{replica_id}: {wait}")
        self.replica_id = replica_id
        self.wait = wait


class DeletionNotConfirmed(Refusal):
    """Tavus did not confirm the deletion; nothing changed here."""


class SubmitProblem(StrEnum):
    """Why a request ended without training (stored in `submit_error`, with a detail after a colon)."""

    CANCELLED = "cancelled"  # the requester said no to a question
    TAVUS_REFUSED = "tavus_refused"  # Tavus answered 400/422; the detail is its reason
    TAVUS_MISCONFIGURED = "tavus_misconfigured"  # our API key or account (401/403): the operator's to fix
    TAVUS_UNAVAILABLE = "tavus_unavailable"  # 429/5xx/network after every retry
    TAVUS_ERROR = "tavus_error"  # anything else Tavus did wrong
    CHECK_FAILED = "check_failed"  # our own error while checking or submitting; the detail is a reference
    RESUME_FAILED = "resume_failed"  # picked up after a restart and could not be processed; a reference


class SubmissionFailed(Refusal):
    """Tavus did not take the request (the request is closed as `submit_failed`)."""

    def __init__(self, problem: SubmitProblem, detail: str | None = None) -> None:
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem
        self.detail = detail


def submission_failure(exc: TavusError) -> SubmissionFailed:
    """What the requester hears when Tavus did not take a request, by who can fix it."""
    if isinstance(exc, TavusBadRequest):
        return SubmissionFailed(SubmitProblem.TAVUS_REFUSED, exc.message)
    if isinstance(exc, TavusAuthError):
        # The requester cannot fix this; the operator sees the detail in the logs.
        return SubmissionFailed(SubmitProblem.TAVUS_MISCONFIGURED)
    if isinstance(exc, TavusUnavailable):
        return SubmissionFailed(SubmitProblem.TAVUS_UNAVAILABLE)
    return SubmissionFailed(SubmitProblem.TAVUS_ERROR)

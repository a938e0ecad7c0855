"""Why something a person asked for cannot be done: one exception type per reason, carrying the facts.

The domain raises these; `bot.slack.errors` maps each one to the words the person reads, wherever they
are. `str()` is for logs only. Photos refused by the checks raise `bot.photos.refusals` types, and Tavus'
own refusals `bot.tavus.errors` types; those are mapped the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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
    # Say whose face it is (the requester's answer to the likeness question).
    LIKENESS = "likeness"
    # Allow or decline a replica of one's own face (only the person in the photo).
    CONSENT = "consent"
    # Approve or deny a request before credits are spent (only an approver, never the requester).
    APPROVE = "approve"
    # See the record of who asked for whose face (admins).
    AUDIT = "audit"
    # Make a sample video of a finished face, or talk to it in a test call.
    TRY = "try"


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


class PersonProblem(StrEnum):
    """Why the person named as the face cannot be asked."""

    NOT_FOUND = "not_found"  # no such user in this workspace
    BOT = "bot"  # an app or bot user
    DEACTIVATED = "deactivated"  # the account was deactivated


class PersonCannotConsent(Refusal):
    """The face named is not a person who can be asked: nothing is submitted."""

    def __init__(self, user_id: str, problem: PersonProblem) -> None:
        super().__init__(f"{user_id}: {problem}")
        self.user_id = user_id
        self.problem = problem


class OutsideNotAllowed(Refusal):
    """LIKENESS_OUTSIDE=deny: faces of people outside the workspace (or synthetic ones) are not taken."""


class NoApprover(Refusal):
    """An approval is needed, but nobody other than the requester can give it (APPROVERS, ADMIN_USER_IDS)."""


class OwnRequest(Refusal):
    """An approver cannot approve (or deny) their own request."""


class AlreadyDecided(Refusal):
    """The question was answered already (the first answer wins), or the wait ended; `now` is the
    request's status, which says how."""

    def __init__(self, now: str) -> None:
        super().__init__(now)
        self.now = now


class SubmitProblem(StrEnum):
    """Why a request ended without training (stored in `submit_error`, with a detail after a colon)."""

    CANCELLED = "cancelled"  # the requester said no to a question, or withdrew a request while it waited
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


# --- trying a finished face: a sample video, a test call ----------------------------------------------------


class TryFaceOff(Refusal):
    """TRY_FACE=off: no sample videos or test calls here."""


class UnknownFace(Refusal):
    """A face id no request of this bot made (nothing was sent to Tavus)."""

    def __init__(self, face_id: str) -> None:
        super().__init__(face_id)
        self.face_id = face_id


class FaceNotUsable(Refusal):
    """The face is still training, failed, or was deleted: nothing to try yet (or any more)."""

    def __init__(self, name: str, face_id: str | None, face_status: str) -> None:
        super().__init__(f"{face_id}: {face_status}")
        self.name = name
        self.face_id = face_id
        self.face_status = face_status


class TryOnlyInChannel(Refusal):
    """TRY_FACE=everyone means anyone in the face's channel; this person asked from elsewhere."""

    def __init__(self, name: str, channel_id: str) -> None:
        super().__init__(f"only in {channel_id}")
        self.name = name
        self.channel_id = channel_id


class ScriptRefused(Refusal):
    """A sample video's script is empty or longer than SAMPLE_SCRIPT_MAX_CHARS."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"{length} characters; 1 to {limit} allowed")
        self.length = length
        self.limit = limit


class AllowanceUsed(Refusal):
    """The face has had all its sample videos (or test calls); admins may make more."""

    def __init__(self, kind: str, name: str, made: int, allowance: int, admins: tuple[str, ...]) -> None:
        super().__init__(f"{kind}: {made} of {allowance}")
        self.kind = kind
        self.name = name
        self.made = made
        self.allowance = allowance
        self.admins = admins


class AlreadyRunning(Refusal):
    """One at a time: a test call of this face is live, or this very video is being made (a double click,
    a double submit). `ends_at`: when the call ends at the latest (None while it starts)."""

    def __init__(self, kind: str, name: str, asked_by: str, ends_at: datetime | None = None) -> None:
        super().__init__(f"{kind} by {asked_by}")
        self.kind = kind
        self.name = name
        self.asked_by = asked_by
        self.ends_at = ends_at


class TavusDeclined(Refusal):
    """Tavus did not start the video or the call: it refused (`detail` is its reason) or stayed down.
    `concurrency`: the account is at its limit of conversations at once."""

    def __init__(self, kind: str, problem: SubmitProblem, detail: str | None = None) -> None:
        super().__init__(f"{kind}: {problem}: {detail}")
        self.kind = kind
        self.problem = problem
        self.detail = detail

    @property
    def concurrency(self) -> bool:
        return "concurrent" in (self.detail or "").lower()


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

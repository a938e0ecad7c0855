"""The one error mapper: whatever went wrong, the message the person reads, wherever they are.

Refusals (the request's, the photo's, the command's, Tavus') become the words that say what to do
instead. Anything else becomes a short reference id, logged with the traceback, so the person can quote it
and the operator can find it; a stack trace never reaches Slack.
"""

from __future__ import annotations

import logging
import uuid

from bot.domain.batch.problems import (
    BatchFileRefused,
    BatchGone,
    BatchMovedOn,
    BatchNotYours,
    NotABatchApprover,
    NothingToSubmit,
)
from bot.domain.catalogue import Catalogue
from bot.domain.errors import (
    AllowanceUsed,
    AlreadyConfirmed,
    AlreadyDecided,
    AlreadyDeleted,
    AlreadyRunning,
    CannotAutoFix,
    ChannelNotAllowed,
    ConfirmationExpired,
    DeleteTooSoon,
    DeletionNotConfirmed,
    FaceNotUsable,
    MissingPhoto,
    MissingVoice,
    NoApprover,
    NoImageTraining,
    NoMediaStore,
    NothingToRetry,
    NotPermitted,
    OutsideNotAllowed,
    OwnRequest,
    PersonCannotConsent,
    PhotoFlagged,
    ReplicaNotVisible,
    RequestGone,
    ScriptRefused,
    SubmissionFailed,
    TavusDeclined,
    TryFaceOff,
    TryOnlyInChannel,
    UnknownFace,
    UnknownModel,
    UnknownVoice,
)
from bot.photos.refusals import PreflightRefusal
from bot.slack.command_text import CommandError
from bot.slack.render import batch, batch_form, forms, likeness, photos, refusals, try_face
from bot.slack.render.blocks import Message, escape

log = logging.getLogger(__name__)


def new_reference() -> str:
    return uuid.uuid4().hex[:8]


def user_message(error: BaseException, catalogue: Catalogue, *, doing: str = "handling a request") -> Message:
    """What the person reads about `error`. Unknown errors are logged with a reference id (`doing` says
    what failed, for the log) and shown as that id."""
    refused = refusal_message(error, catalogue)
    return refused if refused is not None else unexpected(error, doing)[1]


def refusal_message(error: BaseException, catalogue: Catalogue) -> Message | None:
    """The words for a refusal; None if `error` is not one (a bug, an outage)."""
    if isinstance(error, PhotoFlagged):
        return forms.photo_refused(error.findings, catalogue)
    text = _known(error)
    return None if text is None else Message.of(text)


def unexpected(error: BaseException, doing: str) -> tuple[str, Message]:
    """Log an error nobody planned for under a new reference id; the id, and what the person reads."""
    reference = new_reference()
    log.error("%s failed (reference %s)", doing, reference, exc_info=error)
    return reference, Message.of(refusals.something_went_wrong(reference))


def _known(error: BaseException) -> str | None:
    """The words for a refusal, framed; None if `error` is not one."""
    if isinstance(error, PreflightRefusal):
        return photos.refused_message(photos.refusal_text(error))
    if isinstance(error, NoMediaStore):
        return photos.refused_message(refusals.NO_MEDIA_STORE)
    if isinstance(error, SubmissionFailed):
        reason = refusals.submit_problem_text(error.problem, error.detail)
        return refusals.submit_failed_message(escape(reason))
    if isinstance(error, CommandError):
        return refusals.warning(refusals.command_error_text(error))
    if isinstance(error, MissingPhoto | MissingVoice | UnknownVoice):
        return refusals.warning(refusals.draft_error_text(error))
    if isinstance(error, UnknownModel | NoImageTraining):
        return refusals.warning(refusals.model_error_text(error))
    if isinstance(error, RequestGone | ConfirmationExpired | AlreadyConfirmed):
        return refusals.warning(refusals.request_refusal_text(error))
    if isinstance(error, CannotAutoFix):
        return refusals.warning(refusals.CANNOT_AUTO_FIX)
    if isinstance(error, NotPermitted | NothingToRetry):
        return refusals.request_refusal_text(error)
    if isinstance(error, ChannelNotAllowed):
        return refusals.where_allowed(error)
    if isinstance(error, ReplicaNotVisible | AlreadyDeleted | DeleteTooSoon | DeletionNotConfirmed):
        return refusals.deletion_refusal_text(error)
    if isinstance(error, TavusDeclined):
        return refusals.warning(try_face.declined_text(error))
    if isinstance(error, ScriptRefused):
        return refusals.warning(try_face.try_refusal_text(error))
    if isinstance(
        error,
        TryFaceOff | UnknownFace | FaceNotUsable | TryOnlyInChannel | AllowanceUsed | AlreadyRunning,
    ):
        return try_face.try_refusal_text(error)
    return _about_people(error) or _about_batches(error)


def _about_batches(error: BaseException) -> str | None:
    """Refusals about a batch: the file, and what may be done with it by whom."""
    if isinstance(error, BatchFileRefused):
        return refusals.warning(batch.file_refusal_text(error))
    if isinstance(error, BatchGone | BatchNotYours | BatchMovedOn | NothingToSubmit | NotABatchApprover):
        return batch_form.batch_refusal_text(error)
    return None


def _about_people(error: BaseException) -> str | None:
    """Refusals about whose face it is and who must agree."""
    if isinstance(error, PersonCannotConsent):
        return refusals.warning(likeness.person_problem_text(error))
    if isinstance(error, OutsideNotAllowed):
        return refusals.warning(likeness.OUTSIDE_DENIED)
    if isinstance(error, NoApprover):
        return refusals.warning(likeness.NO_APPROVER)
    if isinstance(error, OwnRequest):
        return likeness.OWN_REQUEST
    if isinstance(error, AlreadyDecided):
        return likeness.already_decided_text(error)
    return None


def field_error(error: BaseException, catalogue: Catalogue) -> str:
    """The same words for a form field's error, which Slack shows under the field."""
    return refusals.unflagged(user_message(error, catalogue).text)

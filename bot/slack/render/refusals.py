"""The words for every refusal: what the person asked for, why it cannot be done, and what to do instead.

`bot.slack.errors.user_message` picks the framing (a warning, the photo checklist, a plain answer) and
is what callers use; this module only words things.
"""

from __future__ import annotations

from bot.domain.errors import (
    Action,
    AlreadyConfirmed,
    AlreadyDeleted,
    ChannelNotAllowed,
    ConfirmationExpired,
    DeleteTooSoon,
    DeletionNotConfirmed,
    MissingPhoto,
    MissingVoice,
    NoImageTraining,
    NothingToRetry,
    NotPermitted,
    ReplicaNotVisible,
    RequestGone,
    SubmitProblem,
    UnknownModel,
    UnknownVoice,
)
from bot.domain.requests import SubmitError
from bot.slack.command_text import CommandError
from bot.slack.render import erasure
from bot.slack.render.blocks import escape

NO_MEDIA_STORE = (
    "this bot has no public address to host uploaded photos for Tavus yet (its admin needs to set "
    "PUBLIC_BASE_URL or MEDIA_BACKEND=s3). Meanwhile, `/replica create <image-url>` with a public link works."
)
_NAME_EXAMPLE = '`name="Ana Demo"`'
_FOR_EXAMPLE = "Write `for=@ana` (a colleague, who is asked first), `for=me`, or `for=outside`."


def command_error_text(error: CommandError) -> str:
    key = escape(error.key or "")
    return {
        "unclosed_quote": f"A quote is not closed. Put quotes around the whole value, like {_NAME_EXAMPLE}.",
        "duplicate_key": f"`{key}=` is given twice; keep one.",
        "unknown_key": (
            f"I don't know `{key}=`. Use `voice=`, `name=`, `video=`, `consent=`, `model=` and `for=`."
        ),
        "several_links": f"Give one image link. If the name has spaces, put it in quotes: {_NAME_EXAMPLE}.",
        "image_twice": "Give the image link once: either on its own or as `image=`, not both.",
        "image_and_video": "Give either an image link or `video=<url>`, not both.",
        "consent_without_video": (
            "`consent=` goes with `video=<url>`; an image request needs no consent video."
        ),
        "empty_name": f"The name is empty. Try {_NAME_EXAMPLE}.",
        "for_not_a_person": (
            "`for=` names the one person whose face it is, not a channel, @here/@channel or a user group. "
            + _FOR_EXAMPLE
        ),
        "for_several": "`for=` names one person: a replica is of one face. " + _FOR_EXAMPLE,
        "for_plain_name": (
            "I can't tell who that is from a typed name: pick the person from Slack's list as you type "
            "`for=@`, so it becomes a mention. " + _FOR_EXAMPLE
        ),
        "for_unknown": "I don't understand that `for=`. " + _FOR_EXAMPLE,
        "mention_without_for": "To say whose face it is, put the mention after `for=`. " + _FOR_EXAMPLE,
        "no_person": erasure.NO_PERSON,
    }[error.problem]


def draft_error_text(error: MissingPhoto | MissingVoice | UnknownVoice) -> str:
    if isinstance(error, MissingPhoto):
        return "Give me a photo link: `/replica create https://example.com/headshot.png voice=anna`."
    voices = ", ".join(f"`{escape(v)}`" for v in error.voices)
    if isinstance(error, MissingVoice):
        return f"Pick a voice with `voice=<name>`. Stock voices: {voices}."
    return f"`{escape(error.voice)}` is not a stock voice. Choose one of: {voices}."


def model_error_text(error: UnknownModel | NoImageTraining) -> str:
    models = ", ".join(f"`{escape(m)}`" for m in error.models)
    if isinstance(error, NoImageTraining):
        return (
            f"`{escape(error.model)}` can't be trained from a photo. For a photo, use {models} "
            "(`model=phoenix-4.5` gives a usable preview in about a minute), or train from a video."
        )
    return f"`{escape(error.model)}` is not a Tavus model I know. Choose one of: {models}."


def where_allowed(error: ChannelNotAllowed) -> str:
    channels = ", ".join(f"<#{c}>" for c in error.allowed)
    return f"I only take replica requests in {channels}. Please ask there."


def request_refusal_text(
    error: RequestGone | NotPermitted | ConfirmationExpired | AlreadyConfirmed | NothingToRetry,
) -> str:
    if isinstance(error, RequestGone):
        return "I can't find that request any more."
    if isinstance(error, ConfirmationExpired):
        return (
            "This waited too long for confirmation: the hosted photo would expire before Tavus finishes "
            "with it. Please send the photo again."
        )
    if isinstance(error, AlreadyConfirmed):
        return "This request was already confirmed."
    if isinstance(error, NothingToRetry):
        state = "is ready" if error.completed else "has not failed"
        return f"*{escape(error.replica_name)}* {state}, so there is nothing to retry."
    if error.action == Action.CONFIRM:
        return "Only the person who asked for this replica can confirm it."
    if error.action == Action.DELETE:
        return "Only the person who asked for this replica, or an admin, can delete it."
    name = escape(error.replica_name)
    if error.action == Action.CONSENT:
        return (
            f"Only <@{error.requester_id}>, the person in the photo, can allow or decline a replica of their "
            "face. Nothing changed."
        )
    if error.action == Action.APPROVE:
        return "Only an approver of this workspace can approve or deny replica requests. Nothing changed."
    if error.action == Action.AUDIT:
        return "Only the app's admins can see the record of who asked for whose face."
    if error.action == Action.CHOOSE:
        who = f"Only <@{error.requester_id}>, who asked for *{name}*, or an admin"
        return f"{who} can decide about this photo."
    if error.action == Action.TRY:
        who = f"Only <@{error.requester_id}>, who asked for *{name}*, or an admin"
        return f"{who} can make sample videos or test calls of it."
    return f"Only <@{error.requester_id}>, who asked for *{name}*, or an admin can retry it."


CANNOT_AUTO_FIX = (
    "Tavus' image fixer can't mend what its check found in this photo (it fixes framing, pose, light, "
    "sharpness and centring only). Please use another photo, or submit this one anyway."
)


def deletion_refusal_text(
    error: ReplicaNotVisible | AlreadyDeleted | DeleteTooSoon | DeletionNotConfirmed,
) -> str:
    if isinstance(error, DeletionNotConfirmed):
        return "Tavus did not answer the deletion. Nothing changed; please try again."
    replica = f"`{escape(error.replica_id)}`"
    if isinstance(error, ReplicaNotVisible):
        return f"I have no request for replica {replica} that you can see here."
    if isinstance(error, AlreadyDeleted):
        return f"Replica {replica} is already deleted."
    minutes = max(1, round(error.wait.total_seconds() / 60))
    return (
        f"Not yet: replica {replica} failed only recently. A failed run costs no credit, but deleting it "
        f"right after the error can stop the refund from registering. Please try again in {minutes} min."
    )


def submit_problem_text(problem: SubmitProblem, detail: str | None) -> str:
    """Why a request ended without training, for the requester (also shown in their list and App Home)."""
    match problem:
        case SubmitProblem.CANCELLED:
            return "Cancelled by the requester."
        case SubmitProblem.TAVUS_REFUSED:
            return f"Tavus said: {detail or 'no reason given'}"
        case SubmitProblem.TAVUS_MISCONFIGURED:
            # The requester cannot fix this; the operator sees the detail in the logs.
            return (
                "replica-bot is not set up correctly to talk to Tavus. Please ask the app's admin to check "
                "it."
            )
        case SubmitProblem.TAVUS_UNAVAILABLE:
            return "Tavus is not answering right now. Please try again in a few minutes."
        case SubmitProblem.CHECK_FAILED:
            return f"Something went wrong on my side while checking it{_reference(detail)}."
        case SubmitProblem.RESUME_FAILED:
            return f"Could not be processed after a restart{_reference(detail)}."
    return "Tavus could not take the request right now. Please try again in a few minutes."


def _reference(reference: str | None) -> str:
    return f" (reference {reference})" if reference else ""


def submit_error_text(stored: str) -> str:
    """A stored `submit_error` in words; text written by an older version is shown as it is."""
    error = SubmitError.parse(stored)
    return stored if error is None else submit_problem_text(error.problem, error.detail)


def warning(text: str) -> str:
    """A refusal the person can fix, flagged as such."""
    return f":warning: {text}"


def unflagged(text: str) -> str:
    """The words without the warning flag (a form shows them under the field instead)."""
    return text.removeprefix(":warning: ")


def submit_failed_message(reason: str) -> str:
    return f":warning: I couldn't submit this to Tavus. {reason} Nothing was created; you can try again."


def something_went_wrong(reference: str) -> str:
    return (
        f":warning: Something went wrong on my side (reference `{reference}`). Nothing was lost; please try "
        "again, and mention the reference if it keeps happening."
    )


def resume_failed_message(name: str, reference: str) -> str:
    return (
        f":warning: I lost track of your request for *{escape(name)}* during a restart and could not pick "
        f"it up again (reference `{reference}`). Nothing was sent to Tavus; please send it again."
    )

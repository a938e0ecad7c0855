"""Trying a finished face, in words: the two buttons under its posts, the sample video's form, what the
person who clicked reads (the test call's link, only for them), and every refusal.

Names and scripts are escaped wherever they are shown; a script goes into the form as plain text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.errors import (
    AllowanceUsed,
    AlreadyRunning,
    FaceNotUsable,
    ScriptRefused,
    SubmitProblem,
    TavusDeclined,
    TryFaceOff,
    TryOnlyInChannel,
    UnknownFace,
)
from bot.domain.try_face.faces import USABLE
from bot.domain.try_face.videos import VideoForm
from bot.slack.ids import MAKE_VIDEO_ACTION, SAMPLE_VIDEO_CALLBACK_ID, TALK_ACTION
from bot.slack.render.blocks import Block, Message, button, context, date, escape, link, plain, section
from bot.slack.render.refusals import submit_problem_text
from storage.job_models import JobKind
from storage.models import ReplicaRequest, RequestStatus

MAKE_VIDEO = "Make a sample video"
TALK = "Talk to it"
TRY_INTRO = "Or try it right here: a short sample video of it speaking, or a short test call with it."
MAX_MODAL_TITLE = 24


def try_buttons(face: ReplicaRequest) -> list[Block]:
    """The two buttons, while the face is usable (a deleted or failed face shows neither)."""
    if face.id is None or face.status not in USABLE or face.replica_id is None:
        return []
    value = str(face.id)
    return [
        context(TRY_INTRO),
        {
            "type": "actions",
            "elements": [button(MAKE_VIDEO, MAKE_VIDEO_ACTION, value), button(TALK, TALK_ACTION, value)],
        },
    ]


def sample_script(name: str, limit: int) -> str:
    """The script the form starts with: a two-sentence introduction in the face's name."""
    script = (
        f"Hi, I'm {name}, a brand-new face made right here in Slack. "
        "This short sample shows how I look and sound when I speak."
    )
    return script if len(script) <= limit else script[:limit]


def sample_video_modal(form: VideoForm, *, private_metadata: str) -> dict[str, Any]:
    """The sample video's form: the script, prefilled with an introduction in the face's name and
    editable (1 to `form.limit` characters), and how many more sample videos the face may have."""
    limit = form.limit
    script = sample_script(form.face_name, limit)
    notes = [
        f"Tavus makes a video of *{escape(form.face_name)}* saying this, usually in a minute or two, and "
        "the link is posted in the face's thread. Each video uses Tavus credit (by its length)."
    ]
    if form.left is not None:
        notes.append(f"This face can have {form.left} more sample video{'s' if form.left != 1 else ''}.")
    return {
        "type": "modal",
        "callback_id": SAMPLE_VIDEO_CALLBACK_ID,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Sample video"[:MAX_MODAL_TITLE]},
        "submit": {"type": "plain_text", "text": "Make the video"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(" ".join(notes)),
            {
                "type": "input",
                "block_id": "script",
                "label": {"type": "plain_text", "text": "Script"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "min_length": 1,
                    "max_length": limit,
                    "initial_value": script,
                },
                "hint": plain(f"Up to {limit} characters. Plain sentences work best."),
            },
        ],
    }


def video_asked(face: ReplicaRequest) -> Message:
    """To the person who asked, once Tavus took it."""
    return Message.of(
        f":clapper: Tavus is making the sample video of *{escape(face.replica_name)}*. The link will be "
        "posted in its thread when it is ready."
    )


def starting_call(face: ReplicaRequest) -> str:
    return (
        f":telephone_receiver: Starting a test call with *{escape(face.replica_name)}*… the link to join "
        "comes to you here, privately."
    )


def call_link(
    face: ReplicaRequest, join_url: str | None, *, seconds: int, conversation_id: str | None
) -> Message:
    """The test call's link, for the person who clicked only: whoever holds it can join."""
    name = escape(face.replica_name)
    if not join_url:
        text = (
            f":warning: Tavus started the test call with *{name}* but gave no link to join it (conversation "
            f"`{escape(conversation_id or '?')}`). It ends by itself within {duration(seconds)}."
        )
        return Message(text=text, blocks=[section(text)])
    lines = [
        f":telephone_receiver: Your test call with *{name}* is ready: {link(join_url, 'Join the call')}",
        f"It lasts up to {duration(seconds)}. This link is only for you: whoever has it can join, so please "
        "don't share it.",
    ]
    return Message(text=f"Your test call with {name} is ready.", blocks=[section("\n".join(lines))])


def duration(seconds: float) -> str:
    """`1 min 42 s`, `2 min`, `40 s`."""
    minutes, rest = divmod(max(0, round(seconds)), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


# --- refusals ------------------------------------------------------------------------------------------

TryRefusal = (
    TryFaceOff
    | UnknownFace
    | FaceNotUsable
    | TryOnlyInChannel
    | ScriptRefused
    | AllowanceUsed
    | AlreadyRunning
)


def try_refusal_text(error: TryRefusal) -> str:
    if isinstance(error, TryFaceOff):
        return "Sample videos and test calls are turned off here (TRY_FACE=off)."
    if isinstance(error, UnknownFace):
        return (
            f"I didn't make a face with id `{escape(error.face_id)}`, so I can't try it out. "
            "`/replica list` shows the faces you asked for."
        )
    if isinstance(error, FaceNotUsable):
        return f"*{escape(error.name)}* can't be tried out: {_not_usable(error.face_status)}."
    if isinstance(error, TryOnlyInChannel):
        return f"Anyone in <#{error.channel_id}> can try *{escape(error.name)}* out; please ask there."
    if isinstance(error, ScriptRefused):
        if error.length == 0:
            return "The script is empty: write what the face should say."
        return f"The script is {error.length} characters long; the limit is {error.limit}. Please shorten it."
    if isinstance(error, AllowanceUsed):
        return _allowance_used(error)
    return _already_running(error)


def _not_usable(status: str) -> str:
    if status in (RequestStatus.FAILED, RequestStatus.SUBMIT_FAILED):
        return "its training failed"
    if status == RequestStatus.DELETED:
        return "it was deleted"
    return "it is still training. The buttons arrive in its thread as soon as it is ready"


def _allowance_used(error: AllowanceUsed) -> str:
    what = "sample video" if error.kind == JobKind.VIDEO else "test call"
    plural = "s" if error.made != 1 else ""
    cost = "each one uses Tavus credit" if error.kind == JobKind.VIDEO else "each one is billed by the minute"
    admins = ", ".join(f"<@{a}>" for a in error.admins)
    who = f"An admin ({admins}) can make more." if admins else "Only an admin can make more."
    return (
        f"*{escape(error.name)}* has had {error.made} {what}{plural} already; the limit is {error.allowance} "
        f"per face, since {cost}. {who}"
    )


def _already_running(error: AlreadyRunning) -> str:
    name = escape(error.name)
    if error.kind == JobKind.VIDEO:
        return (
            f"That sample video of *{name}* is already being made (asked by <@{error.asked_by}>); its link "
            "will be posted in the thread."
        )
    return f"<@{error.asked_by}> is in a test call with *{name}* right now. {_until(error.ends_at)}"


def _until(ends_at: datetime | None) -> str:
    if ends_at is None:
        return "It is starting; please try again in a few minutes."
    when = date(ends_at.timestamp(), "{time}", ends_at.strftime("%H:%M UTC"))
    return f"It ends by {when} at the latest; try again after that."


def declined_text(error: TavusDeclined) -> str:
    """Tavus did not start the video or the call, in plain words and with the next step."""
    what = "sample video" if error.kind == JobKind.VIDEO else "test call"
    if error.concurrency:
        return (
            "Tavus says this account already has as many live conversations as it may have at once, so the "
            "test call couldn't start. Calls end by themselves after a few minutes: try again then, or ask "
            "whoever owns the Tavus account to raise the limit."
        )
    if error.problem == SubmitProblem.TAVUS_REFUSED:
        return f"Tavus did not start the {what}. It said: {escape(error.detail or 'no reason given')}"
    return f"The {what} did not start. {escape(submit_problem_text(error.problem, error.detail))}"

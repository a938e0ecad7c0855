"""The colleague in the photo is asked: the DM with Allow / Decline (edited to say what was decided), the
form for a note to go with a "no", and what the requester reads in their thread about the answer (or
about nobody answering, or the DM that could not be sent)."""

from __future__ import annotations

from typing import Any

from bot.slack.ids import (
    CONSENT_ALLOW_ACTION,
    CONSENT_DECLINE_ACTION,
    CONSENT_NOTE_ACTION,
    DECLINE_NOTE_CALLBACK_ID,
    RETRY_ACTION,
)
from bot.slack.render.blocks import (
    Block,
    Message,
    button,
    context,
    escape,
    is_channel_id,
    link,
    plain,
    section,
    shorten,
)
from bot.slack.render.likeness import when
from bot.tavus.phoenix import model_for
from storage.models import ReplicaRequest, RequestStatus

WHAT_A_REPLICA_DOES = (
    "A replica is an AI video avatar of your face: once trained, it can say any script in generated "
    "videos and talk live in video calls, looking like you."
)
NOTE_MAX_CHARS = 500


def where_asked(request: ReplicaRequest) -> str:
    if request.channel_id.startswith("D"):
        return "in a direct message with me"
    return f"in <#{request.channel_id}>" if is_channel_id(request.channel_id) else "in Slack"


def photo_block(request: ReplicaRequest) -> Block | None:
    """The photo they are asked about, as an image; for a training video, a link to it."""
    if request.train_video_url:
        return context(f"Training video: {link(request.train_video_url, shorten(request.train_video_url))}")
    url = request.thumbnail_url or request.train_image_url or request.source_url
    if not url or not url.startswith(("https://", "http://")) or len(url) > 3000:
        return None
    return {"type": "image", "image_url": url, "alt_text": "The photo that would be used"}


def summary(request: ReplicaRequest) -> str:
    voice = escape(request.voice_name) if request.voice_name else "—"
    return (
        f"*Replica name:* {escape(request.replica_name)} · *Voice:* {voice} · "
        f"*Model:* {model_for(request.model_name, None)}"
    )


def consent_ask(request: ReplicaRequest) -> Message:
    """The DM to the colleague; once they answered (or the wait ended), what was decided."""
    requester = f"<@{request.requester_id}>"
    text = f"{requester} asked for a Tavus replica of your face {where_asked(request)}. Do you allow it?"
    blocks: list[Block] = [section(f":wave: {text}"), section(summary(request))]
    photo = photo_block(request)
    if photo is not None:
        blocks.append(photo)
    blocks.append(context(WHAT_A_REPLICA_DOES))
    decided = _decided(request)
    if decided is not None:
        return Message(text=f"{text} {decided[0]}", blocks=[*blocks, *decided[1]])
    value = str(request.id)
    blocks.append(
        section(
            "Nothing has been sent to Tavus: the photo goes only if you allow it. If you decline, "
            f"{requester} is told and the photo is deleted."
        )
    )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                button("Allow", CONSENT_ALLOW_ACTION, value, primary=True),
                {**button("Decline", CONSENT_DECLINE_ACTION, value), "style": "danger"},
            ],
        }
    )
    if request.expires_at is not None:
        blocks.append(context(f"If you don't answer by {when(request.expires_at.timestamp())}, it expires."))
    return Message(text=text, blocks=blocks)


def _decided(request: ReplicaRequest) -> tuple[str, list[Block]] | None:
    at = when(request.consent_at.timestamp()) if request.consent_at else "just now"
    requester = f"<@{request.requester_id}>"
    if request.status == RequestStatus.AWAITING_CONSENT:
        return None
    if request.status == RequestStatus.DECLINED:
        said = f":no_entry_sign: You declined, {at}. The photo was deleted and {requester} was told."
        blocks = [section(said)]
        if request.consent_note:
            blocks.append(context(f"Your note: {escape(request.consent_note)}"))
        elif request.id is not None:
            note = button("Add a note for the requester", CONSENT_NOTE_ACTION, str(request.id))
            blocks.append({"type": "actions", "elements": [note]})
        return said, blocks
    if request.status == RequestStatus.EXPIRED:
        said = ":hourglass: This request expired without an answer; the photo was deleted."
    elif request.consent_status == "allowed":
        said = f":white_check_mark: You allowed it, {at}. {requester}'s request goes on."
    else:
        said = f":information_source: {requester} withdrew this request; nothing was sent to Tavus."
    return said, [section(said)]


def decline_note_form(request_id: int) -> dict[str, Any]:
    """The form behind "Add a note": a few words for the requester about the "no"."""
    return {
        "type": "modal",
        "callback_id": DECLINE_NOTE_CALLBACK_ID,
        "private_metadata": str(request_id),
        "title": plain("A note with your no"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": plain("Your note"),
                "hint": plain("They see it in the request's thread."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": NOTE_MAX_CHARS,
                },
            },
        ],
    }


def declined_post(request: ReplicaRequest) -> Message:
    depicted = f"<@{request.depicted_id}>" if request.depicted_id else "The person in the photo"
    text = (
        f"<@{request.requester_id}> {depicted} declined to have a replica made of their face, so "
        f"*{escape(request.replica_name)}* was not submitted. Nothing was sent to Tavus and the photo was "
        "deleted."
    )
    blocks = [section(f":no_entry_sign: {text}")]
    if request.consent_note:
        blocks.append(section(f"*Their note*\n> {escape(request.consent_note)}"))
    return Message(text=text, blocks=blocks)


def decline_note_post(request: ReplicaRequest) -> Message:
    depicted = f"<@{request.depicted_id}>" if request.depicted_id else "The person in the photo"
    note = escape(request.consent_note or "")
    text = f"<@{request.requester_id}> {depicted} added a note to their no: {note}"
    return Message(text=text, blocks=[section(f":speech_balloon: {depicted} added a note:\n> {note}")])


def expired_post(request: ReplicaRequest) -> Message:
    whom = (
        f"<@{request.depicted_id}>" if request.consent_status == "expired" and request.depicted_id
        else "any approver"
    )
    by = f"by {when(request.expires_at.timestamp())}" if request.expires_at else "in time"
    text = (
        f"<@{request.requester_id}> {whom} did not answer {by}, so "
        f"*{escape(request.replica_name)}* was not submitted and the photo was deleted. Nothing was sent to "
        "Tavus."
    )
    blocks: list[Block] = [section(f":hourglass: {text}")]
    if request.id is not None:
        retry = button("Retry with a new photo", RETRY_ACTION, str(request.id), primary=True)
        blocks.append({"type": "actions", "elements": [retry]})
    return Message(text=text, blocks=blocks)


def consent_unreachable(request: ReplicaRequest) -> Message:
    """The DM to the colleague could not be sent: whom to ask, and how."""
    depicted = f"<@{request.depicted_id}>" if request.depicted_id else "the person in the photo"
    text = (
        f"<@{request.requester_id}> I couldn't send {depicted} the consent request: Slack would not let me "
        "message them (their account may be deactivated or restricted, or direct messages from apps turned "
        "off). Please ask them directly: they can open *replica-bot* in Slack (Apps → replica-bot → Home) "
        "and Allow or Decline there. Nothing reaches Tavus until they do; you can cancel the request from "
        "its card."
    )
    return Message(text=text, blocks=[section(f":warning: {text}")])

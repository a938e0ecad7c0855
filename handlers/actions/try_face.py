"""The buttons under a finished face's posts: "Make a sample video" opens its form, "Talk to it" starts a
short test call whose link only the person who clicked receives. Whoever may not is told why, privately,
and nothing is recorded or sent to Tavus."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.domain.try_face import Face
from bot.slack import render
from bot.slack.errors import user_message
from bot.slack.replies import in_dm, only_to, privately
from handlers.payloads import Click, Payload
from handlers.services import Services
from handlers.views.sample_video import open_video_form, try_face_of


def on_make_video(ack: Ack, body: Payload, action: Payload, client: WebClient, services: Services) -> None:
    ack()
    click = Click.read(body, action)
    try_face = try_face_of(services)
    try:
        face = try_face.faces.by_request(click.value)
        form = try_face.videos.open(face, click.user_id, click.channel_id)
    except Refusal as refused:
        _refuse(client, click.channel_id, click.user_id, user_message(refused, services.catalogue))
        return
    channel = click.channel_id or face.card_channel_id or face.channel_id
    open_video_form(client, click.trigger_id, form, channel_id=channel)


def on_talk(ack: Ack, body: Payload, action: Payload, client: WebClient, services: Services) -> None:
    ack()
    click = Click.read(body, action)
    faces = try_face_of(services).faces
    talk(services, client, lambda: faces.by_request(click.value), click.user_id, click.channel_id)


def talk(
    services: Services, client: WebClient, face_of: Callable[[], Face], user_id: str, channel_id: str | None
) -> None:
    """After the ack: start a test call of the face `face_of` finds, and send its link to this person
    only (or why not)."""
    try_face = try_face_of(services)

    def start() -> render.Message:
        face = face_of()
        call = try_face.calls.start(face, user_id, channel_id or "")
        seconds = try_face.rules.call_seconds
        return render.call_link(face, call.join_url, seconds=seconds, conversation_id=call.job.tavus_id)

    services.intake.after_ack_say(only_to(client, channel_id, user_id), start)


def _refuse(client: WebClient, channel: str | None, user: str, message: render.Message) -> None:
    # Clicked in the App Home tab, there is no channel to answer in: answer in the DM.
    (privately(client, None, channel, user) if channel else in_dm(client, user))(message)

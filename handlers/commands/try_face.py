"""`/replica video <face_id> [script]` and `/replica talk <face_id>`: the buttons' work, for faces this bot
made. Refusals (an unknown id, a face not ready, someone not allowed) are answered in the ack, and Tavus
is not asked."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.slack import render
from bot.slack.command_text import ParsedCommand
from bot.slack.errors import user_message
from handlers.actions.try_face import talk
from handlers.payloads import SlashCommand
from handlers.services import Services
from handlers.views.sample_video import create_video, open_video_form, try_face_of


def on_try(
    ack: Ack, parsed: ParsedCommand, slash: SlashCommand, client: WebClient, services: Services
) -> None:
    if not parsed.args:
        ack(text=render.which_one(parsed.name), response_type="ephemeral")
        return
    try_face = try_face_of(services)
    user, channel = slash.requester.user_id, slash.requester.channel_id
    try:
        face = try_face.faces.by_face_id(parsed.args[0])
        if parsed.name == "talk":
            try_face.faces.check(face, user, channel)
        elif len(parsed.args) < 2:
            # No script: the form opens, prefilled, as the button's does.
            form = try_face.videos.open(face, user, channel)
            ack()
            open_video_form(client, slash.trigger_id, form, channel_id=channel)
            return
        else:
            job = try_face.videos.ask(face, user, channel, parsed.args[1])
    except Refusal as refused:
        ack(text=user_message(refused, services.catalogue).text, response_type="ephemeral")
        return
    if parsed.name == "talk":
        ack(text=render.starting_call(face), response_type="ephemeral")
        talk(services, client, lambda: face, user, channel)
        return
    # Recorded before the ack: from here on a crash is reconciled, never a second video.
    ack(text=render.video_asked(face).text, response_type="ephemeral")
    create_video(services, client, job, user, channel)

"""The "Create replica" message shortcut: the create form, with the message's photo."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.slack import render
from bot.slack.errors import user_message
from bot.slack.replies import privately
from handlers.payloads import FormPlace, MessageShortcut, Payload
from handlers.services import Services
from handlers.views.create_form import open_form


def on_shortcut(ack: Ack, shortcut: Payload, client: WebClient, services: Services) -> None:
    ack()
    used = MessageShortcut.read(shortcut)
    reply = privately(client, None, used.channel_id, used.user_id)
    try:
        services.access.require_channel(used.channel_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))
        return
    if not used.photos:
        reply(render.Message.of(render.no_photo_in_message()))
        return
    place = FormPlace(used.channel_id, used.thread_ts)
    open_form(services, client, used.trigger_id, place, photo=used.photos[0])

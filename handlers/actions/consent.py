"""The colleague in the photo answers in their DM: Allow (the request goes on), Decline (it ends, the
requester hears it, the photo is purged), and afterwards "Add a note" for the requester. Only they can
answer; anyone else, or a second answer, gets a clear ephemeral and changes nothing."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.domain.requests import Outcome
from bot.slack import render
from bot.slack.errors import user_message
from bot.slack.replies import to_clicker, to_requester
from handlers.payloads import Click, Payload, request_id_of
from handlers.services import Services


def on_allow(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    reply = to_clicker(client, respond, click.channel_id, click.user_id)
    try:
        allowed = services.answers().allow(request_id_of(click.value), click.user_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))
        return

    def job() -> Outcome:
        # The checks go on; whatever they need from the requester reaches them where they follow it.
        return services.submission.proceed(allowed)

    services.intake.after_ack(to_requester(client, allowed), job)


def on_decline(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    reply = to_clicker(client, respond, click.channel_id, click.user_id)
    try:
        services.answers().decline(request_id_of(click.value), click.user_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))


def on_note(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    reply = to_clicker(client, respond, click.channel_id, click.user_id)
    request_id = request_id_of(click.value)
    try:
        services.answers().check_note(request_id, click.user_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))
        return
    client.views_open(trigger_id=click.trigger_id, view=render.decline_note_form(request_id))

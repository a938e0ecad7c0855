"""An approver answers: Approve (the request goes on to Tavus) or Deny (a form asks why; the requester reads
it). Only an approver, never for their own request; the first decision counts."""

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


def on_approve(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    reply = to_clicker(client, respond, click.channel_id, click.user_id)
    try:
        approved = services.answers().approve(request_id_of(click.value), click.user_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))
        return

    def job() -> Outcome:
        return services.submission.proceed(approved)

    services.intake.after_ack(to_requester(client, approved), job)


def on_deny(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    reply = to_clicker(client, respond, click.channel_id, click.user_id)
    request_id = request_id_of(click.value)
    try:
        services.answers().check_approver(request_id, click.user_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))
        return
    client.views_open(trigger_id=click.trigger_id, view=render.deny_form(request_id))


def on_withdraw(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    """"Cancel request" on the card, while the colleague or an approver is asked."""
    ack()
    click = Click.read(body, action)
    reply = to_clicker(client, respond, click.channel_id, click.user_id)
    try:
        services.answers().withdraw(request_id_of(click.value), click.user_id)
    except Refusal as refused:
        reply(user_message(refused, services.catalogue))
        return
    reply(render.Message.of(render.WITHDRAWN))

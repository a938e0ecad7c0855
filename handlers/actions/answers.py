"""The answers of people other than the requester, and the requester's withdrawal while they wait:
- the colleague in the photo, in their DM: **Allow** (the request goes on), **Decline** (it ends, the
  requester hears it, the photo is purged), then **Add a note** for the requester;
- an approver: **Approve** (the request goes on to Tavus) or **Deny** (a form asks why);
- the requester, on the card: **Cancel request**.
Only the person asked can answer, and the first answer counts; anyone else, or a second answer, gets a
clear private message and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.domain.requests import Outcome
from bot.domain.waits import Waits
from bot.slack import render
from bot.slack.errors import user_message
from bot.slack.replies import Reply, to_clicker, to_requester
from handlers.payloads import Click, Payload, request_id_of
from handlers.services import Services

# One answer: what it does with the request the button names, for the person who clicked.
Answer = Callable[[Waits, int, str], Any]


def on_allow(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    _answer_and_go_on(ack, body, action, client, respond, services, Waits.allow)


def on_approve(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    _answer_and_go_on(ack, body, action, client, respond, services, Waits.approve)


def on_decline(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    _answer(ack, body, action, client, respond, services, Waits.decline)


def on_withdraw(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    if _answer(ack, body, action, client, respond, services, Waits.withdraw) is not None:
        _clicker(client, respond, Click.read(body, action))(render.Message.of(render.WITHDRAWN))


def on_note(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    """"Add a note" after a decline: the form, for the colleague who declined."""
    _open_form(ack, body, action, client, respond, services, Waits.check_note, render.decline_note_form)


def on_deny(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    """"Deny": the form that asks the approver why."""
    _open_form(ack, body, action, client, respond, services, Waits.check_approver, render.deny_form)


def _answer(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services,
    answer: Answer,
) -> Any:
    """Record the answer; what it returned, or None once the clicker was told why not."""
    ack()
    click = Click.read(body, action)
    try:
        return answer(services.answers(), request_id_of(click.value), click.user_id)
    except Refusal as refused:
        _clicker(client, respond, click)(user_message(refused, services.catalogue))
        return None


def _answer_and_go_on(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services,
    answer: Answer,
) -> None:
    """A yes: the request is "received" again, and its next gate (or Tavus) is taken after the ack;
    whatever that needs from the requester reaches them where they follow the request."""
    answered = _answer(ack, body, action, client, respond, services, answer)
    if answered is None:
        return

    def job() -> Outcome:
        return services.submission.proceed(answered)

    services.intake.after_ack(to_requester(client, answered), job)


def _open_form(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services,
    may: Answer, form: Callable[[int], dict[str, Any]],
) -> None:
    ack()
    click = Click.read(body, action)
    request_id = request_id_of(click.value)
    try:
        may(services.answers(), request_id, click.user_id)
    except Refusal as refused:
        _clicker(client, respond, click)(user_message(refused, services.catalogue))
        return
    client.views_open(trigger_id=click.trigger_id, view=form(request_id))


def _clicker(client: WebClient, respond: Respond, click: Click) -> Reply:
    return to_clicker(client, respond, click.channel_id, click.user_id)

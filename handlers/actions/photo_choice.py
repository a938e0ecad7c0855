"""The buttons under a photo Tavus' own check failed: "Let Tavus fix it", "Submit anyway" (both submit,
once, whoever clicks twice) and "Use another photo" (the retry form, prefilled). The requester's or an
admin's choice; anyone else is told who can."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.domain.photo_choice import PhotoChoices
from bot.domain.requests import Outcome
from bot.slack import render
from bot.slack.errors import user_message
from bot.slack.replies import privately, replace_original
from handlers.payloads import Click, FormPlace, Payload
from handlers.services import Services
from handlers.views.create_form import open_form


def on_fix(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    _submit(ack, body, action, client, respond, services, auto_fix=True)


def on_anyway(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    _submit(ack, body, action, client, respond, services, auto_fix=False)


def on_another(ack: Ack, body: Payload, action: Payload, client: WebClient, services: Services) -> None:
    ack()
    click = Click.read(body, action)
    try:
        plan = _choices(services).another(click.value, click.user_id)
    except Refusal as refused:
        reply = privately(client, None, click.channel_id or "", click.user_id)
        reply(user_message(refused, services.catalogue))
        return
    place = FormPlace(plan.channel_id, plan.thread_ts, retry_of=plan.request_id)
    open_form(services, client, click.trigger_id, place, name=plan.replica_name, voice=plan.voice_name)


def _submit(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services,
    *, auto_fix: bool,
) -> None:
    ack()
    click = Click.read(body, action)
    reply = privately(client, respond, click.channel_id or "", click.user_id)
    choices, submission = _choices(services), services.submission

    def job() -> Outcome:
        chosen = choices.submit(click.value, click.user_id, auto_fix=auto_fix)
        replace_original(respond, render.SUBMITTING)
        return submission.proceed(chosen)

    services.intake.after_ack(reply, job)


def _choices(services: Services) -> PhotoChoices:
    if services.photo_choices is None:
        raise RuntimeError("the photo choices are not wired in this runtime")
    return services.photo_choices


"""Buttons under a question or a doubtful photo: "Yes — submit it" / "Submit anyway", or "Cancel" /
"Use another photo". Only the requester can answer, and a double click submits once."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.errors import RequestGone
from bot.domain.requests import Outcome
from bot.slack import render
from bot.slack.replies import privately, replace_original
from handlers.payloads import Click, Payload
from handlers.services import Services


def on_confirm(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    reply = privately(client, respond, click.channel_id or "", click.user_id)
    submission, intake = services.submission, services.intake

    def job() -> Outcome:
        request_id = _request_id(click)
        if request_id is None:
            raise RequestGone()
        confirmed = submission.confirm(request_id, click.user_id)
        replace_original(respond, render.SUBMITTING)
        return submission.proceed(confirmed)

    intake.after_ack(reply, job)


def on_cancel(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    ack()
    click = Click.read(body, action)
    request_id = _request_id(click)
    if request_id is not None and services.submission.cancel(request_id, click.user_id):
        replace_original(respond, render.CANCELLED)


def _request_id(click: Click) -> int | None:
    try:
        return int(click.value)
    except ValueError:
        return None


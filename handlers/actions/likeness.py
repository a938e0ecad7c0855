"""The requester says whose face it is: a colleague picked from the list, or "Someone outside /
synthetic" ("This is me" is the confirm button, `handlers.actions.confirm`). Only they can answer, once;
then the request goes on (the colleague is asked first, or Tavus' image check runs)."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.requests import Likeness, Outcome
from bot.slack import render
from bot.slack.ids import LIKENESS_BLOCK_PREFIX
from bot.slack.replies import privately, replace_original
from handlers.payloads import Payload, request_id_of
from handlers.services import Services


def on_outside(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    _answer(ack, body, action, client, respond, services, Likeness.OUTSIDE, None)


def on_colleague(
    ack: Ack, body: Payload, action: Payload, client: WebClient, respond: Respond, services: Services
) -> None:
    picked = str(action.get("selected_user") or "")
    _answer(ack, body, action, client, respond, services, Likeness.COLLEAGUE, picked or None)


def _answer(
    ack: Ack,
    body: Payload,
    action: Payload,
    client: WebClient,
    respond: Respond,
    services: Services,
    likeness: Likeness,
    depicted: str | None,
) -> None:
    ack()
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or ""
    reply = privately(client, respond, channel, user)
    submission = services.submission

    def job() -> Outcome:
        answered = submission.confirm(_request_id(action), user, likeness=likeness, depicted_id=depicted)
        replace_original(respond, render.GOING_ON)
        return submission.proceed(answered)

    services.intake.after_ack(reply, job)


def _request_id(action: Payload) -> int:
    """The buttons carry the request id as their value; the colleague picker in its block's id."""
    block = str(action.get("block_id") or "")
    return request_id_of(str(action.get("value") or "") or block.removeprefix(LIKENESS_BLOCK_PREFIX))


"""Buttons: confirm or cancel a request that waits for the requester."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import messages
from bot.runtime import Runtime
from handlers.flow import privately, report

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    def on_confirm(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        handle_confirm(runtime, body, action, client, respond)

    def on_cancel(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        handle_cancel(runtime, body, action, client, respond)

    def on_link(ack: Ack) -> None:
        # Link buttons open in the browser; Slack still tells us about the click.
        ack()

    app.action(messages.CONFIRM_ACTION)(on_confirm)
    app.action(messages.CANCEL_ACTION)(on_cancel)
    app.action("open_guideline")(on_link)


def handle_confirm(
    runtime: Runtime, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id", "")
    result = runtime.submission.confirm(int(action["value"]), user)
    if result.refusal is None or result.request is not None:
        _replace(respond, "Thanks — submitting it to Tavus now.")
    report(runtime, result, privately(client, respond, channel, user))


def handle_cancel(
    runtime: Runtime, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    user = body["user"]["id"]
    if runtime.submission.cancel(int(action["value"]), user):
        _replace(respond, "Cancelled. Nothing was sent to Tavus.")


def _replace(respond: Respond, text: str) -> None:
    try:
        respond(text=text, replace_original=True)
    except Exception:
        log.info("could not replace the original message", exc_info=True)

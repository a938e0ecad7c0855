"""Buttons: confirm or cancel a request that waits for the requester; retry a failed one."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import messages
from bot.retry import plan_retry
from bot.runtime import Runtime
from handlers.flow import after_ack, privately, report
from handlers.replies import reply_privately
from handlers.views import open_modal

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

    def on_retry(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        handle_retry(runtime, body, action, client)

    app.action(messages.CONFIRM_ACTION)(on_confirm)
    app.action(messages.CANCEL_ACTION)(on_cancel)
    app.action(messages.RETRY_ACTION)(on_retry)
    app.action("open_guideline")(on_link)


def handle_confirm(
    runtime: Runtime, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id", "")
    reply = privately(client, respond, channel, user)

    def submit() -> None:
        result = runtime.submission.confirm(int(action["value"]), user)
        if result.refusal is None or result.request is not None:
            _replace(respond, "Thanks — submitting it to Tavus now.")
        report(runtime, result, reply)

    after_ack(runtime, reply, submit)


def handle_cancel(
    runtime: Runtime, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    user = body["user"]["id"]
    if runtime.submission.cancel(int(action["value"]), user):
        _replace(
            respond,
            "Nothing was sent to Tavus. Send another photo whenever you're ready: mention me "
            "with it, DM it to me, or use `/replica create`.",
        )


def handle_retry(runtime: Runtime, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
    """The retry button (failure post, DM, App Home): the form, prefilled, for the requester or an admin;
    anyone else is told who can."""
    user = body["user"]["id"]
    plan = plan_retry(runtime.engine, runtime.access, action.get("value", ""), user)
    if isinstance(plan, str):
        channel = (body.get("channel") or {}).get("id")
        if channel:
            reply_privately(client, None, channel=channel, user=user, text=plan)
        else:
            # Clicked in the App Home tab: there is no channel to answer in, so answer in the DM.
            client.chat_postMessage(channel=user, text=plan)
        return
    open_modal(
        runtime,
        client,
        body["trigger_id"],
        channel_id=plan.channel_id,
        thread_ts=plan.thread_ts,
        name=plan.replica_name,
        voice=plan.voice_name,
        retry_of=plan.request_id,
    )


def _replace(respond: Respond, text: str) -> None:
    try:
        respond(text=text, replace_original=True)
    except Exception:
        log.info("could not replace the original message", exc_info=True)

"""The "Create replica" message shortcut: the same modal, with the message's photo."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.slack_files import photo_files
from handlers.replies import reply_privately
from handlers.views import open_modal

CALLBACK_ID = "create_replica"


def register(app: App, runtime: Runtime) -> None:
    def on_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        handle_shortcut(runtime, shortcut, client)

    app.shortcut(CALLBACK_ID)(on_shortcut)


def handle_shortcut(runtime: Runtime, shortcut: dict[str, Any], client: WebClient) -> None:
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id", "")
    if not runtime.access.channel_allowed(channel):
        reply_privately(client, None, channel=channel, user=shortcut["user"]["id"],
                        text=runtime.access.where_allowed())
        return
    files = [
        f
        for f in message.get("files") or []
        if f.get("id") in {p.id for p in photo_files(message.get("files"))}
    ]
    if not files:
        reply_privately(
            client,
            None,
            channel=channel,
            user=shortcut["user"]["id"],
            text="That message has no photo. Use the shortcut on a message with a JPG or PNG headshot.",
        )
        return
    open_modal(
        runtime,
        client,
        shortcut["trigger_id"],
        channel_id=channel,
        thread_ts=message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts"),
        file=files[0],
    )

"""Photos sent to the bot: a mention in a channel, or a DM. Answers go to that message's thread."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.domain.errors import Refusal
from bot.slack import render
from bot.slack.command_text import CommandError, as_create, create_args
from bot.slack.errors import user_message
from bot.slack.replies import in_thread
from handlers.payloads import Payload, PhotoMessage
from handlers.services import Services

log = logging.getLogger(__name__)

# Subtypes that are edits, deletions, joins and the like: nobody is asking for anything.
_IGNORED_SUBTYPES = {"message_changed", "message_deleted", "channel_join", "bot_message", "thread_broadcast"}


def on_mention(event: Payload, body: Payload, client: WebClient, services: Services) -> None:
    handle(event, body, client, services)


def on_message(event: Payload, body: Payload, client: WebClient, services: Services) -> None:
    # In channels the bot acts on mentions only; the DM is where a bare photo is a request.
    if event.get("channel_type") == "im" and event.get("subtype") not in _IGNORED_SUBTYPES:
        handle(event, body, client, services)


def handle(event: Payload, body: Payload, client: WebClient, services: Services) -> None:
    message = PhotoMessage.read(event, body)
    if message is None:
        return
    requester = message.requester
    # One upload can arrive as app_mention and as message/file_share, and Slack retries: one request only.
    if not services.first_delivery(message.delivery_keys):
        log.info("ignoring a repeat delivery of %s/%s", requester.channel_id, message.ts)
        return
    reply = in_thread(client, requester.channel_id, message.thread_ts)
    photos = message.photos
    try:
        services.access.require_channel(requester.channel_id)
        if message.sheets and services.batches is not None:
            # A CSV is a batch: written down now, read and checked after the ack, on its own card.
            sheet = message.sheets[0]
            services.batches.open_csv(requester, sheet.id, sheet.name, thread_ts=message.thread_ts)
            return
        parsed = as_create(message.text)
        links = bool(parsed and (parsed.args or {"video", "image"} & set(parsed.options)))
        if parsed is None or not (photos or links):
            reply(render.Message.of(render.upload_help(services.voices.names)))
            return
        args = create_args(parsed)
        draft = services.submission.draft(
            requester,
            args,
            uploaded=bool(photos),
            thread_ts=message.thread_ts,
            slack_file_id=photos[0].id if photos else None,
        )
    except (CommandError, Refusal) as refused:
        reply(user_message(refused, services.catalogue))
        return
    # Bolt acked the event already: record the request first, so a crash from here on cannot lose it. The
    # download, checks and Tavus then leave Bolt's listener threads.
    draft = services.submission.receive(draft)
    intake = services.intake
    linked = bool(args.image_url or args.video_url)
    job = intake.upload(draft, photos[0]) if photos and not linked else intake.link(draft)
    intake.after_ack(reply, job, draft=draft)

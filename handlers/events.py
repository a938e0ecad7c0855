"""Photos sent to the bot: a mention in a channel, or a DM. Answers go to that message's thread."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import messages
from bot.commands import CommandError, ParsedCommand, create_args, parse
from bot.runtime import Runtime
from bot.slack_files import photo_files
from bot.submission import Requester
from handlers.flow import after_ack, in_thread, report, submit_slack_photo
from storage import repository

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
# Subtypes that are edits, deletions, joins and the like: nobody is asking for anything.
_IGNORED_SUBTYPES = {"message_changed", "message_deleted", "channel_join", "bot_message", "thread_broadcast"}


def register(app: App, runtime: Runtime) -> None:
    def on_mention(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        handle_photo_message(runtime, client, event, body)

    def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        # In channels the bot acts on mentions only; the DM is where a bare photo is a request.
        if event.get("channel_type") == "im" and event.get("subtype") not in _IGNORED_SUBTYPES:
            handle_photo_message(runtime, client, event, body)

    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


def handle_photo_message(
    runtime: Runtime, client: WebClient, event: dict[str, Any], body: dict[str, Any]
) -> None:
    if event.get("bot_id") or not event.get("user"):
        return
    channel, ts = event["channel"], event["ts"]
    # One upload can arrive as app_mention and as message/file_share, and Slack retries: one request only.
    keys = [f"message:{channel}:{ts}"] + ([f"event:{body['event_id']}"] if body.get("event_id") else [])
    if not repository.first_time(runtime.engine, keys):
        log.info("ignoring a repeat delivery of %s/%s", channel, ts)
        return
    thread_ts = event.get("thread_ts") or ts
    reply = in_thread(client, channel, thread_ts)
    if not runtime.access.channel_allowed(channel):
        reply(runtime.access.where_allowed(), None)
        return
    requester = Requester(user_id=event["user"], channel_id=channel, team_id=body.get("team_id"))
    files = photo_files(event.get("files"))
    try:
        parsed = _as_create(_MENTION.sub("", event.get("text") or ""))
        if parsed is None or (not files and not parsed.args and not {"video", "image"} & set(parsed.options)):
            reply(messages.upload_help(runtime.settings.voices), None)
            return
        args = create_args(parsed)
        draft = runtime.submission.draft(
            requester,
            args,
            uploaded=bool(files),
            thread_ts=thread_ts,
            slack_file_id=files[0].id if files else None,
        )
    except CommandError as exc:
        reply(f":warning: {exc}", None)
        return
    # Bolt acked the event already: record the request first, so a crash from here on cannot lose it. The
    # download, checks and Tavus then leave Bolt's listener threads.
    draft = runtime.submission.receive(draft)
    if files and not (args.image_url or args.video_url):
        after_ack(runtime, reply, lambda: submit_slack_photo(runtime, draft, files[0], reply), draft=draft)
    else:
        after_ack(
            runtime,
            reply,
            lambda: report(runtime, runtime.submission.submit_link(draft), reply),
            draft=draft,
        )


def _as_create(text: str) -> ParsedCommand | None:
    """`create voice=anna`, or just `voice=anna name="Ana"` next to a photo; None when it asks for help."""
    stripped = text.strip()
    parsed = parse(stripped)
    if parsed.name == "create":
        return parsed
    if parsed.name == "help" and parsed.unknown is None and stripped:
        return None
    if parsed.name != "help":
        return None
    # Anything else next to a photo is read as options for `create`; chatty words are not image links.
    as_create = parse(f"create {stripped}")
    links = tuple(a for a in as_create.args if a.lower().startswith(("http://", "https://")))
    return ParsedCommand("create", links, as_create.options)

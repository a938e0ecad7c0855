"""Private replies to one person, wherever they typed."""

from __future__ import annotations

import logging

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)


def reply_privately(
    client: WebClient,
    respond: Respond | None,
    *,
    channel: str,
    user: str,
    text: str,
    blocks: list[dict] | None = None,
    thread_ts: str | None = None,
) -> None:
    """An ephemeral message to `user`; falls back to the command's response_url where the bot cannot post
    (a channel it was not invited to), and never raises: a reply that fails must not hide the original."""
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts)
        return
    except SlackApiError as exc:
        log.info("ephemeral reply in %s failed (%s); trying response_url", channel, exc.response.get("error"))
    except SlackClientError:
        log.warning("ephemeral reply in %s failed", channel, exc_info=True)
    if respond is None:
        return
    try:
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
    except Exception:
        log.warning("reply through response_url failed too", exc_info=True)

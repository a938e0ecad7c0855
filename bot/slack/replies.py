"""Saying something to the requester where they are looking: in the thread of their message, or privately
(ephemeral) in the channel. A reply that fails is logged and never raises: it must not hide what it was
about, nor turn into a second error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.render import Message
from storage.models import ReplicaRequest

log = logging.getLogger(__name__)

Reply = Callable[[Message], None]


def in_thread(client: WebClient, channel: str, thread_ts: str) -> Reply:
    def reply(message: Message) -> None:
        try:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks or None
            )
        except SlackApiError as exc:
            log.warning("could not reply in thread %s/%s: %s", channel, thread_ts, exc.response.get("error"))
        except SlackClientError:
            log.warning("could not reply in thread %s/%s", channel, thread_ts, exc_info=True)

    return reply


def privately(client: WebClient, respond: Respond | None, channel: str, user: str) -> Reply:
    """An ephemeral message to `user` in `channel`; where the bot cannot post there (a channel it was not
    invited to), the command's response_url (`respond`) instead."""

    def reply(message: Message) -> None:
        blocks = message.blocks or None
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=message.text, blocks=blocks)
            return
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.info("ephemeral reply in %s failed (%s); trying response_url", channel, error)
        except SlackClientError:
            log.warning("ephemeral reply in %s failed", channel, exc_info=True)
        if respond is None:
            return
        try:
            respond(text=message.text, blocks=blocks, response_type="ephemeral", replace_original=False)
        except Exception:
            log.warning("reply through response_url failed too", exc_info=True)

    return reply


def in_dm(client: WebClient, user: str) -> Reply:
    """A message in the bot's DM with `user` (a click in the App Home has no channel to answer in)."""

    def reply(message: Message) -> None:
        try:
            client.chat_postMessage(channel=user, text=message.text, blocks=message.blocks or None)
        except SlackClientError:
            log.warning("could not reply to %s in their DM", user, exc_info=True)

    return reply



def to_clicker(client: WebClient, respond: Respond | None, channel: str | None, user: str) -> Reply:
    """To whoever clicked a button: privately where they clicked it, or in their DM for a click in the App
    Home tab, which has no channel to answer in."""
    return privately(client, respond, channel, user) if channel else in_dm(client, user)
def only_to(client: WebClient, channel: str | None, user: str) -> Reply:
    """Something only `user` may see (a test call's link): an ephemeral in `channel`, or where one cannot
    be posted there (or there is no channel), their DM with the bot. Never the channel itself."""
    dm = in_dm(client, user)

    def reply(message: Message) -> None:
        if channel:
            try:
                client.chat_postEphemeral(
                    channel=channel, user=user, text=message.text, blocks=message.blocks or None
                )
                return
            except SlackApiError as exc:
                error = exc.response.get("error")
                log.info("ephemeral to %s in %s failed (%s); sending it to their DM", user, channel, error)
            except SlackClientError:
                log.warning("ephemeral to %s in %s failed; trying their DM", user, channel, exc_info=True)
        dm(message)

    return reply


def where_asked(client: WebClient, channel: str, thread_ts: str | None, user: str) -> Reply:
    """In the thread a request came from, if it came from one (an upload, a retry); else privately."""
    return in_thread(client, channel, thread_ts) if thread_ts else privately(client, None, channel, user)


def to_requester(client: WebClient, request: ReplicaRequest) -> Reply:
    """To the person who asked for `request`, wherever they follow it: the thread under its card once the
    card is up, else where they asked."""
    channel = request.card_channel_id or request.channel_id
    moved = channel != request.channel_id
    thread = request.card_ts if moved else (request.thread_ts or request.card_ts)
    if request.card_ts and thread:
        return in_thread(client, channel, thread)
    return where_asked(client, request.channel_id, request.thread_ts, request.requester_id)


def replace_original(respond: Respond, text: str) -> None:
    """Replace the message a button was clicked in (its question is answered); a failure is only logged."""
    try:
        respond(text=text, replace_original=True)
    except Exception:
        log.info("could not replace the original message", exc_info=True)

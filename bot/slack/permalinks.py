"""Permalinks to the bot's posts (a retry's card links back to the one that failed; the requester's DM links
to the post in the thread), asked once each and remembered."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.pacing import PERMALINK, NotNow, PacedCalls

log = logging.getLogger(__name__)

_CACHE_SIZE = 1000


class Permalinks:
    def __init__(self, client: WebClient, calls: PacedCalls) -> None:
        self._client = client
        self._calls = calls
        self._known: dict[tuple[str, str], str] = {}

    def of(self, channel: str, ts: str, *, team: str | None) -> str | None:
        """The message's permalink, or None if Slack cannot say (or not now); a missing link never blocks
        anything."""
        key = (channel, ts)
        if key not in self._known:
            try:
                response = self._calls.call(
                    PERMALINK,
                    team,
                    lambda: self._client.chat_getPermalink(channel=channel, message_ts=ts),
                    wait_up_to=1.0,
                )
            except NotNow:
                log.info("no permalink for %s/%s: out of budget", channel, ts)
                return None
            except SlackApiError as exc:
                log.info("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
                return None
            except (SlackClientError, OSError):
                log.info("no permalink for %s/%s", channel, ts, exc_info=True)
                return None
            if len(self._known) >= _CACHE_SIZE:
                self._known.clear()
            self._known[key] = str(response["permalink"])
        return self._known[key]

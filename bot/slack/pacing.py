"""Staying under Slack's rate limits: one budget per Web API method and workspace (and, for
chat.postMessage, per channel too), kept in the database so every process on it spends the same one.

Slack counts calls per method, per workspace, per app (docs: "Rate limits"). The defaults below are the
documented tiers; `SLACK_RATE_LIMITS` overrides any of them. The bot paces itself against these budgets
instead of learning them from 429s, and a 429 that comes anyway pauses only what Slack named: that method
in that workspace (and channel, for chat.postMessage), for its Retry-After.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from storage.db import DatabaseError, Engine
from storage.repository import budgets
from storage.repository.budgets import Budget
from storage.repository.leases import ANY_TEAM

log = logging.getLogger(__name__)

POST = "chat.postMessage"
# chat.postMessage's second limit, across every channel of the workspace.
POST_WORKSPACE = "chat.postMessage.workspace"
UPDATE = "chat.update"
PUBLISH = "views.publish"
OPEN = "conversations.open"
PERMALINK = "chat.getPermalink"
HISTORY = "conversations.history"
REPLIES = "conversations.replies"
# Each budget runs this much below its limit: clocks and network delays between us and Slack would
# otherwise turn a call that left exactly on time into a 429.
HEADROOM = 0.05


@dataclass(frozen=True)
class Rate:
    """`per_minute` calls on average, and up to `burst` at once after a quiet spell."""

    per_minute: float
    burst: int = 1


TIER_1, TIER_2, TIER_3, TIER_4 = Rate(1, 1), Rate(20, 3), Rate(50, 5), Rate(100, 10)
DEFAULT_RATES: dict[str, Rate] = {
    # About one a second per channel, with short bursts.
    POST: Rate(60, 2),
    # Slack keeps a workspace-wide ceiling for posts without publishing its size: assumed at 100 a second,
    # so that only the per-channel limit binds in practice; lower it if Slack's 429s show otherwise.
    POST_WORKSPACE: Rate(6000, 200),
    UPDATE: TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    PUBLISH: TIER_4,
    OPEN: TIER_3,
    # "Special" in Slack's method docs, without a figure: assumed Tier 4.
    PERMALINK: TIER_4,
    HISTORY: TIER_3,
    REPLIES: TIER_3,
}
# Commercially distributed apps outside the Marketplace: 1 read a minute, at most 15 objects each.
COMMERCIAL_READS = Rate(1, 1)
COMMERCIAL_READ_LIMIT = 15
READ_LIMIT = 200


def rates_for(distribution: str, overrides: Mapping[str, Rate]) -> dict[str, Rate]:
    """The budgets for an app distributed as `distribution`, with `overrides` (from SLACK_RATE_LIMITS)."""
    rates = dict(DEFAULT_RATES)
    if distribution == "commercial":
        rates[HISTORY] = rates[REPLIES] = COMMERCIAL_READS
    rates.update(overrides)
    return rates


class Pacer:
    """Asks the shared budgets before each call. `take` never sleeps: it says how long to wait, and the
    caller decides whether to wait or to come back later."""

    def __init__(
        self,
        engine: Engine,
        rates: Mapping[str, Rate] | None = None,
        *,
        read_limit: int = READ_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._rates = dict(rates if rates is not None else DEFAULT_RATES)
        self.read_limit = read_limit
        self._clock = clock

    def take(self, method: str, team: str | None, channel: str | None = None) -> float:
        """Spend one call of `method`: 0.0 if it may go now, else the seconds until it may."""
        try:
            return budgets.take(self._engine, self._budgets(method, team, channel), now=self._clock())
        except DatabaseError:
            # The budget is a courtesy to Slack; a database hiccup must not stop the notification.
            log.warning("could not read the Slack budget for %s; calling anyway", method, exc_info=True)
            return 0.0

    def available(self, method: str, team: str | None) -> int:
        """How many calls of `method` the workspace's budget allows now (nothing is spent)."""
        try:
            return budgets.available(self._engine, self._budget(method, team), now=self._clock())
        except DatabaseError:
            log.warning("could not read the Slack budget for %s", method, exc_info=True)
            return 0

    def limited(self, method: str, team: str | None, channel: str | None, retry_after: float) -> None:
        """Slack answered 429: pause `method` for this workspace (and channel, for posts)."""
        key = self._key(method, team, channel if method == POST else None)
        try:
            budgets.pause(self._engine, key, until=self._clock() + retry_after)
        except DatabaseError:
            log.warning("could not record Slack's Retry-After for %s", method, exc_info=True)

    def interval(self, method: str) -> float:
        """Seconds between two calls of `method` at its steady rate."""
        return self._budget(method, None).interval

    def _budgets(self, method: str, team: str | None, channel: str | None) -> list[Budget]:
        if method == POST:
            # Per channel and, across channels, the workspace ceiling: both must allow it.
            return [self._budget(POST, team, channel), self._budget(POST_WORKSPACE, team)]
        return [self._budget(method, team)]

    def _budget(self, method: str, team: str | None, channel: str | None = None) -> Budget:
        rate = self._rates.get(method, TIER_3)
        interval = 60.0 / rate.per_minute * (1 + HEADROOM)
        return Budget(self._key(method, team, channel), interval, rate.burst)

    @staticmethod
    def _key(method: str, team: str | None, channel: str | None) -> str:
        key = f"{team or ANY_TEAM}:{method}"
        return f"{key}:{channel}" if channel else key


class NotNow(Exception):
    """The budget (or a Retry-After) says wait `seconds` before this call; come back then. For a budget
    of the whole workspace, `queue` names it and `spacing` is its interval: callers held back by the same
    queue come back one `spacing` apart instead of all at once."""

    def __init__(self, seconds: float, *, queue: str | None = None, spacing: float = 0.0) -> None:
        super().__init__(f"rate limited for {seconds:.1f} s")
        self.seconds = seconds
        self.queue = queue
        self.spacing = spacing


T = TypeVar("T")


class PacedCalls:
    """Makes one Web API call within its budget: waits up to `wait_up_to` seconds for room, else raises
    `NotNow`; a 429 pauses what Slack named and raises `NotNow` with its Retry-After. Without a pacer,
    calls go straight out (a 429 still becomes `NotNow`)."""

    def __init__(self, pacer: Pacer | None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.pacer = pacer
        self._sleep = sleep

    def call(
        self,
        method: str,
        team: str | None,
        send: Callable[[], T],
        *,
        channel: str | None = None,
        wait_up_to: float = 0.0,
    ) -> T:
        if self.pacer is not None:
            waited = 0.0
            while (wait := self.pacer.take(method, team, channel)) > 0:
                if waited + wait > wait_up_to:
                    queue = None if channel else f"{team or ANY_TEAM}:{method}"
                    raise NotNow(wait, queue=queue, spacing=self.pacer.interval(method))
                self._sleep(wait)
                waited += wait
        try:
            return send()
        except SlackApiError as exc:
            if exc.response is None or exc.response.status_code != 429:
                raise
            seconds = retry_after(exc) or 1.0
            if self.pacer is not None:
                self.pacer.limited(method, team, channel, seconds)
            log.info("Slack rate-limited %s for %.0f s", method, seconds)
            raise NotNow(seconds) from exc


def retry_after(exc: SlackApiError) -> float | None:
    value = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return float(value[0] if isinstance(value, list) else value) if value else None
    except ValueError:
        return None

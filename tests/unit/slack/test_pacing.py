"""bot.slack.pacing: which budgets a call spends, what a 429 pauses, and the documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy.engine import Engine

from bot.slack.pacing import (
    COMMERCIAL_READS,
    DEFAULT_RATES,
    HISTORY,
    POST,
    REPLIES,
    UPDATE,
    NotNow,
    PacedCalls,
    Pacer,
    Rate,
    rates_for,
)
from storage.db import make_engine, migrate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'pacing.db'}")
    migrate(engine)
    return engine


def _429(retry_after: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.update",
        req_args={},
        data={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": retry_after},
        status_code=429,
    )
    return SlackApiError("ratelimited", response)


def test_the_defaults_are_the_documented_tiers() -> None:
    assert DEFAULT_RATES[UPDATE].per_minute == 50  # Tier 3
    assert DEFAULT_RATES["views.publish"].per_minute == 100  # Tier 4
    assert DEFAULT_RATES["chat.postEphemeral"].per_minute == 100  # Tier 4
    assert DEFAULT_RATES[REPLIES].per_minute == DEFAULT_RATES[HISTORY].per_minute == 50  # Tier 3
    assert DEFAULT_RATES[POST].per_minute == 60  # about one a second per channel
    commercial = rates_for("commercial", {})
    assert commercial[REPLIES] == commercial[HISTORY] == COMMERCIAL_READS == Rate(1, 1)
    assert rates_for("internal", {UPDATE: Rate(10, 2)})[UPDATE] == Rate(10, 2)


def test_a_post_spends_its_channel_and_the_workspace_ceiling(sqlite_engine: Engine) -> None:
    clock = Clock()
    rates = {POST: Rate(60, 1), "chat.postMessage.workspace": Rate(120, 2)}
    pacer = Pacer(sqlite_engine, rates, clock=clock)
    assert pacer.take(POST, "T1", "C1") == 0.0
    assert pacer.take(POST, "T1", "C1") > 0.9  # the channel: about one a second
    assert pacer.take(POST, "T1", "C2") == 0.0
    assert pacer.take(POST, "T1", "C3") > 0  # the workspace: a burst of 2, then one per 0.5 s
    assert pacer.take(POST, "T2", "C3") == 0.0  # another workspace has its own budget


def test_a_429_pauses_that_method_in_that_workspace_only(sqlite_engine: Engine) -> None:
    clock = Clock()
    pacer = Pacer(sqlite_engine, DEFAULT_RATES, clock=clock)
    calls = PacedCalls(pacer, sleep=lambda _: None)

    def refused() -> None:
        raise _429("30")

    with pytest.raises(NotNow) as waited:
        calls.call(UPDATE, "T1", refused)
    assert waited.value.seconds == 30
    assert pacer.take(UPDATE, "T1") >= 29
    assert pacer.take(UPDATE, "T2") == 0.0
    assert pacer.take(POST, "T1", "C1") == 0.0
    assert pacer.available(UPDATE, "T1") == 0
    clock.now += 31
    assert pacer.available(UPDATE, "T1") > 0


def test_a_429_on_a_post_pauses_only_that_channel(sqlite_engine: Engine) -> None:
    clock = Clock()
    pacer = Pacer(sqlite_engine, DEFAULT_RATES, clock=clock)
    pacer.limited(POST, "T1", "C1", 20)
    assert pacer.take(POST, "T1", "C1") >= 19
    assert pacer.take(POST, "T1", "C2") == 0.0


def test_calls_wait_inline_only_as_long_as_allowed(sqlite_engine: Engine) -> None:
    clock = Clock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    pacer = Pacer(sqlite_engine, {UPDATE: Rate(60, 1)}, clock=clock)
    calls = PacedCalls(pacer, sleep=sleep)
    assert calls.call(UPDATE, "T1", lambda: "first") == "first"
    assert calls.call(UPDATE, "T1", lambda: "second", wait_up_to=2) == "second"
    assert slept and 1.0 <= slept[0] <= 1.1
    with pytest.raises(NotNow):
        calls.call(UPDATE, "T1", lambda: "third", wait_up_to=0)

"""Slack's limits per method and workspace, end to end: outcomes are never queued behind card refreshes,
cards end on their final state, budgets are shared between processes, and a post is made once even when
the reads that check for it are rationed to one a minute."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory
from tests.e2e.helpers import CHANNEL, create, rendered, wait_card, wait_thread, wait_until_quiet


@pytest.fixture
def limited(slack: SlackFake) -> Iterator[SlackFake]:
    """The fake with every method's tier and the per-channel posting limit on (reset() turns them off)."""
    slack.tier_limits = True
    slack.enforce_rate_limits = True
    yield slack
    slack.reset()


def _cards(slack: SlackFake) -> list[dict]:
    return [m for m in slack.messages(CHANNEL) if not m.get("thread_ts")]


def _thread_posts(slack: SlackFake, card: dict) -> list[dict]:
    return [m for m in slack.thread(CHANNEL, card["ts"]) if m["user"] == slack.bot_user_id]


def test_a_failure_is_delivered_promptly_while_chat_update_is_exhausted(
    start_app: AppFactory, limited: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    limited.set_rate_limit("chat.update", 1, 1)
    app = start_app(SLACK_RATE_LIMITS="chat.update=1/1")
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=4))
    create(app, images)
    card = wait_card(limited)
    # Progress moves the card on every poll; its one edit a minute goes at once, then the budget is spent.
    limited.wait_for(lambda: limited.calls("chat.update"), timeout=10)
    limited.exhaust("chat.update")
    failed_at = None
    while failed_at is None:
        if tavus.replicas()[0]["status"] == "error":
            failed_at = time.time()
        time.sleep(0.05)

    post = wait_thread(limited, card, timeout=10)[0]
    assert "Headphones" in rendered(post)
    assert post["time"] - failed_at < 3, "the failure waited behind the card"
    # The bot paced itself: it did not try the spent chat.update again and again.
    assert limited.limited_calls("chat.update") <= 1
    assert len(limited.calls("chat.update")) <= 2


def test_a_429_on_chat_update_does_not_delay_a_post_in_the_same_channel(
    start_app: AppFactory, limited: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=3))
    create(app, images)
    card = wait_card(limited)
    limited.inject("chat.update", status=429, retry_after=30, count=1)
    limited.wait_for(lambda: any(c["status"] == 429 for c in limited.calls("chat.update")), timeout=10)
    limited_at = time.time()

    post = wait_thread(limited, card, timeout=10)[0]
    assert "Headphones" in rendered(post)
    assert post["time"] - limited_at < 5
    wait_until_quiet(limited, quiet=1.5)
    # chat.update waits out its Retry-After for the workspace: asked once, not again inside the pause.
    assert len(limited.calls("chat.update")) == 1
    posts = [c for c in limited.calls("chat.postMessage") if c["time"] > limited_at]
    assert posts and all(c["status"] == 200 for c in posts)


def test_coalescing_leaves_each_card_on_its_final_state(
    start_app: AppFactory, limited: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    limited.set_rate_limit("chat.update", 30, 2)
    app = start_app(SLACK_RATE_LIMITS="chat.update=30/2")
    names = [f"Coalesced {i}" for i in range(4)]
    for i, name in enumerate(names):
        outcome = "completed" if i % 2 else "error"
        tavus.script(ScriptedOutcome(outcome, error_message="HeadphonesError", training_seconds=3))
        create(app, images, name)
    cards = {name: wait_card(limited, name) for name in names}

    def final() -> bool:
        # The emulator decides which request got which outcome (the creates race each other).
        ended = {r["replica_name"]: r["status"] for r in tavus.replicas()}
        texts = {m["ts"]: rendered(m).lower() for m in _cards(limited)}
        words = {"error": "failed", "completed": "ready"}
        return all(
            ended.get(name) in words and words[ended[name]] in texts[cards[name]["ts"]] for name in names
        )

    limited.wait_for(final, timeout=60)
    wait_until_quiet(limited, tavus, quiet=3, timeout=60)
    assert final(), "a card was left on an older state"
    assert limited.limited_calls("chat.update") == 0
    # Progress changed on nearly every poll (~0.3 s) for 3 s per card; the edits were far fewer.
    polls = [c for c in tavus.calls() if c["method"] == "GET"]
    assert len(limited.calls("chat.update")) < len(polls) / 2


def test_two_processes_share_one_budget(
    start_app: AppFactory,
    migrated_postgres_url: str,
    limited: SlackFake,
    tavus: TavusEmulator,
    images: StaticServer,
) -> None:
    limited.set_rate_limit("chat.update", 12, 2)
    env = {"SLACK_RATE_LIMITS": "chat.update=12/2"}
    first = start_app(database_url=migrated_postgres_url, **env)
    start_app(database_url=migrated_postgres_url, **env)
    for i in range(6):
        tavus.script(ScriptedOutcome("completed", training_seconds=600))
        create(first, images, f"Shared {i}")
    for i in range(6):
        wait_card(limited, f"Shared {i}")
    began = time.time()
    time.sleep(20)
    edits = [c for c in limited.calls("chat.update") if c["time"] >= began]
    # One budget of 12 a minute (a burst of 2, then one per ~5 s) whichever process edits; two budgets
    # would allow twice that, and the fake would have answered 429.
    assert 2 <= len(edits) <= 2 + 20 / 5 + 1
    assert limited.limited_calls("chat.update") == 0


def test_exactly_once_across_a_crash_while_replies_are_limited_to_one_a_minute(
    start_app: AppFactory, limited: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    limited.set_rate_limit("conversations.replies", 1, 1)
    limited.set_rate_limit("conversations.history", 1, 1)
    limited.max_read_objects = 15
    app = start_app(SLACK_DISTRIBUTION="commercial")
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=2))
    create(app, images)
    card = wait_card(limited)
    # Slack stores the failure post, and the app dies before it hears the answer.
    limited.delay_response("chat.postMessage", 10)
    limited.wait_for(lambda: _thread_posts(limited, card), timeout=20)
    app.kill9()
    app.start()
    # The restarted app reads the thread once (its one read of the minute) and finds the post.
    limited.wait_for(lambda: limited.calls("conversations.replies"), timeout=60)
    wait_until_quiet(limited, quiet=3, timeout=60)
    assert len(_thread_posts(limited, card)) == 1
    reads = limited.calls("conversations.replies") + limited.calls("conversations.history")
    assert len(reads) == 1 and reads[0]["status"] == 200
    assert limited.limited_calls("conversations.replies") == 0
    # The DM that points at the post went out too, once.
    posts = limited.calls("chat.postMessage")
    dms = [c for c in posts if str(c["params"].get("channel", "")).startswith("D")]
    assert len([c for c in dms if c["status"] == 200]) == 1

"""The order posts go out in: an outcome under a card people already see never waits behind cards for
newer requests, a new card's own thread posts follow it at once, and a channel with a backlog steps aside
so an outcome queued meanwhile is not kept waiting."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.domain.catalogue import Catalogue
from bot.sandbox.slack_fake import SlackFake
from bot.slack.delivery import Deliverer
from bot.slack.pacing import DEFAULT_RATES, POST, Pacer, Rate
from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, ReplicaRequest, RequestStatus
from tests.servers import BOT_TOKEN

CHANNEL = "C1"


def _request(engine: Engine, name: str, *, channel: str = CHANNEL, card_ts: str | None = None) -> int:
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        row = ReplicaRequest(
            channel_id=channel,
            card_channel_id=channel if card_ts else None,
            card_ts=card_ts,
            requester_id="U1",
            replica_name=name,
            replica_id=f"r{token[:11]}",
            callback_token=f"cb-{token}",
            idempotency_key=f"idem-{token}",
            status=RequestStatus.FAILED,
            error_message="HeadphonesError",
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _queue(engine: Engine, request_id: int, kind: OutboxKind) -> int:
    with session_scope(engine) as session:
        row = OutboxMessage(request_id=request_id, kind=kind, dedupe_key=f"{request_id}:{kind}")
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def test_an_outcome_under_a_posted_card_goes_before_new_cards_and_each_new_card_before_its_thread(
    engine: Engine, slack: SlackFake
) -> None:
    watched = _request(engine, "Watched", card_ts=slack.add_message(CHANNEL, "card", user="UBOT")["ts"])
    first, second, third = (_request(engine, name) for name in ("New 1", "New 2", "New 3"))
    queued = [_queue(engine, request_id, OutboxKind.CARD) for request_id in (first, second, third)]
    second_failure = _queue(engine, second, OutboxKind.FAILURE)
    watched_failure = _queue(engine, watched, OutboxKind.FAILURE)
    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url + "/api/")
    deliverer = Deliverer(
        engine, client, Catalogue("https://docs.tavus.io"), owner="d1", notify_requester_dm=False
    )

    deliverer.deliver_due()

    posted = [
        call["params"]["metadata"]["event_payload"]["outbox_id"] for call in slack.calls("chat.postMessage")
    ]
    assert posted == [watched_failure, queued[0], queued[1], second_failure, queued[2]]


def _outbox_id(call: dict) -> int:
    return int(call["params"]["metadata"]["event_payload"]["outbox_id"])


def test_a_channel_with_a_backlog_steps_aside_so_an_outcome_queued_meanwhile_is_not_kept_waiting(
    engine: Engine, slack: SlackFake
) -> None:
    # New cards go two a second in their channel: twelve of them take six seconds.
    pacer = Pacer(engine, {**DEFAULT_RATES, POST: Rate(120, 1)})
    cards = [_queue(engine, _request(engine, f"New {i}"), OutboxKind.CARD) for i in range(12)]
    elsewhere = _request(
        engine, "Elsewhere", channel="C2", card_ts=slack.add_message("C2", "card", user="UBOT")["ts"]
    )
    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url + "/api/")
    deliverer = Deliverer(
        engine,
        client,
        Catalogue("https://docs.tavus.io"),
        owner="d1",
        notify_requester_dm=False,
        pacer=pacer,
        hold_seconds=1.0,
    )
    with ThreadPoolExecutor(1) as pool:
        passing = pool.submit(deliverer.deliver_due)
        # The pass has claimed the backlog; a failure in another channel is queued while it posts.
        slack.wait_for(lambda: slack.calls("chat.postMessage"), timeout=5)
        failure = _queue(engine, elsewhere, OutboxKind.FAILURE)
        queued_at = time.time()
        calls = slack.calls
        post = slack.wait_for(
            lambda: next((c for c in calls("chat.postMessage") if _outbox_id(c) == failure), None)
        )
        passing.result(timeout=30)

    assert post["time"] - queued_at < 3, "the failure waited for the whole backlog"
    assert len(calls("chat.postMessage")) < 13, "the backlog stepped aside before it was done"
    # What stepped aside goes out in the next passes, each once.
    slack.wait_for(lambda: deliverer.deliver_due() == 0 and len(calls("chat.postMessage")) == 13, timeout=30)
    assert sorted(_outbox_id(c) for c in calls("chat.postMessage")) == sorted([*cards, failure])

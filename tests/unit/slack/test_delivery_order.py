"""The order one channel's posts go out in: an outcome under a card people already see never waits behind
cards for newer requests, and a new card's own thread posts follow it at once."""

from __future__ import annotations

import uuid

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.domain.catalogue import Catalogue
from bot.sandbox.slack_fake import SlackFake
from bot.slack.delivery import Deliverer
from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, ReplicaRequest, RequestStatus
from tests.servers import BOT_TOKEN

CHANNEL = "C1"


def _request(engine: Engine, name: str, *, card_ts: str | None = None) -> int:
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        row = ReplicaRequest(
            channel_id=CHANNEL,
            card_channel_id=CHANNEL if card_ts else None,
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

"""Which refused posts may be forgotten: an ok: false or a 4xx proves nothing was posted, a 5xx does not
(it may have come after Slack posted), so the next attempt looks for the post first."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.slack.client import slack_client
from bot.slack.exactly_once import OncePoster
from bot.slack.render import Message
from storage.db import Engine, session_scope
from storage.models import OutboxMessage, ReplicaRequest, utcnow

TOKEN = "xoxb-once"
CHANNEL = "C1"
OWNER = "worker-1"


@pytest.fixture
def slack() -> Iterator[tuple[SlackFake, str]]:
    fake = SlackFake(bot_token=TOKEN)
    with SlackFakeServer(fake) as server:
        yield fake, server.api_url


def leased_row(engine: Engine) -> OutboxMessage:
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        request = ReplicaRequest(
            channel_id=CHANNEL,
            requester_id="U1",
            replica_name="Ana",
            callback_token=f"cb-{token}",
            idempotency_key=f"idem-{token}",
        )
        session.add(request)
        session.flush()
        assert request.id is not None
        row = OutboxMessage(
            request_id=request.id,
            kind="failure",
            dedupe_key=f"{request.id}:failure",
            lease_owner=OWNER,
            lease_until=utcnow() + timedelta(minutes=5),
        )
        session.add(row)
        session.flush()
        session.expunge(row)
        return row


@pytest.mark.parametrize(
    ("injected", "counted"),
    [({"status": 200, "error": "channel_not_found"}, 0), ({"status": 400}, 0), ({"status": 503}, 1)],
)
def test_only_a_refusal_that_proves_nothing_was_posted_is_forgotten(
    sqlite_engine: Engine, slack: tuple[SlackFake, str], injected: dict[str, object], counted: int
) -> None:
    fake, api_url = slack
    client = slack_client(TOKEN, api_url, retry_rate_limits=False)
    poster = OncePoster(sqlite_engine, client, owner=OWNER, lease_seconds=60)
    row = leased_row(sqlite_engine)
    fake.inject("chat.postMessage", **injected)  # type: ignore[arg-type]
    with pytest.raises(SlackApiError):
        poster.post(row, CHANNEL, Message(text="hello", blocks=[]), thread_ts=None, team="T1")
    with session_scope(sqlite_engine) as session:
        stored = session.get(OutboxMessage, row.id)
        assert stored is not None and stored.attempts == counted
    assert row.attempts == counted

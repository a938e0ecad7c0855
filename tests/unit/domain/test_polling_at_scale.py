"""What lets the bot scale, checked for behaviour (the numbers are in docs/benchmarks.md): the concurrent
sweep (`bot.domain.tracking`), adaptive poll spacing (`PollSchedule`), delivery woken a few times by a busy
sweep (`bot.service.scheduler.Throttle`), a client-wide Retry-After pause (`bot.tavus`), per-channel
pacing of the outbox (`bot.slack.delivery`), and work after the ack waiting for the acks
(`bot.service.after_ack`)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.domain.catalogue import Catalogue
from bot.domain.lifecycle import Lifecycle
from bot.domain.tracking import PollSchedule, Tracker
from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.service.after_ack import AfterAck
from bot.service.scheduler import Throttle
from bot.slack.delivery import Deliverer
from bot.tavus import Replica, TavusClient, TavusUnavailable
from storage.db import session_scope
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, ReplicaRequest, RequestStatus, utcnow

BOT_TOKEN = "xoxb-scale-token"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    # SQLite only: the scale tests measure one embedded database, not the servers.
    return sqlite_engine


def add_requests(engine: Engine, count: int, **overrides: Any) -> list[int]:
    with session_scope(engine) as session:
        rows = []
        for i in range(count):
            token = uuid.uuid4().hex
            fields: dict[str, Any] = {
                "channel_id": "C1",
                "requester_id": "U1",
                "replica_name": f"Ana {i}",
                "replica_id": f"r{token[:11]}",
                "callback_token": f"cb-{token}",
                "idempotency_key": f"idem-{token}",
                "status": RequestStatus.TRAINING,
                "training_progress": "10/100",
                "submitted_at": utcnow() - timedelta(minutes=20),
                "next_poll_at": utcnow() - timedelta(seconds=1),
            }
            fields.update(overrides)
            rows.append(ReplicaRequest(**fields))
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows if r.id is not None]


class CountingTavus:
    """Answers every poll with "still training, no news" after a short wait, and counts the polls."""

    def __init__(self, *, delay: float = 0.01, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.polls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def get_replica(self, replica_id: str) -> Replica:
        with self._lock:
            self.polls[replica_id] += 1
        time.sleep(self.delay)
        if self.fail:
            raise TavusUnavailable("Tavus kept failing")
        return Replica.from_api(
            {"replica_id": replica_id, "status": "training", "training_progress": "10/100"}
        )


def tracker(
    engine: Engine, tavus: object, *, lifecycle: Lifecycle | None = None, owner: str = "w1", **kwargs: Any
) -> Tracker:
    return Tracker(
        engine,
        lifecycle or Lifecycle(engine),
        tavus,  # type: ignore[arg-type]
        Catalogue("https://docs.tavus.io"),
        owner=owner,
        schedule=PollSchedule(interval=60),
        **kwargs,
    )


def requests_by_id(engine: Engine, ids: list[int]) -> dict[int, ReplicaRequest]:
    with Session(engine) as session:
        rows = session.exec(select(ReplicaRequest).where(ReplicaRequest.id.in_(ids)))  # type: ignore[union-attr]
        return {row.id: row for row in rows if row.id is not None}


# --- the sweep ------------------------------------------------------------------------------------------


def test_a_sweep_polls_every_due_request_exactly_once_and_releases_its_lease(engine: Engine) -> None:
    ids = add_requests(engine, 300)
    finished = add_requests(engine, 20, status=RequestStatus.COMPLETED)
    later = add_requests(engine, 10, next_poll_at=utcnow() + timedelta(minutes=5))
    tavus = CountingTavus()

    assert tracker(engine, tavus, concurrency=16).sweep() == 300

    rows = requests_by_id(engine, ids + finished + later)
    polled = {rows[i].replica_id for i in ids}
    assert set(tavus.polls) == polled and set(tavus.polls.values()) == {1}
    assert all(rows[i].last_polled_at is not None and rows[i].lease_owner is None for i in ids)
    assert all(rows[i].next_poll_at > utcnow() for i in ids)  # type: ignore[operator]
    assert all(rows[i].last_polled_at is None for i in finished + later)


def test_an_empty_sweep_starts_no_threads(engine: Engine) -> None:
    add_requests(engine, 3, next_poll_at=utcnow() + timedelta(minutes=5))
    before = threading.active_count()
    assert tracker(engine, CountingTavus(), concurrency=32).sweep() == 0
    assert threading.active_count() == before


def test_tavus_errors_reschedule_and_release_every_row(engine: Engine) -> None:
    ids = add_requests(engine, 40)
    assert tracker(engine, CountingTavus(fail=True), concurrency=8).sweep() == 40
    rows = requests_by_id(engine, ids)
    assert all(r.lease_owner is None and r.next_poll_at > utcnow() for r in rows.values())  # type: ignore[operator]
    assert all(r.status == RequestStatus.TRAINING for r in rows.values())


def test_two_trackers_sweeping_at_once_poll_each_request_once(engine: Engine) -> None:
    ids = add_requests(engine, 200)
    tavus = CountingTavus(delay=0.005)
    first = tracker(engine, tavus, concurrency=8)
    second = tracker(engine, tavus, owner="w2")
    totals: list[int] = []
    threads = [threading.Thread(target=lambda t=t: totals.append(t.sweep())) for t in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(totals) == 200
    assert len(tavus.polls) == 200 and set(tavus.polls.values()) == {1}
    assert all(r.last_polled_at is not None for r in requests_by_id(engine, ids).values())


def test_changes_wake_delivery_once_in_a_while_not_per_row(engine: Engine) -> None:
    add_requests(engine, 50, training_progress="5/100")  # every poll brings news: 10/100
    kicks: list[float] = []
    throttle = Throttle(lambda: kicks.append(time.monotonic()), spacing=1.0)
    polling = tracker(engine, CountingTavus(), lifecycle=Lifecycle(engine, on_queued=throttle), concurrency=8)
    try:
        assert polling.sweep() == 50
        assert 1 <= len(kicks) <= 3
    finally:
        throttle.cancel()


# --- adaptive spacing -------------------------------------------------------------------------------------


def test_spacing_is_short_at_first_then_grows_with_age_up_to_the_maximum() -> None:
    spacing = PollSchedule(interval=60, early_interval=10, early_window=300, max_interval=300)
    now = utcnow()

    def after(age: timedelta) -> float:
        return (spacing.next_poll_at(now - age, now) - now).total_seconds()

    assert after(timedelta(seconds=30)) == 10
    assert after(timedelta(minutes=6)) == 60  # 5 % of 6 min is less than the interval
    assert after(timedelta(minutes=40)) == 120
    assert after(timedelta(hours=3)) == 300
    assert spacing.tick_seconds == 2.5  # half the shortest spacing, at most 5 s


def test_without_adaptive_settings_the_spacing_is_the_poll_interval() -> None:
    fixed = PollSchedule(interval=0.3)
    now = utcnow()
    assert (fixed.next_poll_at(now - timedelta(hours=5), now) - now).total_seconds() == pytest.approx(0.3)
    assert fixed.tick_seconds == pytest.approx(0.15)


def test_the_early_interval_never_makes_polls_sparser_than_the_interval() -> None:
    quick = PollSchedule(interval=1, early_interval=10, early_window=300)
    now = utcnow()
    assert (quick.next_poll_at(now, now) - now).total_seconds() == 1


# --- Retry-After for the whole client ---------------------------------------------------------------------


def test_a_429_pauses_every_thread_sharing_the_client_until_retry_after() -> None:
    sent: list[float] = []
    limited_at: list[float] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            now = time.monotonic()
            if not limited_at:
                limited_at.append(now)
                return httpx.Response(429, headers={"Retry-After": "0.5"}, json={"message": "slow down"})
            sent.append(now)
        time.sleep(0.02)
        return httpx.Response(200, json={"replica_id": "r1", "status": "training"})

    with TavusClient("https://tavus.test", "key", transport=httpx.MockTransport(handler)) as tavus:

        def poll() -> None:
            for _ in range(5):
                tavus.get_replica("r1")

        threads = [threading.Thread(target=poll) for _ in range(4)]
        for thread in threads:
            thread.start()
            time.sleep(0.005)
        for thread in threads:
            thread.join()

    assert len(sent) == 20
    # Requests already on their way when the 429 came back may land; nothing is sent after it for 0.5 s.
    assert not [t for t in sent if limited_at[0] + 0.1 < t < limited_at[0] + 0.45]


def test_the_connection_pool_keeps_as_many_connections_as_it_allows() -> None:
    tavus = TavusClient("https://tavus.test", "key", max_connections=40)
    pool = tavus._http._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections == 40 and pool._max_keepalive_connections == 40
    tavus.close()
    with pytest.raises(ValueError):
        TavusClient("https://tavus.test", "key", max_connections=0)


# --- the outbox under Slack's per-channel limit -------------------------------------------------------------


@pytest.fixture
def limited_slack() -> Iterator[SlackFake]:
    with SlackFakeServer(SlackFake(bot_token=BOT_TOKEN, enforce_rate_limits=True)) as server:
        yield server.fake


def test_a_rate_limited_channel_waits_without_using_up_attempts(
    engine: Engine, limited_slack: SlackFake
) -> None:
    cards = [
        limited_slack.add_message("CBUSY", f"card {i}", user=limited_slack.bot_user_id)["ts"]
        for i in range(6)
    ]
    other = limited_slack.add_message("CQUIET", "card", user=limited_slack.bot_user_id)["ts"]
    busy = [
        add_requests(engine, 1, channel_id="CBUSY", card_channel_id="CBUSY", card_ts=ts, status="failed")[0]
        for ts in cards
    ]
    quiet = add_requests(
        engine, 1, channel_id="CQUIET", card_channel_id="CQUIET", card_ts=other, status="failed"
    )
    with session_scope(engine) as session:
        for request_id in [*busy, *quiet]:
            key = f"{request_id}:{OutboxKind.FAILURE}"
            session.add(OutboxMessage(request_id=request_id, kind=OutboxKind.FAILURE, dedupe_key=key))
    client = WebClient(token=BOT_TOKEN, base_url=limited_slack.base_url + "/api/")
    deliverer = Deliverer(
        engine, client, Catalogue("https://docs.tavus.io"), owner="d1", notify_requester_dm=False
    )

    deliverer.deliver_due()

    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    sent = [r for r in rows if r.status == OutboxStatus.SENT]
    waiting = [r for r in rows if r.status == OutboxStatus.PENDING]
    # A burst of 3 goes through in the busy channel, then one 429; the rest wait without asking again.
    assert len(sent) == 4 and len(waiting) == 3
    assert limited_slack.rate_limited("CBUSY") == 1
    assert all(r.failures == 0 and r.lease_owner is None for r in rows)
    assert all(r.next_attempt_at > utcnow() for r in waiting)
    assert any(r.request_id == quiet[0] for r in sent)


# --- work after the ack -------------------------------------------------------------------------------------


def test_work_after_the_ack_waits_for_the_acks_in_progress() -> None:
    after = AfterAck(workers=2, settle=0.05, max_wait=2)
    started: list[float] = []
    with after.acking():
        after.submit(lambda: started.append(time.monotonic()))
        time.sleep(0.2)
        assert started == []
        acked = time.monotonic()
    after.close()
    assert len(started) == 1 and started[0] >= acked + 0.04


def test_work_after_the_ack_waits_at_most_max_wait() -> None:
    after = AfterAck(workers=1, settle=0.05, max_wait=0.2)
    done = threading.Event()
    with after.acking():
        after.submit(done.set)
        assert done.wait(2)
    after.close()


def test_a_job_between_its_steps_lets_a_new_burst_of_acks_go_first() -> None:
    after = AfterAck(workers=1, settle=0.05, max_wait=2)
    steps: list[str] = []
    first_step_done, burst_arrived = threading.Event(), threading.Event()

    def job() -> None:
        steps.append("offline check")
        first_step_done.set()
        burst_arrived.wait(2)
        after.yield_to_acks()
        steps.append("Tavus' check")

    after.submit(job)
    assert first_step_done.wait(2)
    with after.acking():
        burst_arrived.set()
        time.sleep(0.2)
        assert steps == ["offline check"]
        steps.append("acked")
    after.close()
    assert steps == ["offline check", "acked", "Tavus' check"]


"""A graceful hand-over: SIGTERM (or SIGINT) to one of several processes sharing PostgreSQL while it holds
work. It exits 0 within SHUTDOWN_GRACE_SECONDS, lets go of every lease at once, and the others post every
outcome exactly once within the poll interval + 5 s, instead of waiting for the leases to expire."""

from __future__ import annotations

import signal
import time
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import USER, rendered

POLL_INTERVAL = 2.0
GRACE = 10.0
CHANNELS = ("C_ONE", "C_TWO", "C_THREE")


def connect(url: str) -> psycopg.Connection[Any]:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(plain, autocommit=True)


def leases_of(url: str, pid: int) -> int:
    """Live leases a process holds, on requests and on notifications."""
    owner = f"%:{pid}:%"
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT (SELECT count(*) FROM replica_request"
            " WHERE lease_owner LIKE %(o)s AND lease_until > now())"
            " + (SELECT count(*) FROM outbox_message WHERE lease_owner LIKE %(o)s AND lease_until > now())",
            {"o": owner},
        ).fetchone()
    return int(rows[0]) if rows else 0


def any_lease_of(url: str, pid: int) -> int:
    owner = f"%:{pid}:%"
    with connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM replica_request WHERE lease_owner LIKE %(o)s)"
            " + (SELECT count(*) FROM outbox_message WHERE lease_owner LIKE %(o)s)",
            {"o": owner},
        ).fetchone()
    return int(row[0]) if row else 0


def cards(slack: SlackFake) -> list[tuple[str, dict[str, Any]]]:
    return [
        (channel, m)
        for channel in CHANNELS
        for m in slack.messages(channel)
        if not m.get("thread_ts") and "Replica request" in m.get("text", "")
    ]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_process_hands_its_work_over_at_once(
    start_app: AppFactory,
    postgres_url: str,
    slack: SlackFake,
    tavus: TavusEmulator,
    images: StaticServer,
    sig: signal.Signals,
) -> None:
    settings = {
        "POLL_INTERVAL_SECONDS": str(POLL_INTERVAL),
        "SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "NOTIFY_REQUESTER_DM": "false",
        # Fewer polls in flight than rows leased: a stop finds rows leased but not yet asked about.
        "POLL_CONCURRENCY": "2",
        # No callbacks (a dead address): only the sweeps poll, so only their leases decide who looks.
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",
    }
    apps = [start_app(database_url=postgres_url, **settings) for _ in range(2)]
    names = [f"Handover {i}" for i in range(9)]
    for i, name in enumerate(names):
        tavus.script(ScriptedOutcome("completed", training_seconds=3600, match_name=name))
        apps[i % 2].sender.command(
            f'create {images.url}/ana.png voice=anna name="{name}"', user_id=USER, channel_id=CHANNELS[i % 3]
        )
    slack.wait_for(lambda: len(cards(slack)) == len(names), timeout=60)

    # Every poll and the first posts now take a while, so whoever is stopped is in the middle of a call.
    tavus.delay_response(method="GET", path_prefix="/v2/faces/", seconds=1.0, count=10_000)
    slack.delay_response("chat.postMessage", 1.0, count=3)
    for replica in tavus.replicas():
        tavus.set_replica(replica["replica_id"], status="error", error_message="Phx4FaceObscuredError")

    victim, other = _holder(apps, postgres_url)
    assert victim.proc is not None
    stopped_at = time.monotonic()
    signalled = time.time()
    victim.proc.send_signal(sig)
    code = victim.proc.wait(GRACE + 5)
    assert code == 0, victim.logs()
    assert time.monotonic() - stopped_at <= GRACE
    assert any_lease_of(postgres_url, victim.proc.pid) == 0
    assert "handed over" in victim.logs()

    # The other process polls what the stopped one held, and posts each failure once, promptly.
    deadline = POLL_INTERVAL + 5
    slack.wait_for(lambda: all(_replies(slack, c, m) for c, m in cards(slack)), timeout=deadline + 10)
    time.sleep(POLL_INTERVAL + 1)  # anything doubled would have arrived by now
    for channel, card in cards(slack):
        replies = _replies(slack, channel, card)
        assert len(replies) == 1, [rendered(r) for r in replies]
        assert "Phx4FaceObscuredError" in rendered(replies[0])
        assert float(replies[0]["ts"]) - signalled <= deadline, (
            rendered(card),
            float(replies[0]["ts"]) - signalled,
        )
    assert other.proc is not None and other.proc.poll() is None


def _holder(apps: list[AppProcess], url: str) -> tuple[AppProcess, AppProcess]:
    """Wait until one of the processes holds leases; (that one, the other)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for index, app in enumerate(apps):
            assert app.proc is not None
            if leases_of(url, app.proc.pid):
                return app, apps[1 - index]
        time.sleep(0.02)
    raise AssertionError("neither process ever held a lease")


def _replies(slack: SlackFake, channel: str, card: dict[str, Any]) -> list[dict[str, Any]]:
    return slack.thread(channel, card["ts"])

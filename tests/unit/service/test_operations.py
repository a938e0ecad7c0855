"""The parts behind /metrics, /readyz and the hand-over, in process: labels that take only a few values,
gauges read from the database, readiness and its reasons, every lease released, and the new settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.service.metrics import Metrics
from bot.service.process import Process
from bot.service.runtime import Runtime, build_runtime
from bot.service.settings import Settings, SettingsError, load_settings
from bot.slack.client import method_of, slack_client
from bot.tavus.paths import endpoint_of
from storage.db import make_engine
from storage.models import OutboxMessage, ReplicaRequest, utcnow
from storage.repository import leases
from tests.servers import BOT_TOKEN


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def add_request(engine: Engine, status: str, n: int = 1, **values: object) -> list[int]:
    ids = []
    with Session(engine) as session:
        for _ in range(n):
            request = ReplicaRequest(
                channel_id="C1",
                requester_id="U1",
                replica_name="x",
                status=status,
                callback_token=os.urandom(8).hex(),
                idempotency_key=os.urandom(8).hex(),
                **values,
            )
            session.add(request)
            session.flush()
            assert request.id is not None
            ids.append(request.id)
        session.commit()
    return ids


# --- labels -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "label"),
    [
        ("GET", "/v2/faces/r90bbd427f71", "GET /v2/faces/{id}"),
        ("DELETE", "/v2/replicas/r1", "DELETE /v2/replicas/{id}"),
        ("PATCH", "/v2/replicas/r1/name", "PATCH /v2/replicas/{id}/name"),
        ("POST", "/v2/faces/image-validation", "POST /v2/faces/image-validation"),
        ("POST", "/v2/faces", "POST /v2/faces"),
        ("GET", "/v2/faces/a%2F..%2Fb", "GET /v2/faces/{id}"),
        ("GET", "/v3/anything/else", "GET other"),
    ],
)
def test_tavus_endpoints_never_carry_an_id(method: str, path: str, label: str) -> None:
    assert endpoint_of(method, path) == label


def test_slack_methods_come_from_the_url() -> None:
    assert method_of("https://slack.com/api/chat.postMessage") == "chat.postMessage"
    assert method_of("http://127.0.0.1:1/api/auth.test?x=1") == "auth.test"
    assert method_of("https://evil.example/token/xoxb-123") == "other"


def test_every_slack_attempt_is_observed(slack_server: SlackFakeServer, slack: SlackFake) -> None:
    seen: list[tuple[str, str]] = []
    client = slack_client(
        BOT_TOKEN, slack_server.api_url, retry_rate_limits=True, observe=lambda *a: seen.append(a)
    )
    slack.inject("chat.postMessage", status=429, retry_after=0, count=1)
    client.chat_postMessage(channel="C1", text="hello")  # 429, retried in place, then ok
    with pytest.raises(SlackApiError):
        client.chat_update(channel="C1", ts="1.0", text="x")  # ok: false
    # Bolt copies the handlers into each request's client: the observer goes with them.
    copy = WebClient(
        token=BOT_TOKEN, base_url=slack_server.api_url, retry_handlers=client.retry_handlers.copy()
    )
    copy.auth_test()
    assert seen == [
        ("chat.postMessage", "ratelimited"),
        ("chat.postMessage", "ok"),
        ("chat.update", "error"),
        ("auth.test", "ok"),
    ]


# --- gauges -----------------------------------------------------------------------------------------------


def test_gauges_count_from_the_database_with_every_series_present(sqlite_engine: Engine) -> None:
    add_request(sqlite_engine, "failed", 3)
    (training,) = add_request(sqlite_engine, "training")
    with Session(sqlite_engine) as session:
        session.add(
            OutboxMessage(
                request_id=training,
                kind="failure",
                dedupe_key="a",
                created_at=utcnow() - timedelta(seconds=90),
            )
        )
        session.add(
            OutboxMessage(
                request_id=training,
                kind="card",
                dedupe_key="b",
                delivered_version=1,
                created_at=utcnow() - timedelta(days=1),
            )
        )
        session.add(OutboxMessage(request_id=training, kind="stuck", dedupe_key="c", status="sent"))
        session.commit()
    found = samples(Metrics(sqlite_engine))
    assert found[("replica_bot_requests", (("status", "failed"),))] == 3
    assert found[("replica_bot_requests", (("status", "training"),))] == 1
    assert found[("replica_bot_requests", (("status", "deleted"),))] == 0
    assert found[("replica_bot_outbox_pending", (("kind", "failure"),))] == 1
    assert found[("replica_bot_outbox_pending", (("kind", "card"),))] == 1
    assert found[("replica_bot_outbox_pending", (("kind", "stuck"),))] == 0
    # The card already in Slack waits for an edit, not since yesterday; the failure post since 90 s.
    assert 89 <= found[("replica_bot_outbox_oldest_seconds", ())] < 120


def test_without_the_database_the_scrape_still_answers(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    metrics = Metrics(engine)
    metrics.slack_call("chat.postMessage", "ok")
    text = metrics.render().decode()
    assert "replica_bot_slack_calls_total" in text and "replica_bot_requests{" not in text


# --- readiness and the hand-over ---------------------------------------------------------------------------


@pytest.fixture
def runtime(tmp_path: Path, slack_server: SlackFakeServer) -> Iterator[Runtime]:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        tavus_api_key="k",
        slack_api_url=slack_server.api_url,
        database_url=f"sqlite:///{tmp_path / 'ready.db'}",
        poll_interval_seconds=3600,
        public_base_url="http://127.0.0.1:9",
    )
    built = build_runtime(settings)
    yield built
    built.close(finish_acked=False)


def test_readiness_names_what_is_missing(runtime: Runtime) -> None:
    process = Process(runtime, grace=5)
    assert process.not_ready() == "the schema is not created yet; the newest is " + _head()
    assert not process.started
    assert process.start()
    assert process.not_ready() is None and process.started
    runtime.scheduler.shutdown()
    assert process.not_ready() == "the scheduler has stopped"


def test_a_stop_hands_every_lease_over_and_readiness_says_so(runtime: Runtime) -> None:
    process = Process(runtime, grace=5)
    assert process.start()
    engine = runtime.engine
    mine = add_request(engine, "training", 2, next_poll_at=utcnow() + timedelta(hours=1))
    theirs = add_request(engine, "training", 1, next_poll_at=utcnow() + timedelta(hours=1))
    leases.claim_request(engine, mine[0], owner=runtime.owner)
    leases.claim_request(engine, mine[1], owner=runtime.owner)
    leases.claim_request(engine, theirs[0], owner="another:1:abc")
    process.begin_stop()
    assert process.not_ready() == "shutting down"
    assert process.finish() == 0
    with Session(make_engine(str(engine.url))) as session:
        owners = {r.id: r.lease_owner for r in session.exec(select(ReplicaRequest))}
    assert owners == {mine[0]: None, mine[1]: None, theirs[0]: "another:1:abc"}


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from storage.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


# --- settings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("metrics_port", "0", "METRICS_PORT"),
        ("metrics_port", "http", "METRICS_PORT"),
        ("shutdown_grace_seconds", "0", "SHUTDOWN_GRACE_SECONDS"),
        ("log_format", "xml", "LOG_FORMAT"),
    ],
)
def test_a_bad_operations_setting_names_its_variable(field: str, value: str, variable: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**{field: value})
    assert str(info.value).startswith(f"{variable} is invalid") and "\n" not in str(info.value)


def test_operations_defaults() -> None:
    settings = Settings(metrics_port="", log_format=" JSON ")  # type: ignore[arg-type]
    assert settings.metrics_port is None and settings.log_format == "json"
    assert Settings().shutdown_grace_seconds == 10 and Settings().log_format == "text"

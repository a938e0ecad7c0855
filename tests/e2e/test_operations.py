"""What an operator's tools see of a running `replica-bot serve`: /metrics moving as requests flow,
/readyz refusing work until the schema is migrated (and again while the database is away), the metrics
listener of METRICS_PORT, and LOG_FORMAT=json writing one JSON object a line."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import EmulatorServer, ScriptedOutcome, TavusEmulator
from storage.db import _MIGRATION_LOCK_ID
from tests.conftest import POSTGRES_ADMIN_URL
from tests.e2e.app_process import AppFactory, AppProcess, app_env
from tests.e2e.helpers import USER, create, until, wait_card, wait_thread
from tests.servers import BOT_TOKEN, SIGNING_SECRET, TAVUS_KEY, free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- /metrics ---------------------------------------------------------------------------------------------


def test_metrics_move_as_a_request_fails(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    before = scrape(app.url)
    assert value(before, "replica_bot_requests", status="failed") == 0
    assert value(before, "replica_bot_outbox_pending", kind="failure") == 0
    tavus.script(ScriptedOutcome("error", error_message="Phx4FaceObscuredError", training_seconds=1))
    # Slack pushes back once: the card's post is counted as rate-limited, then as sent.
    slack.inject("chat.postMessage", status=429, retry_after=0, count=1)
    create(app, images)
    wait_thread(slack, wait_card(slack))
    until(lambda: value(scrape(app.url), "replica_bot_outcome_delay_seconds_count") >= 1, timeout=10)
    after = scrape(app.url)

    assert value(after, "replica_bot_requests", status="failed") == 1
    assert value(after, "replica_bot_requests", status="training") == 0
    posts = ("replica_bot_slack_calls_total", {"method": "chat.postMessage"})
    assert (
        value(after, posts[0], **posts[1], outcome="ok")
        >= value(before, posts[0], **posts[1], outcome="ok") + 2
    )
    assert value(after, posts[0], **posts[1], outcome="ratelimited") == 1
    assert value(after, "replica_bot_tavus_calls_total", endpoint="POST /v2/faces", status="200") == 1
    assert value(after, "replica_bot_tavus_calls_total", endpoint="GET /v2/faces/{id}", status="200") >= 1
    assert value(after, "replica_bot_image_check_total", source="tavus", verdict="passed") == 1
    assert value(after, "replica_bot_ack_seconds_count") >= 1
    assert value(after, "replica_bot_ack_seconds_bucket", le="3.0") == value(
        after, "replica_bot_ack_seconds_count"
    )
    # The failure post waited for its delivery, not for ever.
    assert value(after, "replica_bot_outcome_delay_seconds_bucket", le="30.0") >= 1
    assert value(after, "replica_bot_outbox_oldest_seconds") < 60


def test_metric_labels_carry_no_ids_names_urls_or_secrets(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("completed", training_seconds=1))
    create(app, images, name="Zed Secretname")
    wait_thread(slack, wait_card(slack, "Zed Secretname"))
    text = httpx.get(f"{app.url}/metrics").text
    replica_id = tavus.replicas()[0]["replica_id"]
    for private in (replica_id, "Zed", "127.0.0.1", "http", BOT_TOKEN, TAVUS_KEY, SIGNING_SECRET, USER):
        assert private not in text
    labels = re.findall(r'(\w+)="([^"]*)"', text)
    allowed = {"status", "kind", "method", "outcome", "endpoint", "source", "verdict", "le"}
    assert labels and {name for name, _ in labels} <= allowed


def test_the_metrics_port_answers_beside_the_app(start_app: AppFactory, slack: SlackFake) -> None:
    port = free_port()
    start_app(METRICS_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/readyz").status_code == 200
    assert "replica_bot_requests" in httpx.get(f"{base}/metrics").text
    assert httpx.post(f"{base}/slack/events").status_code in (404, 405)


# --- /readyz ----------------------------------------------------------------------------------------------


def launch(env: dict[str, str], workdir: Path) -> AppProcess:
    """`replica-bot serve` started without waiting for it to be healthy."""
    app = AppProcess(env, workdir)
    log = app.log_path.open("ab")
    app.proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], env=env, cwd=workdir, stdout=log, stderr=log
    )
    return app


def readyz(app: AppProcess) -> tuple[int, str]:
    try:
        response = httpx.get(f"{app.url}/readyz", timeout=2)
    except httpx.HTTPError:
        return 0, ""
    return response.status_code, response.text


def admin() -> psycopg.Connection[Any]:
    return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)


@pytest.mark.usefixtures("slack", "tavus")
def test_readyz_is_503_until_the_schema_is_migrated(
    postgres_url: str, slack_server: SlackFakeServer, tavus_server: EmulatorServer, tmp_path: Path
) -> None:
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as holder:
        # Another process is migrating: this one waits on the same lock, listening meanwhile.
        holder.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_ID,))
        app = launch(app_env(slack_server, tavus_server, postgres_url), tmp_path)
        try:
            until(lambda: readyz(app)[0] == 503, timeout=30)
            text = readyz(app)[1].strip()
            assert re.fullmatch(r"not ready: the schema is not created yet; the newest is \w+", text), text
            assert httpx.get(f"{app.url}/healthz").status_code == 503
            holder.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_ID,))
            until(lambda: readyz(app)[0] == 200, timeout=30)
            assert readyz(app)[1].strip() == "ready"
            assert httpx.get(f"{app.url}/healthz").status_code == 200
        finally:
            app.stop()


@pytest.mark.usefixtures("slack", "tavus")
def test_readyz_is_503_while_the_database_is_away_and_200_once_it_is_back(
    postgres_server: str, slack_server: SlackFakeServer, tavus_server: EmulatorServer, tmp_path: Path
) -> None:
    name = f"replica_bot_test_later_{int(time.time() * 1000)}"
    url = make_url(postgres_server).set(drivername="postgresql+psycopg", database=name)
    app = launch(app_env(slack_server, tavus_server, url.render_as_string(hide_password=False)), tmp_path)
    try:
        until(lambda: readyz(app)[0] == 503, timeout=30)
        assert readyz(app)[1].startswith("not ready: the database does not answer")
        with admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        until(lambda: readyz(app)[0] == 200, timeout=30)
    finally:
        app.stop()
        with admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- structured logs --------------------------------------------------------------------------------------


def test_json_logs_parse_line_by_line(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(LOG_FORMAT="json")
    tavus.script(ScriptedOutcome("error", error_message="Phx4FaceObscuredError", training_seconds=1))
    create(app, images)
    wait_thread(slack, wait_card(slack))
    replica_id = tavus.replicas()[0]["replica_id"]
    assert app.proc is not None
    app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(15) == 0

    records = [json.loads(line) for line in app.logs().splitlines() if line.strip()]
    assert records
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    loggers = {record["logger"] for record in records}
    assert any(name.startswith("uvicorn") for name in loggers), loggers
    assert any(name.startswith("bot.") for name in loggers), loggers
    about_the_replica = [r for r in records if r.get("replica_id") == replica_id]
    assert about_the_replica and all("request_id" in r for r in about_the_replica)
    assert any(r.get("channel") and r.get("team") for r in records)
    for secret in (BOT_TOKEN, SIGNING_SECRET, TAVUS_KEY):
        assert secret not in app.logs()


@pytest.mark.usefixtures("tavus")
def test_socket_mode_answers_on_the_metrics_port_and_stops_gracefully(
    slack_server: SlackFakeServer, tavus_server: EmulatorServer, slack: SlackFake, tmp_path: Path
) -> None:
    """The fake hands out a WebSocket URL nobody answers; what is checked is the listener beside it."""
    port = free_port()
    env = app_env(slack_server, tavus_server, f"sqlite:///{tmp_path / 'socket.db'}")
    env.update(
        SLACK_APP_TOKEN=slack.app_token,
        MEDIA_BACKEND="s3",
        S3_BUCKET="faces",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_EC2_METADATA_DISABLED="true",
        METRICS_PORT=str(port),
    )
    log = (tmp_path / "socket.log").open("ab")
    command = [sys.executable, "-m", "bot", "socket"]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        until(lambda: _status(f"{base}/readyz") == 200, timeout=30)
        assert _status(f"{base}/healthz") == 200
        assert "replica_bot_requests" in httpx.get(f"{base}/metrics").text
        assert any(c["method"] == "apps.connections.open" for c in slack.calls())
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert time.monotonic() - stopped < 10
    finally:
        if proc.poll() is None:
            proc.kill()


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0

"""Shared fixtures: the Slack fake, the Tavus emulator, an image host, PostgreSQL, and the app as a real
`replica-bot serve` process talking to them over loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url

from bot.slack_fake import SlackFake, SlackFakeServer, SlackSender
from bot.static_server import StaticServer
from bot.tavus_emulator import EmulatorServer, TavusEmulator
from storage.db import make_engine, migrate
from tests.images import png

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token"
TAVUS_KEY = "test-tavus-key"
POSTGRES_ADMIN_URL = os.environ.get(
    "REPLICA_BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def slack_server() -> Iterator[SlackFakeServer]:
    with SlackFakeServer(SlackFake(bot_token=BOT_TOKEN)) as server:
        yield server


@pytest.fixture
def slack(slack_server: SlackFakeServer) -> SlackFake:
    slack_server.fake.reset()
    return slack_server.fake


@pytest.fixture(scope="session")
def tavus_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(TavusEmulator(api_key=TAVUS_KEY, default_training_seconds=1.0)) as server:
        yield server


@pytest.fixture
def tavus(tavus_server: EmulatorServer) -> TavusEmulator:
    tavus_server.emulator.reset()
    return tavus_server.emulator


@pytest.fixture(scope="session")
def images() -> Iterator[StaticServer]:
    """Photos on a loopback web server, like a headshot someone links to."""
    with StaticServer() as server:
        server.put("/ana.png", png(640, 640), "image/png")
        yield server


class AppProcess:
    """`replica-bot serve` in a child process; kill -9 and restart keep the same database."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.sender = SlackSender(self.url, SIGNING_SECRET)
        self.log_path = workdir / "app.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> AppProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=self.env, cwd=self.workdir, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"app exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"app did not become healthy:\n{self.logs()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


AppFactory = Callable[..., AppProcess]


def app_env(
    slack_server: SlackFakeServer, tavus_server: EmulatorServer, database_url: str, **overrides: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TAVUS_", "DATABASE_"))}
    port = free_port()
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
        TAVUS_API_KEY=TAVUS_KEY,
        TAVUS_API_URL=tavus_server.url,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        # The app hosts uploaded photos for the Tavus emulator and receives its callbacks.
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        POLL_INTERVAL_SECONDS="0.3",
        OUTBOX_INTERVAL_SECONDS="0.2",
        ALLOW_PRIVATE_URLS="true",
        PYTHONUNBUFFERED="1",
        # Most tests exercise what happens after the requester affirmed their rights; the consent tests
        # turn this back on.
        REQUIRE_CONSENT_CONFIRMATION="false",
        # Test photos are synthetic; the photo-check tests turn the advisory back on.
        PREFLIGHT_FACES="off",
    )
    env.update(overrides)
    return env


@pytest.fixture
def start_app(
    slack_server: SlackFakeServer, tavus_server: EmulatorServer, tmp_path: Path
) -> Iterator[AppFactory]:
    """Start app processes; all are stopped at the end of the test."""
    started: list[AppProcess] = []

    def factory(database_url: str | None = None, **overrides: str) -> AppProcess:
        url = database_url or f"sqlite:///{tmp_path / 'replica_bot.db'}"
        app = AppProcess(app_env(slack_server, tavus_server, url, **overrides), tmp_path)
        started.append(app)
        return app.start()

    yield factory
    for app in started:
        app.stop()


@pytest.fixture
def app(start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator) -> AppProcess:
    return start_app()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server this machine runs; its absence is a failure, not a skip."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {POSTGRES_ADMIN_URL}: {exc}")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    name = f"replica_bot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'unit.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'unit.db'}"
    return request.getfixturevalue("postgres_url")


def _migrated(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The app's schema on SQLite and on PostgreSQL (each test runs twice)."""
    yield from _migrated(database_url)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    yield from _migrated(sqlite_url)


# Keep temporary files of child processes out of the repo.
os.environ.setdefault("TMPDIR", tempfile.gettempdir())

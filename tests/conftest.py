"""Fixtures for both layers: the Slack fake, the Tavus emulator and an image host on loopback, and
PostgreSQL (the server this machine runs) besides SQLite.

Tests under tests/e2e/ are marked `e2e` and tests that use PostgreSQL `postgres`, here, so that
`pytest -m "not e2e"` is the fast inner loop and nobody has to remember the markers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator
from storage.db import make_engine, migrate
from tests.images import png
from tests.servers import BOT_TOKEN, TAVUS_KEY

POSTGRES_ADMIN_URL = os.environ.get(
    "REPLICA_BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_E2E = Path(__file__).parent / "e2e"
# End-to-end modules that measure time (an ack within 3 s, a hand-over within the grace, Slack's pacing,
# a burst of requests): they run one at a time, after the rest run side by side (`make test`).
_TIMED = {
    "test_bench_smoke.py",
    "test_handover.py",
    "test_operations.py",
    "test_rate_limits.py",
    "test_received.py",
    "test_request_loop.py",
    "test_video_errors.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _E2E in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
            if Path(item.path).name in _TIMED:
                item.add_marker(pytest.mark.timed)
        fixtures = getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        uses_postgres = {"postgres_url", "migrated_postgres_url"} & set(fixtures)
        if uses_postgres or params.get("database_url") == "postgres":
            item.add_marker(pytest.mark.postgres)


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


# --- databases ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server this machine runs; its absence is a failure, not a skip."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {POSTGRES_ADMIN_URL}: {exc}")
    return POSTGRES_ADMIN_URL


def _create_database(admin_url: str) -> str:
    name = f"replica_bot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(admin_url: str, name: str) -> str:
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = _create_database(postgres_server)
    yield _url(postgres_server, name)
    _drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def _migrated_database(postgres_server: str) -> Iterator[str]:
    """One database migrated once per run, emptied before each test that wants the schema: emptying
    the tables is far quicker than creating a database (even from a template) or migrating again."""
    name = _create_database(postgres_server)
    engine = make_engine(_url(postgres_server, name))
    migrate(engine)
    engine.dispose()
    yield _url(postgres_server, name)
    _drop_database(postgres_server, name)


@pytest.fixture
def migrated_postgres_url(_migrated_database: str) -> str:
    url = make_url(_migrated_database).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(_APP_TABLES)]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return _migrated_database


_APP_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database for one test."""
    return f"sqlite:///{tmp_path / 'unit.db'}"


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema migrated once per run; each test gets a copy of the file (a copy is ~1 ms, migrating
    ~50 ms)."""
    path = tmp_path_factory.mktemp("schema") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture
def migrated_sqlite_url(_migrated_sqlite_file: Path, tmp_path: Path) -> str:
    path = tmp_path / "unit.db"
    shutil.copyfile(_migrated_sqlite_file, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A database with the app's schema, on SQLite and on PostgreSQL (each test runs twice)."""
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    return str(request.getfixturevalue(fixture))


def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The app's schema on SQLite and on PostgreSQL (each test runs twice)."""
    yield from _engine(database_url)


@pytest.fixture
def sqlite_engine(migrated_sqlite_url: str) -> Iterator[Engine]:
    yield from _engine(migrated_sqlite_url)


# Keep temporary files of child processes out of the repo.
os.environ.setdefault("TMPDIR", tempfile.gettempdir())

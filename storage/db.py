"""Engine, sessions and schema migrations.

Code outside `storage` holds an `Engine` as an opaque handle to pass back in, and catches
`DatabaseError` when the database cannot be reached; it never builds a statement itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import CursorResult, Engine, Result, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, create_engine

from storage.sqlite_writes import connection_factory

log = logging.getLogger(__name__)

__all__ = [
    "DatabaseError",
    "Engine",
    "affected",
    "is_unique_violation",
    "make_engine",
    "migrate",
    "ping",
    "schema_behind",
    "server_version",
    "session_scope",
    "sqlite_file",
]

# Whatever goes wrong talking to the database (cannot connect, bad URL, a failed statement).
DatabaseError = SQLAlchemyError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every replica-bot process sharing one database.
_MIGRATION_LOCK_ID = 0x7265706C


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        # Worker threads share the engine, and queue for the write lock in process (storage/sqlite_writes.py);
        # the busy timeout covers other processes on the same file. No pre-ping: a file does not hang up.
        connect_args = {"check_same_thread": False, "timeout": 30, "factory": connection_factory()}
        engine = create_engine(database_url, connect_args=connect_args)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the poller read while a listener writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints rather than at every commit: a killed process loses nothing
    # it committed (the WAL is written before COMMIT returns), only a power cut could. Every commit paid an
    # fsync before, which queued the acks' "received" inserts behind each other (docs/benchmarks.md).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    config = _config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Without this, N processes starting together all try to CREATE TABLE and all but one fail.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_behind(engine: Engine) -> str | None:
    """None when the schema is at the newest revision, else one line saying where it is. Raises
    DatabaseError when the database cannot be asked."""
    newest = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == newest:
        return None
    where = f"at revision {current}" if current else "not created yet"
    return f"the schema is {where}; the newest is {newest}"


def server_version(engine: Engine) -> str:
    """The database server's name and version, e.g. `postgresql 16.4`."""
    with engine.connect() as connection:
        info = connection.dialect.server_version_info or ()
    return f"{engine.dialect.name} {'.'.join(str(part) for part in info)}".strip()


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL (None for another database, or one in memory)."""
    url = make_url(database_url)
    # No file for an in-memory database (an empty name, or the special name in colons).
    if url.get_backend_name() != "sqlite" or not url.database or url.database.startswith(":"):
        return None
    return Path(url.database)


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        log.warning("database ping failed", exc_info=True)
        return False


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text

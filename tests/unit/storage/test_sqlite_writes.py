"""storage.sqlite_writes: a process's threads take turns writing instead of meeting SQLite's busy handler."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from storage.sqlite_writes import connection_factory

THREADS = 8
TRANSACTIONS = 25


def _engine(path: Path, *, serialized: bool) -> Engine:
    # timeout=0: SQLite's busy handler never waits, so any two writers meeting would fail at once.
    connect_args: dict[str, object] = {"check_same_thread": False, "timeout": 0}
    if serialized:
        connect_args["factory"] = connection_factory()
    engine = create_engine(f"sqlite:///{path}", connect_args=connect_args)
    with engine.begin() as connection:
        connection.execute(text("PRAGMA journal_mode=WAL"))
        connection.execute(text("CREATE TABLE IF NOT EXISTS counter (n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def _hammer(engine: Engine) -> list[BaseException]:
    """Each thread runs read-modify-write transactions that hold the write lock for a moment."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work() -> None:
        start.wait()
        try:
            for _ in range(TRANSACTIONS):
                with engine.begin() as connection:
                    connection.execute(text("UPDATE counter SET n = n + 1"))
                    time.sleep(0.001)
                    connection.execute(text("SELECT n FROM counter")).scalar_one()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_writers_never_hit_a_locked_database(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "serialized.db", serialized=True)
    assert _hammer(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == THREADS * TRANSACTIONS


def test_without_it_the_same_writers_collide(tmp_path: Path) -> None:
    # The control for the test above: the workload does make plain connections meet the lock.
    errors = _hammer(_engine(tmp_path / "plain.db", serialized=False))
    assert errors and all(isinstance(e, OperationalError) and "locked" in str(e) for e in errors)


def test_a_failed_write_releases_the_lock(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "failing.db", serialized=True)
    with pytest.raises(OperationalError), engine.begin() as connection:
        connection.execute(text("UPDATE no_such_table SET n = 1"))
    with pytest.raises(OperationalError), engine.begin() as connection:
        connection.execute(text("UPDATE counter SET n = 1"))
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))

    done = threading.Event()

    def other_thread_writes() -> None:
        with engine.begin() as connection:
            connection.execute(text("UPDATE counter SET n = 2"))
        done.set()

    threading.Thread(target=other_thread_writes, daemon=True).start()
    assert done.wait(5), "the lock was still held after the failed transactions"


def test_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "reads.db", serialized=True)
    with engine.begin() as writer:
        writer.execute(text("UPDATE counter SET n = 5"))
        seen: list[int] = []
        reader = threading.Thread(
            target=lambda: seen.append(engine.connect().execute(text("SELECT n FROM counter")).scalar_one())
        )
        reader.start()
        reader.join(5)
        assert seen == [0]  # WAL: the reader sees the last committed value without waiting


def test_the_factory_is_a_real_sqlite_connection() -> None:
    connection = sqlite3.connect(":memory:", factory=connection_factory())
    connection.execute("CREATE TABLE t (a)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    assert connection.execute("SELECT a FROM t").fetchall() == [(1,)]
    connection.close()

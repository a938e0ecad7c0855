"""One writer at a time, in process, for a SQLite database shared by many threads.

SQLite allows one writing transaction per database. A thread that finds the write lock taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10 … up to 100 ms between tries rather than waking when the
lock is free: with a dozen poller and delivery threads writing small transactions, those sleeps were most
of the time a delivered notification took (docs/benchmarks.md, reporting). Queueing the threads on a
Python lock first hands the database from one writer to the next at once. Other processes on the same
file still meet the busy handler, as before.

The lock is taken when a connection is about to write outside a transaction and released when that
transaction ends (commit, rollback or close), so reads never wait for it.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

# Statements that may write; a CTE is counted as one (ours lead UPDATEs), a harmless over-estimate.
_WRITES = ("insert", "update", "delete", "replace", "with", "create", "drop", "alter")
# Past this, go ahead and let SQLite's own busy timeout decide, as without the lock.
_WAIT_SECONDS = 30.0


def connection_factory() -> type[sqlite3.Connection]:
    """A `sqlite3.Connection` class whose connections share one write lock (pass as `factory=`)."""
    return type("SerializedWritesConnection", (_SerializedWritesConnection,), {"_lock": threading.Lock()})


class _SerializedWritesConnection(sqlite3.Connection):
    _lock: threading.Lock
    _holding = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _SerializedWritesCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _before(self, sql: str) -> None:
        if not self._holding and not self.in_transaction and sql.lstrip()[:7].lower().startswith(_WRITES):
            self._holding = self._lock.acquire(timeout=_WAIT_SECONDS)

    def _after(self) -> None:
        # A statement that ran outside a transaction (autocommit) is finished already.
        if not self.in_transaction:
            self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self._lock.release()


class _SerializedWritesCursor(sqlite3.Cursor):
    connection: _SerializedWritesConnection

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        self.connection._before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection._after()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        self.connection._before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection._after()

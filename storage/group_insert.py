"""Rows that many threads insert at the same moment, written in one transaction (a group commit).

A burst of 100 `/replica create` records 100 requests before their acks. One transaction each queued the
threads behind each other for the write lock and the interpreter lock, which doubled the slowest acks
(docs/benchmarks.md, ack). Here whatever has gathered while a round was being written goes in the next
round, one statement and one commit; a caller returns once its row is committed, with its id.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Engine

# One round's rows at most: one statement stays small, and nobody waits behind a huge batch.
MAX_BATCH = 200


class GroupInsert:
    def __init__(self, engine: Engine, table: Table) -> None:
        self._engine = engine
        self._table = table
        self._lock = threading.Lock()
        self._pending: list[tuple[Mapping[str, Any], Future[int]]] = []
        self._writing = False

    def insert(self, values: Mapping[str, Any], timeout: float = 30) -> int:
        """Insert one row and return its primary key once it is committed (raises what the insert raised).

        The caller that finds nobody writing writes itself: its row and every row that arrives meanwhile,
        round after round, until none is left. The others wait for their round's commit. No writer thread
        to wake: under a burst, each hand-over between threads costs a turn of the interpreter lock.
        """
        done: Future[int] = Future()
        with self._lock:
            self._pending.append((values, done))
            lead = not self._writing
            self._writing = True
        if lead:
            while batch := self._next_batch():
                self._write(batch)
        return done.result(timeout)

    def _next_batch(self) -> list[tuple[Mapping[str, Any], Future[int]]]:
        with self._lock:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            self._writing = bool(batch)
            return batch

    def _write(self, batch: list[tuple[Mapping[str, Any], Future[int]]]) -> None:
        statement = insert(self._table).returning(self._table.c.id, sort_by_parameter_order=True)
        try:
            with self._engine.begin() as connection:
                ids = connection.execute(statement, [dict(values) for values, _ in batch]).scalars().all()
        except Exception as exc:
            for _, done in batch:
                done.set_exception(exc)
            return
        for (_, done), row_id in zip(batch, ids, strict=True):
            done.set_result(row_id)

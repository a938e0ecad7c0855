"""Rows that many threads insert at the same moment, written in one transaction (a group commit).

A burst of 100 `/replica create` records 100 requests before their acks. One transaction each queued the
threads behind each other for the write lock and the interpreter lock, which doubled the slowest acks
(docs/benchmarks.md, ack). Here the callers wait while one writer thread inserts whatever has gathered
since its last round in one statement; a caller returns once its row is committed, with its id.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from queue import Empty, SimpleQueue
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Engine

# One round's rows at most: one statement stays small, and nobody waits behind a huge batch.
MAX_BATCH = 200


class GroupInsert:
    def __init__(self, engine: Engine, table: Table) -> None:
        self._engine = engine
        self._table = table
        self._queue: SimpleQueue[tuple[Mapping[str, Any], Future[int]]] = SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def insert(self, values: Mapping[str, Any], timeout: float = 30) -> int:
        """Insert one row and return its primary key once it is committed (raises what the insert raised)."""
        self._ensure_writer()
        done: Future[int] = Future()
        self._queue.put((values, done))
        return done.result(timeout)

    def _ensure_writer(self) -> None:
        with self._start_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_forever, name="group-insert", daemon=True)
                self._writer.start()

    def _write_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            self._write(batch)

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

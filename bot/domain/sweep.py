"""The sweep: how the bot follows whatever it asked Tavus to run (a face's training, a sample video, a test
call). Each kind says how its due rows are leased, how Tavus is asked about one, and what the answer
changes; the sweep runs them all with the same workers, leases and pacing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from queue import SimpleQueue
from typing import Generic, Protocol, TypeVar

from bot import log_context
from storage.models import utcnow

log = logging.getLogger(__name__)

# Threads recording answers. Recording a failure takes several statements; with one writer, 1,000 failures
# at once queued up behind it (docs/benchmarks.md). More would only contend for SQLite's single write lock.
_WRITERS = 4

Target = TypeVar("Target")
Answer = TypeVar("Answer")
R = TypeVar("R")
F = TypeVar("F")


class NoAnswer:
    """Tavus could not be asked (or did not answer); the row was rescheduled."""


NO_ANSWER = NoAnswer()


class Followed(Protocol, Generic[Target, Answer]):
    """One kind of thing Tavus runs and the bot follows."""

    name: str

    def claim(self, *, due_by: datetime, limit: int) -> list[Target]:
        """Lease up to `limit` rows due by `due_by` (one statement that also returns what judging needs)."""
        ...

    def fetch(self, target: Target) -> Answer | NoAnswer:
        """What Tavus says about it; NO_ANSWER (the row rescheduled) if Tavus could not say."""
        ...

    def record(self, target: Target, answer: Answer) -> bool:
        """Record what the answer changes (a lifecycle move, or only the poll's bookkeeping); whether it
        changed anything."""
        ...

    def reschedule(self, target: Target) -> None:
        """Look again later (something went wrong with this row), giving up the lease."""
        ...

    def key(self, target: Target) -> int:
        """The row's id, for the log."""
        ...


def sweep(
    kind: Followed[Target, Answer], *, concurrency: int, stopping: threading.Event | None = None
) -> int:
    """Poll every row of `kind` that was due when the sweep began, once; returns how many were polled.

    `concurrency` workers ask Tavus, sharing one queue of leased rows: whichever finds it running low
    leases the next batch, so no worker waits for a whole batch to finish and no row waits long under its
    lease. A few writer threads record the answers, so the database sees a handful of writers rather than
    one per worker. Once `stopping` is set (the process hands its work over), nothing more is asked; the
    answers at hand are recorded.
    """
    if stopping is not None and stopping.is_set():
        return 0
    due_by = utcnow()
    # Rows leased ahead of the workers: enough to keep every worker busy between two claims, few enough
    # that none waits long under its lease.
    batch = 2 * concurrency
    first = kind.claim(due_by=due_by, limit=batch)
    if not first:
        return 0  # the usual tick: no threads started
    leased: deque[Target] = deque(first)
    lease_lock = threading.Lock()
    exhausted = len(first) < batch

    def next_target() -> Target | None:
        nonlocal exhausted
        if stopping is not None and stopping.is_set():
            return None
        with lease_lock:
            if len(leased) < concurrency and not exhausted:
                wanted = batch - len(leased)
                claimed = kind.claim(due_by=due_by, limit=wanted)
                leased.extend(claimed)
                exhausted = len(claimed) < wanted
            return leased.popleft() if leased else None

    answers: SimpleQueue[tuple[Target, Answer] | None] = SimpleQueue()

    def ask() -> int:
        asked = 0
        while (target := next_target()) is not None:
            answer = guarded(kind, kind.fetch, target, failed=NO_ANSWER)
            if not isinstance(answer, NoAnswer):
                answers.put((target, answer))
            asked += 1
        return asked

    def record() -> None:
        while (item := answers.get()) is not None:
            target, answer = item
            guarded(kind, partial(_record, kind, answer=answer), target, failed=False)

    began = time.monotonic()
    writers = [threading.Thread(target=record, name=f"poll-writer-{n}", daemon=True) for n in range(_WRITERS)]
    for writer in writers:
        writer.start()
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="poll") as pool:
            workers = [pool.submit(ask) for _ in range(concurrency)]
            total = sum(worker.result() for worker in workers)
    finally:
        for _ in writers:
            answers.put(None)
        for writer in writers:
            writer.join()
    if total:
        log.info("polled %d in-flight %s in %.1f s", total, kind.name, time.monotonic() - began)
    return total


def poll_one(kind: Followed[Target, Answer], target: Target) -> bool:
    """Ask about one leased row at once and record the answer (a callback said something happened);
    whether it changed anything."""

    def poll(leased: Target) -> bool:
        answer = kind.fetch(leased)
        return not isinstance(answer, NoAnswer) and kind.record(leased, answer)

    return guarded(kind, poll, target, failed=False)


def _record(kind: Followed[Target, Answer], target: Target, *, answer: Answer) -> bool:
    return kind.record(target, answer)


def guarded(
    kind: Followed[Target, Answer], step: Callable[[Target], R], target: Target, *, failed: F
) -> R | F:
    try:
        # Log lines say which request (and replica) they are about; a job's target names its face's.
        names = ("request_id", "replica_id")
        with log_context.about(**{name: getattr(target, name, None) for name in names}):
            return step(target)
    except Exception:
        # One bad row must not stop the sweep; it is retried next interval.
        log.exception("polling %s %s failed", kind.name, kind.key(target))
        kind.reschedule(target)
        return failed

"""The slow part of a Slack listener (download, photo check, Tavus), run after its ack and off the ack path.

Bolt runs a listener, its ack and everything after the ack, on one thread of its pool; every thread of the
process shares one interpreter lock. Measured with 100 `/replica create` at once (docs/benchmarks.md):
with that work inline, the last acks came after 6–8 s (Slack gives 3); on a few threads of its own it
still took the lock from the acks of the requests right behind. So the work runs here on a few threads,
and a job starts only once no Slack request has waited for its ack for a moment (`settle`), or after
`max_wait` at most: acks first.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

log = logging.getLogger(__name__)

WORKERS = 4
SETTLE_SECONDS = 0.05
MAX_WAIT_SECONDS = 2.0


class AfterAck:
    def __init__(
        self, workers: int = WORKERS, *, settle: float = SETTLE_SECONDS, max_wait: float = MAX_WAIT_SECONDS
    ) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="after-ack")
        self._settle = settle
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._acking = 0
        self._last_ack = 0.0

    @contextmanager
    def acking(self) -> Iterator[None]:
        """Wrap the dispatch of one Slack request, which returns once the listener has acked."""
        with self._lock:
            self._acking += 1
        try:
            yield
        finally:
            with self._lock:
                self._acking -= 1
                self._last_ack = time.monotonic()

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` soon; it must report its own failures to the requester (it is only logged here)."""
        # In the listener's context: what the job logs names the request's workspace and channel.
        self._pool.submit(contextvars.copy_context().run, self._run, job)

    def _acks_settled(self) -> bool:
        with self._lock:
            return not self._acking and time.monotonic() - self._last_ack >= self._settle

    def yield_to_acks(self) -> None:
        """Wait, at most `max_wait`, until no Slack request is waiting for its ack. A job calls it between
        its steps too, so a burst that arrives while it runs is acked before its next step."""
        deadline = time.monotonic() + self._max_wait
        while not self._acks_settled() and time.monotonic() < deadline:
            time.sleep(self._settle / 2)

    def _run(self, job: Callable[[], None]) -> None:
        self.yield_to_acks()
        try:
            job()
        except Exception:
            log.exception("work after an ack failed")

    def close(self) -> None:
        """Finish what was acked: each job is bounded by its own timeouts."""
        self._pool.shutdown(wait=True)

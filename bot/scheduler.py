"""APScheduler wiring: one in-memory scheduler per process; the database coordinates between processes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

SWEEP_JOB = "sweep"
DELIVER_JOB = "deliver"


class Scheduler:
    def __init__(
        self,
        *,
        sweep: Callable[[], object],
        deliver: Callable[[], object],
        poll_interval: float,
        outbox_interval: float,
        housekeeping: Callable[[], object] | None = None,
        reconcile: Callable[[], object] | None = None,
        housekeeping_interval: float = 600,
    ) -> None:
        # A shared SQLAlchemyJobStore would run jobs several times across processes; leases in the
        # database decide who polls what, so each process keeps its own in-memory schedule.
        self._scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"max_instances": 1, "coalesce": True}
        )
        self._deliver = deliver
        self._delivery_lock = threading.Lock()
        self._delivering = False
        self._deliver_again = False
        now = datetime.now(UTC)
        # next_run_time=now: after a restart, in-flight requests are looked at straight away.
        self._scheduler.add_job(sweep, "interval", seconds=poll_interval, id=SWEEP_JOB, next_run_time=now)
        self._scheduler.add_job(
            self._run_delivery, "interval", seconds=outbox_interval, id=DELIVER_JOB, next_run_time=now
        )
        if reconcile is not None:
            # Often enough that a crash mid-submission is repaired within a minute, however long the
            # poll interval is.
            every = min(poll_interval, 60)
            self._scheduler.add_job(reconcile, "interval", seconds=every, id="reconcile", next_run_time=now)
        if housekeeping is not None:
            self._scheduler.add_job(
                housekeeping, "interval", seconds=housekeeping_interval, id="housekeeping"
            )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()

    def kick_delivery(self) -> None:
        """Deliver soon rather than at the next interval (something new is in the outbox)."""
        with self._delivery_lock:
            if self._delivering:
                # Asking APScheduler for a second run now would be refused (max_instances) with a warning
                # per kick; the running pass goes round once more instead.
                self._deliver_again = True
                return
        if self.running:
            job = self._scheduler.get_job(DELIVER_JOB)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    def _run_delivery(self) -> None:
        with self._delivery_lock:
            self._delivering = True
        try:
            while True:
                with self._delivery_lock:
                    self._deliver_again = False
                self._deliver()
                with self._delivery_lock:
                    if not self._deliver_again:
                        return
        finally:
            with self._delivery_lock:
                self._delivering = False

    def shutdown(self) -> None:
        if self.running:
            self._scheduler.shutdown(wait=True)

"""APScheduler wiring: one in-memory scheduler per process; the database coordinates between processes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

SWEEP_JOB = "sweep"
DELIVER_JOB = "deliver"


class Scheduler:
    """The jobs of one process: registered once at start, then run on their intervals; delivery can also
    be woken at once (`kick_delivery`)."""

    def __init__(self) -> None:
        # A shared SQLAlchemyJobStore would run jobs several times across processes; leases in the
        # database decide who polls what, so each process keeps its own in-memory schedule.
        self._scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"max_instances": 1, "coalesce": True}
        )
        self._deliver: Callable[[], object] = lambda: None
        self._delivery_lock = threading.Lock()
        self._delivering = False
        self._deliver_again = False

    def every(self, seconds: float, job: Callable[[], object], *, name: str, at_start: bool = False) -> None:
        """Run `job` every `seconds`, never two at once; `at_start`: also as soon as the scheduler starts
        (after a restart, in-flight requests are looked at straight away)."""
        self._add(_OneAtATime(job), seconds, name=name, at_start=at_start)

    def deliver_with(self, deliver: Callable[[], object], *, every: float) -> None:
        """The delivery pass: run every `every` seconds, at start, and whenever it is kicked."""
        self._deliver = deliver
        self._add(self._run_delivery, every, name=DELIVER_JOB, at_start=True)

    def _add(self, job: Callable[[], object], seconds: float, *, name: str, at_start: bool) -> None:
        # A pass that outlasts its interval (a sweep of thousands, a busy delivery) is normal here: the
        # run that comes due meanwhile returns at once instead of waiting (see `_OneAtATime`). Two
        # instances let APScheduler start that run; with one it would refuse it and log a warning each time.
        start = {"next_run_time": datetime.now(UTC)} if at_start else {}
        self._scheduler.add_job(job, "interval", seconds=seconds, id=name, max_instances=2, **start)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()

    def kick(self, name: str) -> None:
        """Run job `name` soon rather than at its next interval (a run in progress finishes first)."""
        if self.running:
            job = self._scheduler.get_job(name)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    def kick_delivery(self) -> None:
        """Deliver soon rather than at the next interval (something new is in the outbox)."""
        with self._delivery_lock:
            if self._delivering:
                # Asking APScheduler for a second run now would be refused (max_instances) with a warning
                # per kick; the running pass goes round once more instead.
                self._deliver_again = True
                return
        self.kick(DELIVER_JOB)

    def _run_delivery(self) -> None:
        with self._delivery_lock:
            if self._delivering:
                # Due while a pass runs: that pass goes round once more instead.
                self._deliver_again = True
                return
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


class _OneAtATime:
    """Runs `job` unless the previous run is still going; then this run does nothing (the next one, on
    the job's interval, picks up whatever came due)."""

    def __init__(self, job: Callable[[], object]) -> None:
        self._job = job
        self._running = threading.Lock()
        self.__name__ = getattr(job, "__name__", type(self).__name__)

    def __call__(self) -> None:
        if not self._running.acquire(blocking=False):
            return
        try:
            self._job()
        finally:
            self._running.release()


class Throttle:
    """Calls `kick` at once, but at most once per `spacing` seconds: calls in between fold into one more,
    made when the spacing has passed. A sweep that records hundreds of changes wakes delivery a few times,
    not once per row, and the last change is never left waiting for the next interval."""

    def __init__(self, kick: Callable[[], None], *, spacing: float = 1.0) -> None:
        self._kick = kick
        self._spacing = spacing
        self._lock = threading.Lock()
        self._last = -spacing
        self._timer: threading.Timer | None = None

    def __call__(self) -> None:
        with self._lock:
            wait = self._last + self._spacing - time.monotonic()
            if wait > 0:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._trailing)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._last = time.monotonic()
        self._kick()

    def _trailing(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._kick()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

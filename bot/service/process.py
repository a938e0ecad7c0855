"""One replica-bot process over its runtime: started once the database is ready, ready or not (and why),
and handed over gracefully on SIGTERM or SIGINT.

The hand-over: no new background work is taken (no sweep, delivery or repair claims another row), the
Slack or Tavus call in progress is finished but not retried, and then every lease this process holds is
released at once, so the other processes on the database take its requests and notifications over at
their next pass instead of when the leases would have expired. Work acked to a person goes on while the
grace lasts; the process exits 0 within SHUTDOWN_GRACE_SECONDS whatever is still running.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from bot.service.runtime import Runtime
from storage.db import DatabaseError, schema_behind
from storage.repository import leases

log = logging.getLogger(__name__)

# How often a process that cannot reach its database at start tries again.
RETRY = 2.0
# The exit comes this long before the grace ends, so that it lands within it.
_EXIT_MARGIN = 0.5
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Process:
    def __init__(self, runtime: Runtime, *, grace: float) -> None:
        self.runtime = runtime
        self._grace = grace
        # Re-entrant: a second signal can land on the main thread while it holds the lock.
        self._lock = threading.RLock()
        self._stopping = runtime.stopping
        self._deadline: float | None = None
        self._released = False
        self._watchdog: threading.Timer | None = None
        self._handed_over = threading.Event()
        self._started = False

    # --- start --------------------------------------------------------------------------------------------

    def start(self) -> bool:
        """Bring the schema to the newest revision, then start the background work. While the database
        cannot be reached, try again every few seconds (`/readyz` says why meanwhile) until it can or the
        process is told to stop. Whether it started."""
        while not self._stopping.is_set():
            try:
                self.runtime.migrate()
            except DatabaseError as exc:
                log.warning("the database is not ready (%s); trying again in %.0f s", _why(exc), RETRY)
                self._stopping.wait(RETRY)
                continue
            # Migrated: Slack's requests are taken from now on, while the background work starts.
            self._started = True
            # A stop that came meanwhile finds the scheduler's jobs taking nothing (`stopping` is set).
            self.runtime.start_work()
            self.runtime.say_started()
            return True
        return False

    def start_in_background(self) -> None:
        """`start` on a thread of its own, so the HTTP listener answers `/readyz` while it runs."""
        threading.Thread(target=self.start, name="start", daemon=True).start()

    @property
    def started(self) -> bool:
        """Whether the schema is migrated and the background work is under way (it stays true while the
        process hands over)."""
        return self._started

    # --- health -------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        return self.runtime.healthy()

    def not_ready(self) -> str | None:
        """Why this process should not be sent work now, in one line; None when it is ready: the database
        answers, its schema is at the newest revision, and the scheduler runs."""
        if self._stopping.is_set():
            return "shutting down"
        try:
            behind = schema_behind(self.runtime.engine)
        except DatabaseError as exc:
            return f"the database does not answer ({_why(exc)})"
        if behind is not None:
            return behind
        if not self.runtime.scheduler.running:
            return "the scheduler is not running yet" if not self._started else "the scheduler has stopped"
        return None

    # --- the hand-over ------------------------------------------------------------------------------------

    def begin_stop(self) -> None:
        """Stop taking work and start handing it over; returns at once (it is called from a signal
        handler). Calling it again changes nothing."""
        with self._lock:
            if self._deadline is not None:
                return
            self._deadline = time.monotonic() + self._grace
            self._stopping.set()
        log.info("stopping: finishing the calls in progress, then handing the work over")
        threading.Thread(target=self._hand_over, name="hand-over", daemon=True).start()
        self._watchdog = threading.Timer(max(0.0, self._grace - _EXIT_MARGIN), self._out_of_time)
        self._watchdog.daemon = True
        self._watchdog.start()

    def finish(self) -> int:
        """After the front door has closed (uvicorn answered its last request): wait for the hand-over and
        the work acked to people, within the grace, then close everything. The exit status: 0."""
        self.begin_stop()
        if self._handed_over.wait(self._remaining()):
            _within(self._remaining(), self.runtime.after_ack.close, "work after an ack")
            self.runtime.close(finish_acked=False)
            if self._watchdog is not None:
                self._watchdog.cancel()
            log.info("stopped")
        # Otherwise a call is still running: the watchdog hands over and exits when the grace ends.
        return 0

    @contextmanager
    def signals_handled(self) -> Iterator[None]:
        """SIGTERM and SIGINT begin the hand-over instead of ending the process. (uvicorn installs its own
        handlers while it serves, and raises the signal again once it has shut down: it lands here.)"""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.begin_stop()

    def _hand_over(self) -> None:
        # The scheduler's jobs see `stopping` and return after the call in progress; then nothing holds a
        # lease that is still being worked on.
        self.runtime.scheduler.shutdown()
        self._release()

    def _release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        try:
            requests, notes = leases.release_all(self.runtime.engine, owner=self.runtime.owner)
            log.info("handed over %d requests and %d notifications to the other processes", requests, notes)
        except DatabaseError as exc:
            log.warning("could not release this process's leases (%s); they expire on their own", _why(exc))
        finally:
            self._handed_over.set()

    def _out_of_time(self) -> None:
        """The grace is nearly over and something is still running: hand over what is held and exit."""
        log.warning("still busy when SHUTDOWN_GRACE_SECONDS ran out; handing over and exiting now")
        self._release()
        logging.shutdown()
        os._exit(0)

    def _remaining(self) -> float:
        assert self._deadline is not None
        return max(0.0, self._deadline - _EXIT_MARGIN - time.monotonic())


def _within(seconds: float, step: Callable[[], None], what: str) -> None:
    """Run `step`, waiting for it at most `seconds` (it goes on in the background after that)."""
    thread = threading.Thread(target=step, name=f"closing {what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        log.warning("%s did not finish within the grace", what)


def _why(exc: BaseException) -> str:
    """The kind of a database error, without its text (which can carry the URL and its password)."""
    cause = exc.__cause__ or getattr(exc, "orig", None)
    return type(cause).__name__ if cause is not None else type(exc).__name__

"""bot.service.scheduler: a kick during a delivery pass is not lost, and APScheduler is not asked for a
second run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from bot.service.scheduler import SWEEP_JOB, Scheduler


def scheduler_delivering_with(deliver: Callable[[], object]) -> Scheduler:
    """A scheduler wired like production's (a sweep and delivery, both at start), with long intervals so
    only the first pass and the kicks run delivery."""
    scheduler = Scheduler()
    scheduler.every(3600, lambda: None, name=SWEEP_JOB, at_start=True)
    scheduler.deliver_with(deliver, every=3600)
    return scheduler


def test_a_kick_during_delivery_runs_one_more_pass_quietly(caplog: pytest.LogCaptureFixture) -> None:
    passes: list[int] = []
    first_pass_running = threading.Event()
    let_first_pass_finish = threading.Event()
    second_pass_done = threading.Event()

    def deliver() -> None:
        passes.append(len(passes) + 1)
        if len(passes) == 1:
            first_pass_running.set()
            let_first_pass_finish.wait(5)
        else:
            second_pass_done.set()

    scheduler = scheduler_delivering_with(deliver)
    caplog.set_level(logging.WARNING, logger="apscheduler")
    scheduler.start()
    try:
        assert first_pass_running.wait(5)
        for _ in range(5):  # a busy sweep kicks several times
            scheduler.kick_delivery()
        let_first_pass_finish.set()
        assert second_pass_done.wait(5), "the kick during the pass was lost"
    finally:
        scheduler.shutdown()
    assert passes == [1, 2]  # the five kicks coalesced into one more pass
    assert not [r for r in caplog.records if "maximum number of running instances" in r.getMessage()]


def test_a_kick_when_idle_delivers_at_once() -> None:
    delivered = threading.Event()
    calls: list[int] = []

    def deliver() -> None:
        calls.append(1)
        if len(calls) == 2:
            delivered.set()

    scheduler = scheduler_delivering_with(deliver)
    scheduler.start()
    try:
        while not calls:  # the first pass runs at start
            threading.Event().wait(0.01)
        threading.Event().wait(0.1)
        scheduler.kick_delivery()
        assert delivered.wait(5), "an idle scheduler ignored the kick"
    finally:
        scheduler.shutdown()


def test_a_failing_pass_does_not_stop_later_kicks() -> None:
    calls: list[int] = []
    second = threading.Event()

    def deliver() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("slack down")
        second.set()

    scheduler = scheduler_delivering_with(deliver)
    scheduler.start()
    try:
        while not calls:
            threading.Event().wait(0.01)
        threading.Event().wait(0.1)
        scheduler.kick_delivery()
        assert second.wait(5)
    finally:
        scheduler.shutdown()


def test_passes_longer_than_their_interval_never_overlap_and_log_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sweep of thousands outlasts its tick, a busy delivery its interval: the runs that come due
    meanwhile return at once, without APScheduler refusing them with a warning each time."""
    running = {"sweep": 0, "deliver": 0}
    most = {"sweep": 0, "deliver": 0}
    runs = {"sweep": 0, "deliver": 0}
    lock = threading.Lock()

    def slow(kind: str) -> Callable[[], None]:
        def job() -> None:
            with lock:
                running[kind] += 1
                runs[kind] += 1
                most[kind] = max(most[kind], running[kind])
            threading.Event().wait(0.35)
            with lock:
                running[kind] -= 1

        return job

    scheduler = Scheduler()
    scheduler.every(0.05, slow("sweep"), name=SWEEP_JOB, at_start=True)
    scheduler.deliver_with(slow("deliver"), every=0.05)
    caplog.set_level(logging.WARNING, logger="apscheduler")
    scheduler.start()
    try:
        threading.Event().wait(1.2)
        for _ in range(5):
            scheduler.kick_delivery()
    finally:
        scheduler.shutdown()
    assert most == {"sweep": 1, "deliver": 1}
    assert runs["sweep"] >= 2 and runs["deliver"] >= 2
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

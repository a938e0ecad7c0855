"""bot.scheduler: a kick during a delivery pass is not lost, and APScheduler is not asked for a second run."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.scheduler import Scheduler


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

    scheduler = Scheduler(sweep=lambda: None, deliver=deliver, poll_interval=3600, outbox_interval=3600)
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

    scheduler = Scheduler(sweep=lambda: None, deliver=deliver, poll_interval=3600, outbox_interval=3600)
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

    scheduler = Scheduler(sweep=lambda: None, deliver=deliver, poll_interval=3600, outbox_interval=3600)
    scheduler.start()
    try:
        while not calls:
            threading.Event().wait(0.01)
        threading.Event().wait(0.1)
        scheduler.kick_delivery()
        assert second.wait(5)
    finally:
        scheduler.shutdown()

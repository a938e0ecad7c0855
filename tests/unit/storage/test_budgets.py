"""storage.repository.budgets on SQLite and PostgreSQL: the generic cell rate algorithm, Retry-After
pauses, all-or-nothing takes, and one budget however many workers spend it at once."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from storage.repository import budgets
from storage.repository.budgets import Budget


def test_a_burst_goes_at_once_then_one_per_interval(engine: Engine) -> None:
    budget = [Budget("T1:chat.update", interval=2.0, burst=3)]
    assert [budgets.take(engine, budget, now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budgets.take(engine, budget, now=100.0) == 2.0
    assert budgets.take(engine, budget, now=101.0) == 1.0
    assert budgets.take(engine, budget, now=102.0) == 0.0
    assert budgets.take(engine, budget, now=102.5) == 1.5


def test_available_counts_room_without_spending_it(engine: Engine) -> None:
    budget = Budget("T1:views.publish", interval=1.0, burst=4)
    assert budgets.available(engine, budget, now=50.0) == 4
    for _ in range(3):
        budgets.take(engine, [budget], now=50.0)
    assert budgets.available(engine, budget, now=50.0) == 1
    assert budgets.available(engine, budget, now=50.0) == 1
    assert budgets.available(engine, budget, now=52.0) == 3
    assert budgets.available(engine, budget, now=500.0) == 4


def test_a_pause_holds_every_call_until_it_ends_and_is_never_shortened(engine: Engine) -> None:
    budget = [Budget("T1:chat.update", interval=1.0, burst=5)]
    budgets.pause(engine, "T1:chat.update", until=130.0)
    budgets.pause(engine, "T1:chat.update", until=110.0)
    assert budgets.take(engine, budget, now=100.0) == 30.0
    assert budgets.available(engine, budget[0], now=120.0) == 0
    assert budgets.take(engine, budget, now=130.0) == 0.0


def test_a_take_of_several_budgets_spends_all_or_none(engine: Engine) -> None:
    channel = Budget("T1:chat.postMessage:C1", interval=1.0, burst=1)
    workspace = Budget("T1:chat.postMessage.workspace", interval=10.0, burst=1)
    assert budgets.take(engine, [channel, workspace], now=0.0) == 0.0
    other = Budget("T1:chat.postMessage:C2", interval=1.0, burst=1)
    # C2 has room but the workspace ceiling has none: C2's budget is left untouched.
    assert budgets.take(engine, [other, workspace], now=1.0) == 9.0
    assert budgets.available(engine, other, now=1.0) == 1
    assert budgets.wait(engine, [other, workspace], now=1.0) == 9.0


def test_budgets_are_separate_per_key(engine: Engine) -> None:
    first, second = Budget("T1:chat.update", 60.0), Budget("T2:chat.update", 60.0)
    assert budgets.take(engine, [first], now=0.0) == 0.0
    assert budgets.take(engine, [second], now=0.0) == 0.0
    assert budgets.take(engine, [first], now=1.0) == 59.0


def test_many_workers_at_once_share_one_budget(engine: Engine) -> None:
    """Eight threads (each its own connection, as separate processes would be) spend one burst of 5: exactly
    5 calls are granted, never 5 per worker."""
    budget = [Budget("T1:chat.update", interval=3600.0, burst=5)]
    granted: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(10):
                if budgets.take(engine, budget, now=1000.0) == 0.0:
                    granted.append(1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(granted) == 5

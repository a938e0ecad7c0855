"""Slack rate-limit budgets in the database, so every process sharing it spends one budget per workspace.

Each budget is one row and the generic cell rate algorithm (GCRA): a call is allowed when the row's
theoretical arrival time (`tat`) is no more than the burst allowance ahead of now, and taking it moves
`tat` on by one emission interval. That is one compare-and-set `UPDATE` per call, with no log of calls
to prune. A Retry-After from Slack sets `paused_until`, which holds every call back until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from storage.models import SlackBudget, table

_budgets = table(SlackBudget)


@dataclass(frozen=True)
class Budget:
    """One limit: `key` names it (workspace, method, channel); a call every `interval` seconds on
    average, and up to `burst` calls at once after a quiet spell."""

    key: str
    interval: float
    burst: int = 1

    @property
    def tolerance(self) -> float:
        return self.interval * (max(1, self.burst) - 1)


def take(engine: Engine, budgets: Sequence[Budget], *, now: float) -> float:
    """Spend one call from every budget in `budgets` at once, or none: 0.0 if taken, otherwise the
    seconds until all of them would allow it."""
    with engine.connect() as connection:
        transaction = connection.begin()
        for budget in budgets:
            if not _spend(connection, budget, now) and not (
                _ensure(connection, budget) and _spend(connection, budget, now)
            ):
                wait = _wait(connection, budgets, now)
                transaction.rollback()
                return max(wait, 1e-3)
        transaction.commit()
    return 0.0


def _spend(connection: Connection, budget: Budget, now: float) -> bool:
    statement = (
        update(_budgets)
        .where(
            _budgets.c.key == budget.key,
            _budgets.c.tat - budget.tolerance <= now,
            _budgets.c.paused_until <= now,
        )
        .values(tat=sa.case((_budgets.c.tat > now, _budgets.c.tat), else_=now) + budget.interval)
        .returning(_budgets.c.key)
    )
    return connection.execute(statement).first() is not None


def wait(engine: Engine, budgets: Sequence[Budget], *, now: float) -> float:
    """Seconds until every budget in `budgets` allows a call (0.0: now), spending nothing."""
    with engine.connect() as connection:
        return _wait(connection, budgets, now)


def available(engine: Engine, budget: Budget, *, now: float) -> int:
    """How many calls `budget` allows right now, spending nothing."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(_budgets.c.tat, _budgets.c.paused_until).where(_budgets.c.key == budget.key)
        ).first()
    if row is None:
        return max(1, budget.burst)
    tat, paused_until = float(row[0]), float(row[1])
    if paused_until > now:
        return 0
    room = now + budget.tolerance - tat
    if room < 0:
        return 0
    return min(max(1, budget.burst), int(room // budget.interval) + 1)


def pause(engine: Engine, key: str, *, until: float) -> None:
    """Slack said 429: nothing more on this budget before `until` (a later pause is never shortened)."""
    with engine.begin() as connection:
        _ensure(connection, Budget(key, 1.0))
        connection.execute(
            update(_budgets)
            .where(_budgets.c.key == key, _budgets.c.paused_until < until)
            .values(paused_until=until)
        )


def _ensure(connection: Connection, budget: Budget) -> bool:
    """Create the budget's row if it is missing; True if it was (so spending can be tried again)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(_budgets)
        .values(key=budget.key, tat=0.0, paused_until=0.0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return bool(connection.execute(statement).rowcount)


def _wait(connection: Connection, budgets: Sequence[Budget], now: float) -> float:
    by_key = {b.key: b for b in budgets}
    rows = connection.execute(
        sa.select(_budgets.c.key, _budgets.c.tat, _budgets.c.paused_until).where(
            _budgets.c.key.in_(list(by_key))
        )
    ).all()
    longest = 0.0
    for key, tat, paused_until in rows:
        longest = max(longest, float(paused_until) - now, float(tat) - by_key[key].tolerance - now)
    return max(0.0, longest)

"""storage.group_insert: concurrent inserts share transactions, and each caller gets its own row's id."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.group_insert import GroupInsert

THREADS = 50

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'group.db'}" if request.param == "sqlite" else request.getfixturevalue(
        "postgres_url"
    )
    engine = make_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_concurrent_callers_get_their_own_ids_in_fewer_transactions(engine: Engine) -> None:
    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine, "commit", count)
    inserter = GroupInsert(engine, items)
    start = threading.Barrier(THREADS)
    got: dict[str, int] = {}

    def insert(n: int) -> None:
        start.wait()
        got[f"item-{n}"] = inserter.insert({"name": f"item-{n}"})

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with engine.connect() as connection:
        stored = {name: row_id for row_id, name in connection.execute(select(items.c.id, items.c.name))}
    assert got == stored and len(stored) == THREADS
    assert commits < THREADS


def test_a_failed_insert_raises_for_its_caller_and_the_next_one_works(engine: Engine) -> None:
    inserter = GroupInsert(engine, items)
    first = inserter.insert({"name": "twice"})
    with pytest.raises(IntegrityError):
        inserter.insert({"name": "twice"})
    assert inserter.insert({"name": "after"}) > first

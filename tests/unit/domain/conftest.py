"""The domain services wired as in production (`tests/unit/domain/world.py`), over the session's Tavus
emulator and photo host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator
from tests.unit.domain.world import World, make_world


@pytest.fixture
def world(
    sqlite_engine: Engine, tavus: TavusEmulator, tavus_server: EmulatorServer, images: StaticServer
) -> Iterator[World]:
    yield from make_world(sqlite_engine, tavus, tavus_server, images)


@pytest.fixture
def any_world(
    engine: Engine, tavus: TavusEmulator, tavus_server: EmulatorServer, images: StaticServer
) -> Iterator[World]:
    """The same on SQLite and on PostgreSQL: for what two workers may race over."""
    yield from make_world(engine, tavus, tavus_server, images)

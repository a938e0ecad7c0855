"""Fixtures shared by the in-process tests that talk to a Tavus emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """One emulator per test module, keyed with the module's `API_KEY` (each module its own, so a leak
    check can look for exactly that key); trainings take `TRAINING_SECONDS` (default 0.2 s)."""
    seconds = getattr(request.module, "TRAINING_SECONDS", 0.2)
    emulator = TavusEmulator(api_key=request.module.API_KEY, default_training_seconds=seconds)
    with EmulatorServer(emulator) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[TavusEmulator]:
    """The module's emulator, emptied before and after the test."""
    server.emulator.reset()
    yield server.emulator
    server.emulator.reset()

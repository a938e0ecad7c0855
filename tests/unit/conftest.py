"""Fixtures shared by the in-process tests that talk to a Tavus emulator over HTTP, and the site it
downloads from and calls back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator
from tests.unit.local_site import IMAGE_BYTES, VIDEO_BYTES, LocalSite


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


@pytest.fixture
def api(
    request: pytest.FixtureRequest, server: EmulatorServer, emulator: TavusEmulator
) -> Iterator[httpx.Client]:
    """The (emptied) emulator's API over HTTP, keyed with the module's `API_KEY`."""
    key = request.module.API_KEY
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}, timeout=5) as client:
        yield client


@pytest.fixture
def site() -> Iterator[LocalSite]:
    """A loopback site serving a headshot and a training video, and taking callbacks."""
    local = LocalSite()
    local.files["/headshot.png"] = IMAGE_BYTES
    local.files["/training.mp4"] = VIDEO_BYTES
    yield local
    local.close()

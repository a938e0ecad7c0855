"""The app under test, started as `replica-bot serve` processes against the session's stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess, app_env


@pytest.fixture
def start_app(
    slack_server: SlackFakeServer, tavus_server: EmulatorServer, tmp_path: Path
) -> Iterator[AppFactory]:
    """Start app processes; all are stopped at the end of the test."""
    started: list[AppProcess] = []

    def factory(database_url: str | None = None, **overrides: str) -> AppProcess:
        url = database_url or f"sqlite:///{tmp_path / 'replica_bot.db'}"
        app = AppProcess(app_env(slack_server, tavus_server, url, **overrides), tmp_path)
        started.append(app)
        return app.start()

    yield factory
    for app in started:
        app.stop()


@pytest.fixture
def app(start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator) -> AppProcess:
    return start_app()

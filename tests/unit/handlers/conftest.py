"""`Services` built the way `bot.service.runtime.build_runtime` builds them, in process: a migrated SQLite
database (a copy of one migrated once per run), a real TavusClient aimed at the session's Tavus emulator,
a recording Slack client, and a `run_later` that only collects the jobs meant for after the ack (a test
runs them when it wants to)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.domain.access import Access
from bot.domain.catalogue import DEFAULT_DOCS_BASE_URL, Catalogue
from bot.domain.deletion import DeletionService
from bot.domain.lifecycle import Lifecycle
from bot.domain.queries import RequestQueries
from bot.domain.recovery import Recovery
from bot.domain.resubmission import Resubmission
from bot.domain.submission import SubmissionRules, SubmissionService
from bot.sandbox.tavus_emulator import EmulatorServer
from bot.service.settings import STOCK_VOICES
from bot.slack.files import SlackFileDownloader
from bot.slack.home_tab import HomePublisher
from bot.slack.intake import Intake
from bot.tavus import TavusClient
from handlers.services import Services, Voices
from storage.repository import seen_events
from tests.servers import TAVUS_KEY
from tests.unit.handlers.fakes import Jobs, MakeServices, RecordingClient

VOICE_DESCRIPTIONS = {"anna": "Warm and calm"}


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    # SQLite only: the listeners' behaviour does not depend on the database server.
    return sqlite_engine


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def jobs() -> Jobs:
    return Jobs()


@pytest.fixture(scope="session")
def tavus_client(tavus_server: EmulatorServer) -> Iterator[TavusClient]:
    # One client for the run, as production shares one; a test that reads the emulator's log asks for
    # the `tavus` fixture, which resets it.
    with TavusClient(tavus_server.url, TAVUS_KEY, max_attempts=1) as tavus:
        yield tavus


@pytest.fixture
def make_services(
    engine: Engine, client: RecordingClient, jobs: Jobs, tavus_client: TavusClient
) -> MakeServices:
    def make(*, allowed_channels: tuple[str, ...] = (), admins: tuple[str, ...] = ()) -> Services:
        catalogue = Catalogue(DEFAULT_DOCS_BASE_URL)
        access = Access(allowed_channels=allowed_channels, admins=admins, delete_grace=timedelta(minutes=60))
        lifecycle = Lifecycle(engine)
        rules = SubmissionRules(
            voices=STOCK_VOICES,
            # Links on loopback (the test image host) are allowed; the photo check stays out of the way.
            allow_private_urls=True,
            photo_check="off",
            confirm_rights=True,
            first_poll_after=timedelta(seconds=10),
        )
        # No media store: like a deployment without PUBLIC_BASE_URL, links work and uploads are refused.
        submission = SubmissionService(rules, engine, lifecycle, tavus_client, None)
        recovery = Recovery(
            engine, lifecycle, submission, tavus_client, owner="test", stalled_after=timedelta(minutes=5)
        )
        # Slack's files are on loopback here (the test image host), where the bot token may go.
        files = SlackFileDownloader("xoxb-test", "http://127.0.0.1/api/", max_bytes=rules.max_image_bytes)
        intake = Intake(submission, recovery, files, catalogue, slack=client, run_later=jobs.append)
        return Services(
            submission=submission,
            intake=intake,
            deletion=DeletionService(engine, lifecycle, tavus_client, access),
            requests=RequestQueries(engine, access),
            retries=Resubmission(engine, access),
            access=access,
            catalogue=catalogue,
            home=HomePublisher(engine, catalogue, access),
            voices=Voices(STOCK_VOICES, None, VOICE_DESCRIPTIONS),
            first_delivery=lambda keys: seen_events.first_time(engine, keys),
            docs_url=DEFAULT_DOCS_BASE_URL,
        )

    return make


@pytest.fixture
def services(make_services: MakeServices) -> Services:
    return make_services()

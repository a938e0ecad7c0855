"""Mentions, DMs and the App Home tab, called directly: answers go to the message's thread."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.sandbox.static_server import StaticServer
from bot.service.settings import STOCK_VOICES
from bot.slack.render import upload_help
from handlers.events.home_opened import on_home_opened
from handlers.events.photo_message import on_mention, on_message
from handlers.services import Services
from storage.models import RequestStatus
from tests.unit.handlers.builders import (
    CHANNEL,
    USER,
    event_body,
    message_event,
    photo_file,
    stored_requests,
    submitting_request,
)
from tests.unit.handlers.fakes import BOT_ID, Jobs, MakeServices, RecordingClient

TS = "1700000000.000100"
DM = "D1"


def test_a_mention_without_a_photo_gets_the_upload_help_in_its_thread(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    event = message_event("<@UBOT> hello there", ts=TS)

    on_mention(event, event_body(event), client, services)

    assert client.called("chat_postMessage") == [
        {"channel": CHANNEL, "thread_ts": TS, "text": upload_help(STOCK_VOICES)}
    ]
    assert stored_requests(engine) == [] and jobs == []


def test_an_answer_to_a_mention_in_a_thread_stays_in_that_thread(
    services: Services, client: RecordingClient
) -> None:
    event = message_event("<@UBOT> help", ts=TS, thread_ts="1699999999.000001")

    on_mention(event, event_body(event), client, services)

    [posted] = client.called("chat_postMessage")
    assert posted["thread_ts"] == "1699999999.000001"


def test_a_repeated_delivery_of_the_same_message_is_ignored(
    services: Services, client: RecordingClient
) -> None:
    event = message_event("<@UBOT> hello", ts=TS)

    on_mention(event, event_body(event, event_id="Ev1"), client, services)
    # Slack's retry, or the same upload arriving as a message event: same channel and ts, another event id.
    on_mention(event, event_body(event, event_id="Ev2"), client, services)

    assert len(client.called("chat_postMessage")) == 1


def test_the_bots_own_messages_are_ignored(services: Services, client: RecordingClient, jobs: Jobs) -> None:
    event = message_event("<@UBOT> hello", bot_id=BOT_ID, files=[photo_file()])

    on_mention(event, event_body(event), client, services)
    # Nor did it use up the delivery: a person's message with that ts is still answered.
    person = message_event("<@UBOT> hello")
    on_mention(person, event_body(person, event_id="Ev2"), client, services)

    assert len(client.called("chat_postMessage")) == 1 and jobs == []


@pytest.mark.parametrize("subtype", ["message_changed", "message_deleted", "channel_join", "bot_message"])
def test_edits_and_other_dm_subtypes_are_ignored(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine, subtype: str
) -> None:
    event = message_event(
        "", kind="message", channel=DM, channel_type="im", subtype=subtype, files=[photo_file()]
    )

    on_message(event, event_body(event), client, services)

    assert client.calls == [] and jobs == [] and stored_requests(engine) == []


def test_channel_messages_without_a_mention_are_ignored(
    services: Services, client: RecordingClient, jobs: Jobs
) -> None:
    event = message_event("look at this", kind="message", channel_type="channel", files=[photo_file()])

    on_message(event, event_body(event), client, services)

    assert client.calls == [] and jobs == []


def test_a_dm_without_a_photo_gets_the_upload_help(services: Services, client: RecordingClient) -> None:
    event = message_event("hi", kind="message", channel=DM, channel_type="im", ts=TS)

    on_message(event, event_body(event), client, services)

    [posted] = client.called("chat_postMessage")
    assert (posted["channel"], posted["thread_ts"]) == (DM, TS)
    assert posted["text"].startswith("Attach a headshot to your message")


def test_a_mention_with_a_photo_records_the_request_and_queues_one_job(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    event = message_event('<@UBOT> voice=anna name="Ana"', ts=TS, files=[photo_file("F42")])

    on_mention(event, event_body(event), client, services)

    [request] = stored_requests(engine)
    assert request.status == RequestStatus.RECEIVED
    assert (request.requester_id, request.channel_id, request.team_id) == (USER, CHANNEL, "T1")
    assert (request.replica_name, request.voice_name) == ("Ana", "anna")
    assert (request.slack_file_id, request.thread_ts, request.source_url) == ("F42", TS, None)
    assert len(jobs) == 1
    # Nothing is said until the photo has been looked at.
    assert client.calls == []


def test_the_queued_job_downloads_the_photo_and_says_why_it_cannot_be_hosted(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine, images: StaticServer
) -> None:
    # These services have no media store (no PUBLIC_BASE_URL): an upload is refused after its download.
    event = message_event("<@UBOT> voice=anna", ts=TS, files=[photo_file(url=f"{images.url}/ana.png")])
    on_mention(event, event_body(event), client, services)

    jobs.run_all()

    [posted] = client.called("chat_postMessage")
    assert (posted["channel"], posted["thread_ts"]) == (CHANNEL, TS)
    assert posted["text"].startswith(":warning: I did not send this to Tavus: this bot has no public address")
    # A refused photo leaves no request behind.
    assert stored_requests(engine) == []


def test_a_mention_with_a_link_records_a_link_request(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    event = message_event("<@UBOT> create <https://example.com/ana.png> voice=anna", ts=TS)

    on_mention(event, event_body(event), client, services)

    [request] = stored_requests(engine)
    assert (request.source_url, request.slack_file_id) == ("https://example.com/ana.png", None)
    assert request.thread_ts == TS and len(jobs) == 1 and client.calls == []


def test_a_dm_with_a_photo_records_the_request(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    event = message_event(
        "voice=ivy", kind="message", channel=DM, channel_type="im", subtype="file_share", files=[photo_file()]
    )

    on_message(event, event_body(event), client, services)

    [request] = stored_requests(engine)
    assert (request.channel_id, request.voice_name, request.slack_file_id) == (DM, "ivy", "F1")
    assert len(jobs) == 1


def test_a_photo_with_an_unknown_voice_is_refused_in_the_thread(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    event = message_event("<@UBOT> voice=zed", ts=TS, files=[photo_file()])

    on_mention(event, event_body(event), client, services)

    [posted] = client.called("chat_postMessage")
    assert posted["thread_ts"] == TS
    assert posted["text"].startswith(":warning: `zed` is not a stock voice.")
    assert stored_requests(engine) == [] and jobs == []


def test_a_photo_in_a_channel_outside_the_allowed_ones_says_where_to_ask(
    make_services: MakeServices, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    services = make_services(allowed_channels=("CREPLICAS",))
    event = message_event("<@UBOT> voice=anna", ts=TS, files=[photo_file()])

    on_mention(event, event_body(event), client, services)

    [posted] = client.called("chat_postMessage")
    assert posted["text"] == "I only take replica requests in <#CREPLICAS>. Please ask there."
    assert stored_requests(engine) == [] and jobs == []


def test_opening_the_home_tab_publishes_the_requesters_requests(
    services: Services, client: RecordingClient, engine: Engine
) -> None:
    submitting_request(engine, user=USER, name="Ana Home")

    on_home_opened({"type": "app_home_opened", "user": USER, "tab": "home"}, client, services)

    [published] = client.called("views_publish")
    assert published["user_id"] == USER
    assert published["view"]["type"] == "home"
    assert "Ana Home" in str(published["view"]["blocks"])


def test_opening_the_messages_tab_publishes_nothing(services: Services, client: RecordingClient) -> None:
    on_home_opened({"type": "app_home_opened", "user": USER, "tab": "messages"}, client, services)

    assert client.calls == []


def test_a_failed_home_publish_does_not_raise(services: Services, client: RecordingClient) -> None:
    client.errors["views_publish"] = "not_enabled"

    on_home_opened({"type": "app_home_opened", "user": USER, "tab": "home"}, client, services)

    assert client.methods() == ["views_publish"]

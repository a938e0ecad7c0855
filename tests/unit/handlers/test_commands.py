"""`/replica …` called directly: quick answers in the ack, `create` recorded before its ack, `delete`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from bot.domain.catalogue import Catalogue
from bot.sandbox.static_server import StaticServer
from bot.slack.ids import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    LIKENESS_BLOCK_PREFIX,
    LIKENESS_COLLEAGUE_ACTION,
    LIKENESS_OUTSIDE_ACTION,
    MODAL_CALLBACK_ID,
)
from bot.slack.render.forms import WHOSE_FACE
from bot.tavus import TavusClient
from handlers.commands.replica import on_command
from handlers.services import Services
from storage.models import ReplicaRequest, RequestStatus
from tests.unit.handlers.builders import (
    CHANNEL,
    OTHER_USER,
    TRIGGER_ID,
    USER,
    slash_command,
    stored_requests,
    submitting_request,
)
from tests.unit.handlers.fakes import Jobs, MakeServices, RecordingAck, RecordingClient, RecordingRespond

CATALOGUE_CODES = [entry.code for entry in Catalogue().entries()]


def run(
    services: Services,
    client: RecordingClient,
    text: str,
    *,
    ack: RecordingAck | None = None,
    respond: RecordingRespond | None = None,
    user: str = USER,
    channel: str = CHANNEL,
) -> RecordingAck:
    ack = ack or RecordingAck()
    command = slash_command(text, user=user, channel=channel)
    on_command(ack, command, client, respond or RecordingRespond(), services)
    return ack


# --- answered in the ack ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", ["turns a headshot into a Tavus replica", "`/replica create <image-url>", "anna, benjamin"]),
        ("", ["turns a headshot into a Tavus replica"]),
        ("frobnicate", ["I don't know `frobnicate`", "turns a headshot into a Tavus replica"]),
        ("voices", ["Stock voices for photo-based replicas", "• `anna` — Warm and calm", "• `liam`"]),
        ("errors", ["Errors Tavus reports for image", "`HeadphonesError` — Headphones in the photo"]),
        ("explain HeadphonesError", ["*HeadphonesError* — Headphones in the photo", "*What to do next*"]),
        ("explain", ["Which error? Try `/replica explain ImageQualityError`"]),
        ("explain NoSuchError", ["`NoSuchError` is not an error Tavus documents", "`HeadphonesError`"]),
        ("status", ["Which replica? Try `/replica status r90bbd427f71`"]),
        ("status rnope123", ["I have no request for replica `rnope123` that you can see here."]),
        ("list", ["You have no replica requests yet."]),
    ],
)
def test_quick_subcommands_are_answered_in_the_ack(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine, text: str, expected: list[str]
) -> None:
    respond = RecordingRespond()
    ack = run(services, client, text, respond=respond)

    answer = ack.once
    assert answer["response_type"] == "ephemeral"
    for words in expected:
        assert words in answer["text"]
    assert client.calls == [] and respond.calls == [] and jobs == []
    assert stored_requests(engine) == []


def test_errors_lists_every_code_in_the_catalogue(services: Services, client: RecordingClient) -> None:
    text = run(services, client, "errors").once["text"]
    assert all(f"`{code}`" in text for code in CATALOGUE_CODES)


def test_list_shows_the_requesters_own_requests(
    services: Services, client: RecordingClient, engine: Engine
) -> None:
    submitting_request(engine, user=USER, name="Mine")
    submitting_request(engine, user=OTHER_USER, name="Theirs")

    text = run(services, client, "list").once["text"]

    assert text.startswith("Your recent requests:") and "*Mine*" in text and "Theirs" not in text


# --- create ----------------------------------------------------------------------------------------------


def test_create_with_a_link_records_the_request_before_the_ack_and_queues_one_job(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    at_ack: list[list[ReplicaRequest]] = []
    ack = RecordingAck(before=lambda: at_ack.append(stored_requests(engine)))

    run(services, client, 'create https://example.com/ana.png voice=anna name="Ana"', ack=ack)

    assert ack.once["response_type"] == "ephemeral"
    assert ack.once["text"].startswith("Got it — checking the photo for *Ana*")
    [[received]] = at_ack
    assert received.status == RequestStatus.RECEIVED
    assert (received.requester_id, received.channel_id, received.team_id) == (USER, CHANNEL, "T1")
    assert (received.replica_name, received.voice_name) == ("Ana", "anna")
    assert received.source_url == "https://example.com/ana.png"
    assert len(jobs) == 1
    # Nothing reached Slack (or Tavus) before the job runs.
    assert client.calls == []


def test_the_queued_create_job_checks_the_photo_and_asks_whose_face_it_is(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine, images: StaticServer
) -> None:
    run(services, client, f"create {images.url}/ana.png voice=anna name=Ana")
    jobs.run_all()

    [request] = stored_requests(engine)
    assert request.status == RequestStatus.AWAITING_CONFIRMATION
    assert request.likeness is None
    [asked] = client.called("chat_postEphemeral")
    assert (asked["channel"], asked["user"]) == (CHANNEL, USER)
    assert asked["text"] == WHOSE_FACE
    [actions] = [block for block in asked["blocks"] if block["type"] == "actions"]
    assert actions["block_id"] == f"{LIKENESS_BLOCK_PREFIX}{request.id}"
    # "This is me" is the rights question's "yes"; a colleague is picked; outside needs an approver.
    assert [(e["type"], e["action_id"], e.get("value")) for e in actions["elements"]] == [
        ("button", CONFIRM_ACTION, str(request.id)),
        ("users_select", LIKENESS_COLLEAGUE_ACTION, None),
        ("button", LIKENESS_OUTSIDE_ACTION, str(request.id)),
        ("button", CANCEL_ACTION, str(request.id)),
    ]


def test_a_command_error_is_answered_in_the_ack_and_records_nothing(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    ack = run(services, client, 'create https://example.com/ana.png voice=anna name="Ana')

    assert ack.once["response_type"] == "ephemeral"
    assert ack.once["text"].startswith(":warning: A quote is not closed.")
    assert stored_requests(engine) == [] and jobs == [] and client.calls == []


def test_an_unknown_voice_is_refused_in_the_ack_and_records_nothing(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    ack = run(services, client, "create https://example.com/ana.png voice=zed")

    assert ack.once["response_type"] == "ephemeral"
    assert ack.once["text"].startswith(":warning: `zed` is not a stock voice. Choose one of: `anna`")
    assert stored_requests(engine) == [] and jobs == [] and client.calls == []


def test_create_without_a_voice_asks_for_one(services: Services, client: RecordingClient, jobs: Jobs) -> None:
    ack = run(services, client, "create https://example.com/ana.png")

    assert ack.once["text"].startswith(":warning: Pick a voice with `voice=<name>`.")
    assert jobs == []


@pytest.mark.parametrize("text", ["create https://example.com/ana.png voice=anna", "create", "delete r123"])
def test_create_and_delete_outside_the_allowed_channels_say_where_to_ask(
    make_services: MakeServices, client: RecordingClient, jobs: Jobs, engine: Engine, text: str
) -> None:
    services = make_services(allowed_channels=("CREPLICAS",))

    ack = run(services, client, text, channel="CRANDOM")

    assert ack.once == {
        "text": "I only take replica requests in <#CREPLICAS>. Please ask there.",
        "response_type": "ephemeral",
    }
    assert stored_requests(engine) == [] and jobs == [] and client.calls == []


def test_quick_subcommands_work_outside_the_allowed_channels(
    make_services: MakeServices, client: RecordingClient
) -> None:
    services = make_services(allowed_channels=("CREPLICAS",))
    assert "turns a headshot" in run(services, client, "help", channel="CRANDOM").once["text"]


def test_create_without_a_link_acks_empty_and_opens_the_form(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    ack = run(services, client, 'create voice=ivy name="Ana Demo"')

    assert ack.once == {}
    [opened] = client.called("views_open")
    assert opened["trigger_id"] == TRIGGER_ID
    view = opened["view"]
    assert view["callback_id"] == MODAL_CALLBACK_ID
    assert json.loads(view["private_metadata"]) == {
        "channel_id": CHANNEL, "thread_ts": None, "retry_of": None, "file": None
    }
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert blocks["name"]["element"]["initial_value"] == "Ana Demo"
    assert blocks["voice"]["element"]["initial_option"]["value"] == "ivy"
    assert "photo" in blocks
    assert stored_requests(engine) == [] and jobs == []


# --- delete ----------------------------------------------------------------------------------------------


def test_delete_without_an_id_asks_which(services: Services, client: RecordingClient) -> None:
    ack = run(services, client, "delete")

    assert ack.once == {
        "text": "Which replica? Try `/replica delete r90bbd427f71`.",
        "response_type": "ephemeral",
    }
    assert client.calls == []


def test_delete_of_an_unknown_replica_is_refused_privately(
    services: Services, client: RecordingClient, tavus_client: TavusClient
) -> None:
    respond = RecordingRespond()
    ack = run(services, client, "delete `rnope123`", respond=respond)

    assert ack.once == {"text": "Looking at replica `rnope123`…", "response_type": "ephemeral"}
    assert client.called("chat_postEphemeral") == [
        {
            "channel": CHANNEL,
            "user": USER,
            "text": "I have no request for replica `rnope123` that you can see here.",
        }
    ]
    assert respond.calls == []


def test_a_refusal_goes_through_response_url_where_the_bot_cannot_post(
    services: Services, client: RecordingClient
) -> None:
    client.errors["chat_postEphemeral"] = "channel_not_found"
    respond = RecordingRespond()

    run(services, client, "delete rnope123", respond=respond)

    assert respond.calls == [
        {
            "text": "I have no request for replica `rnope123` that you can see here.",
            "blocks": None,
            "response_type": "ephemeral",
            "replace_original": False,
        }
    ]


def training_replica(services: Services, engine: Engine, images: StaticServer) -> ReplicaRequest:
    """A request Tavus is training (the emulator fetches its photo from the loopback image host)."""
    services.submission.send_to_tavus(submitting_request(engine, image_url=f"{images.url}/ana.png"))
    [training] = stored_requests(engine)
    assert training.status == RequestStatus.TRAINING and training.replica_id
    return training


def test_status_of_a_replica_shows_where_it_stands(
    services: Services, client: RecordingClient, engine: Engine, images: StaticServer
) -> None:
    training = training_replica(services, engine, images)

    text = run(services, client, f"status `{training.replica_id}`").once["text"]

    assert text.startswith("*Ana* · ") and f"`{training.replica_id}`" in text


def test_delete_by_someone_else_is_refused_and_leaves_the_replica(
    services: Services, client: RecordingClient, engine: Engine, images: StaticServer
) -> None:
    training = training_replica(services, engine, images)

    run(services, client, f"delete {training.replica_id}", user=OTHER_USER)

    [refused] = client.called("chat_postEphemeral")
    assert refused["text"] == "Only the person who asked for this replica, or an admin, can delete it."
    assert stored_requests(engine)[0].status == RequestStatus.TRAINING


def test_delete_by_the_requester_deletes_the_replica_in_tavus(
    services: Services,
    client: RecordingClient,
    engine: Engine,
    tavus_client: TavusClient,
    images: StaticServer,
) -> None:
    training = training_replica(services, engine, images)

    ack = run(services, client, f"delete {training.replica_id}")

    assert ack.once["text"] == f"Looking at replica `{training.replica_id}`…"
    [said] = client.called("chat_postEphemeral")
    assert said["text"] == f"Deleted replica `{training.replica_id}` in Tavus."
    [deleted] = stored_requests(engine)
    assert deleted.status == RequestStatus.DELETED and deleted.deleted_by == USER
    assert training.replica_id not in {replica.replica_id for replica in tavus_client.list_replicas()}

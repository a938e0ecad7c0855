"""Buttons, called directly: confirm and cancel under a question, retry, the App Home filters, links."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from bot.slack.ids import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    HOME_FILTER_ACTION_PREFIX,
    MODAL_CALLBACK_ID,
    RETRY_ACTION,
)
from bot.slack.render import CANCELLED, SUBMITTING
from handlers.actions.confirm import on_cancel, on_confirm
from handlers.actions.guideline_link import on_link
from handlers.actions.home_filter import on_filter
from handlers.actions.retry import on_retry
from handlers.services import Services
from storage.models import RequestStatus
from tests.unit.handlers.builders import (
    CHANNEL,
    OTHER_USER,
    TRIGGER_ID,
    USER,
    Payload,
    block_action,
    failed_request,
    fetch,
    held_request,
)
from tests.unit.handlers.fakes import Jobs, MakeServices, RecordingAck, RecordingClient, RecordingRespond

GONE = "I can't find that request any more."


def click(
    action_id: str, value: str, *, user: str = USER, channel: str | None = CHANNEL
) -> tuple[Payload, Payload]:
    body = block_action(action_id, value, user=user, channel=channel)
    return body, body["actions"][0]


# --- cancel ----------------------------------------------------------------------------------------------


def test_cancel_by_someone_else_changes_nothing(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    held = held_request(engine, user=USER)
    ack, respond = RecordingAck(), RecordingRespond()

    on_cancel(ack, *click(CANCEL_ACTION, str(held.id), user=OTHER_USER), client, respond, services)

    assert ack.once == {}
    assert respond.calls == [] and client.calls == [] and jobs == []
    assert fetch(engine, held.id).status == RequestStatus.AWAITING_CONFIRMATION


def test_cancel_by_the_requester_replaces_the_question_and_closes_the_request(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    held = held_request(engine, user=USER)
    ack, respond = RecordingAck(), RecordingRespond()

    on_cancel(ack, *click(CANCEL_ACTION, str(held.id)), client, respond, services)

    assert ack.once == {}
    assert respond.calls == [{"text": CANCELLED, "replace_original": True}]
    cancelled = fetch(engine, held.id)
    assert cancelled.status == RequestStatus.SUBMIT_FAILED
    assert cancelled.submit_error == "cancelled" and cancelled.finished_at is not None
    assert jobs == []


def test_cancel_twice_answers_once(services: Services, client: RecordingClient, engine: Engine) -> None:
    held = held_request(engine)
    respond = RecordingRespond()

    for _ in range(2):
        on_cancel(RecordingAck(), *click(CANCEL_ACTION, str(held.id)), client, respond, services)

    assert len(respond.calls) == 1


def test_cancel_with_a_value_that_is_not_a_request_only_acks(
    services: Services, client: RecordingClient
) -> None:
    ack, respond = RecordingAck(), RecordingRespond()

    on_cancel(ack, *click(CANCEL_ACTION, "not-a-number"), client, respond, services)

    assert ack.once == {} and respond.calls == [] and client.calls == []


# --- confirm ---------------------------------------------------------------------------------------------


def test_confirm_by_the_requester_submits_to_tavus_after_the_ack(
    services: Services,
    client: RecordingClient,
    jobs: Jobs,
    engine: Engine,
    images: StaticServer,
    tavus: TavusEmulator,
) -> None:
    held = held_request(engine, image_url=f"{images.url}/ana.png")
    ack, respond = RecordingAck(), RecordingRespond()

    on_confirm(ack, *click(CONFIRM_ACTION, str(held.id)), client, respond, services)

    assert ack.once == {} and len(jobs) == 1
    assert fetch(engine, held.id).status == RequestStatus.AWAITING_CONFIRMATION
    jobs.run_all()

    assert respond.calls == [{"text": SUBMITTING, "replace_original": True}]
    training = fetch(engine, held.id)
    assert training.status == RequestStatus.TRAINING and training.rights_affirmed_by == USER
    [created] = [call for call in tavus.calls() if call["method"] == "POST"]
    assert created["json"]["face_name"] == "Ana" and created["json"]["voice_name"] == "anna"
    assert training.replica_id is not None
    # The card follows through the outbox; nothing is said privately.
    assert client.calls == []


def test_confirm_by_someone_else_is_refused_privately(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    held = held_request(engine, user=USER)
    respond = RecordingRespond()

    clicked = click(CONFIRM_ACTION, str(held.id), user=OTHER_USER)
    on_confirm(RecordingAck(), *clicked, client, respond, services)
    jobs.run_all()

    assert client.called("chat_postEphemeral") == [
        {
            "channel": CHANNEL,
            "user": OTHER_USER,
            "text": "Only the person who asked for this replica can confirm it.",
        }
    ]
    assert respond.calls == []
    assert fetch(engine, held.id).status == RequestStatus.AWAITING_CONFIRMATION


def test_confirm_of_a_request_that_is_gone_says_so(
    services: Services, client: RecordingClient, jobs: Jobs
) -> None:
    on_confirm(RecordingAck(), *click(CONFIRM_ACTION, "4242"), client, RecordingRespond(), services)
    jobs.run_all()

    [said] = client.called("chat_postEphemeral")
    assert said["text"] == f":warning: {GONE}"


# --- retry -----------------------------------------------------------------------------------------------


def test_retry_of_an_unknown_request_answers_privately(
    services: Services, client: RecordingClient, jobs: Jobs
) -> None:
    ack = RecordingAck()

    on_retry(ack, *click(RETRY_ACTION, "4242"), client, services)

    assert ack.once == {}
    assert client.called("chat_postEphemeral") == [
        {"channel": CHANNEL, "user": USER, "text": f":warning: {GONE}"}
    ]
    assert client.called("views_open") == [] and jobs == []


def test_retry_clicked_in_the_app_home_answers_in_the_dm(services: Services, client: RecordingClient) -> None:
    ack = RecordingAck()

    on_retry(ack, *click(RETRY_ACTION, "4242", channel=None), client, services)

    assert ack.once == {}
    assert client.called("chat_postMessage") == [{"channel": USER, "text": f":warning: {GONE}"}]
    assert client.called("chat_postEphemeral") == []


def test_retry_by_someone_else_says_who_can(
    services: Services, client: RecordingClient, engine: Engine
) -> None:
    request_id = failed_request(engine, user=USER)

    on_retry(RecordingAck(), *click(RETRY_ACTION, str(request_id), user=OTHER_USER), client, services)

    [said] = client.called("chat_postEphemeral")
    assert said["text"] == f"Only <@{USER}>, who asked for *Ana*, or an admin can retry it."
    assert client.called("views_open") == []


def test_retry_of_a_request_still_waiting_has_nothing_to_retry(
    services: Services, client: RecordingClient, engine: Engine
) -> None:
    held = held_request(engine)

    on_retry(RecordingAck(), *click(RETRY_ACTION, str(held.id)), client, services)

    [said] = client.called("chat_postEphemeral")
    assert said["text"] == "*Ana* has not failed, so there is nothing to retry."


def test_retry_by_the_requester_opens_the_form_prefilled(
    services: Services, client: RecordingClient, engine: Engine
) -> None:
    request_id = failed_request(engine, user=USER, name="Ana Retry")

    on_retry(RecordingAck(), *click(RETRY_ACTION, str(request_id)), client, services)

    [opened] = client.called("views_open")
    assert opened["trigger_id"] == TRIGGER_ID
    view = opened["view"]
    assert view["callback_id"] == MODAL_CALLBACK_ID
    assert view["title"]["text"] == "Retry with a new photo"
    assert json.loads(view["private_metadata"]) == {
        "channel_id": CHANNEL, "thread_ts": None, "retry_of": request_id, "file": None
    }
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert blocks["name"]["element"]["initial_value"] == "Ana Retry"
    assert blocks["voice"]["element"]["initial_option"]["value"] == "anna"


def test_an_admin_may_retry_anyones_request(
    make_services: MakeServices, client: RecordingClient, engine: Engine
) -> None:
    services = make_services(admins=("UADMIN",))
    request_id = failed_request(engine, user=USER)

    on_retry(RecordingAck(), *click(RETRY_ACTION, str(request_id), user="UADMIN"), client, services)

    assert len(client.called("views_open")) == 1 and client.called("chat_postEphemeral") == []


# --- the rest --------------------------------------------------------------------------------------------


def test_the_guideline_link_only_acks() -> None:
    ack = RecordingAck()

    on_link(ack)

    assert ack.once == {}


def test_a_home_filter_republishes_the_tab(
    make_services: MakeServices, client: RecordingClient, engine: Engine
) -> None:
    services = make_services(admins=(USER,))
    held_request(engine, user=OTHER_USER, name="Someone Else's")
    ack = RecordingAck()

    clicked = click(f"{HOME_FILTER_ACTION_PREFIX}in_flight", "in_flight", channel=None)
    on_filter(ack, *clicked, client, services)

    assert ack.once == {}
    [published] = client.called("views_publish")
    assert published["user_id"] == USER and "Someone Else" in str(published["view"]["blocks"])

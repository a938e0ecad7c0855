"""The create form's submission, called directly: field errors in the ack, or a request recorded before
the form closes and checked after."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.slack.render import FIELD_ERRORS
from handlers.payloads import FormPlace
from handlers.services import Services
from handlers.views.create_form import on_submit
from storage.models import ReplicaRequest, RequestStatus
from tests.unit.handlers.builders import (
    CHANNEL,
    USER,
    failed_request,
    form_submission,
    photo_file,
    stored_requests,
)
from tests.unit.handlers.fakes import Jobs, MakeServices, RecordingAck, RecordingClient

THREAD = "1700000000.000300"


def test_a_form_missing_the_rights_photo_and_voice_gets_each_field_error(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    body, view = form_submission(uploaded=[], voice=None, rights=False)
    ack = RecordingAck()

    on_submit(ack, body, view, client, services)

    assert ack.once == {
        "response_action": "errors",
        "errors": {
            "rights": FIELD_ERRORS["rights"],
            "photo": FIELD_ERRORS["photo"],
            "voice": FIELD_ERRORS["voice"],
        },
    }
    assert stored_requests(engine) == [] and jobs == [] and client.calls == []


@pytest.mark.parametrize(
    ("rights", "files", "voice", "field"),
    [(False, 1, "anna", "rights"), (True, 0, "anna", "photo"), (True, 1, "zed", "voice")],
)
def test_one_missing_field_gets_only_its_error(
    services: Services,
    client: RecordingClient,
    engine: Engine,
    rights: bool,
    files: int,
    voice: str,
    field: str,
) -> None:
    body, view = form_submission(uploaded=[photo_file()] * files, voice=voice, rights=rights)
    ack = RecordingAck()

    on_submit(ack, body, view, client, services)

    assert ack.once == {"response_action": "errors", "errors": {field: FIELD_ERRORS[field]}}
    assert stored_requests(engine) == []


def test_without_a_file_input_the_photo_error_shows_on_the_name(
    services: Services, client: RecordingClient, engine: Engine
) -> None:
    # A form opened on a message's photo has no upload field; here the message's file went missing.
    body, view = form_submission(file_input=False, place=FormPlace(CHANNEL, THREAD, file=None))
    ack = RecordingAck()

    on_submit(ack, body, view, client, services)

    answer = ack.once
    assert answer["response_action"] == "errors"
    assert answer["errors"]["name"] == FIELD_ERRORS["photo"]
    assert stored_requests(engine) == []


def test_a_valid_submission_records_the_request_acks_clean_and_queues_one_job(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    at_ack: list[list[ReplicaRequest]] = []
    ack = RecordingAck(before=lambda: at_ack.append(stored_requests(engine)))
    body, view = form_submission(uploaded=[photo_file("F7")], name="Ana Form", voice="julia")

    on_submit(ack, body, view, client, services)

    assert ack.once == {}
    [[request]] = at_ack
    assert request.status == RequestStatus.RECEIVED
    assert (request.requester_id, request.channel_id, request.team_id) == (USER, CHANNEL, "T1")
    assert (request.replica_name, request.voice_name, request.slack_file_id) == ("Ana Form", "julia", "F7")
    assert request.rights_affirmed_by == USER and request.thread_ts is None and request.retry_of is None
    assert len(jobs) == 1 and client.calls == []


def test_a_retry_from_a_thread_keeps_its_place(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    failed = failed_request(engine)
    place = FormPlace(CHANNEL, THREAD, retry_of=failed, file=photo_file("F9"))
    body, view = form_submission(file_input=False, place=place)

    on_submit(RecordingAck(), body, view, client, services)

    [_, request] = stored_requests(engine)
    assert (request.thread_ts, request.retry_of, request.slack_file_id) == (THREAD, failed, "F9")
    assert len(jobs) == 1


def test_the_queued_job_looks_up_a_form_upload_and_answers_where_it_cannot_be_fetched(
    services: Services, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    # A form's upload comes with its id only; Slack's answer here has no download link.
    client.files["F7"] = photo_file("F7", url=None)
    body, view = form_submission(uploaded=[{"id": "F7"}], place=FormPlace(CHANNEL, THREAD))
    on_submit(RecordingAck(), body, view, client, services)

    jobs.run_all()

    assert [call["file"] for call in client.called("files_info")] == ["F7"]
    [posted] = client.called("chat_postMessage")
    assert (posted["channel"], posted["thread_ts"]) == (CHANNEL, THREAD)
    assert posted["text"].startswith(
        ":warning: I did not send this to Tavus: Slack did not give me a download link for that file."
    )
    # A refused photo leaves no request behind.
    assert stored_requests(engine) == []


def test_a_submission_for_a_channel_outside_the_allowed_ones_is_refused_on_the_name(
    make_services: MakeServices, client: RecordingClient, jobs: Jobs, engine: Engine
) -> None:
    services = make_services(allowed_channels=("CREPLICAS",))
    body, view = form_submission(uploaded=[photo_file()])
    ack = RecordingAck()

    on_submit(ack, body, view, client, services)

    assert ack.once == {
        "response_action": "errors",
        "errors": {"name": "I only take replica requests in <#CREPLICAS>. Please ask there."},
    }
    assert stored_requests(engine) == [] and jobs == []

"""bot.domain.submission against a real database, the Tavus emulator and a photo host on loopback: what a
draft takes, what a submission writes and sends, every refusal (and that it leaves nothing behind), the
questions that hold a request, confirming one, and what each Tavus failure at create leaves stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus

import pytest

from bot.domain.drafts import request_fields
from bot.domain.errors import (
    Action,
    AlreadyConfirmed,
    ConfirmationExpired,
    MissingPhoto,
    MissingVoice,
    NoMediaStore,
    NotPermitted,
    PhotoFlagged,
    RequestGone,
    SubmissionFailed,
    SubmitProblem,
    UnknownVoice,
)
from bot.domain.requests import (
    DEFAULT_REPLICA_NAME,
    MAX_NAME_LENGTH,
    CreateArgs,
    Held,
    Question,
    ReplicaDraft,
    SubmitError,
    Submitted,
    Superseded,
)
from bot.domain.submission import SubmissionService
from bot.photos.refusals import FetchRefusal, PreflightRefusal
from bot.sandbox.tavus_emulator import ScriptedOutcome
from storage.models import ReplicaRequest, RequestStatus, utcnow
from storage.repository import replica_requests
from tests.images import photo, photo_jpeg, png, two_up
from tests.unit.domain.world import (
    GOOD_PHOTO,
    REQUESTER,
    VOICES,
    HostedPhotos,
    World,
    ago,
    creates,
    outbox,
    set_columns,
    stored,
    wait_until,
)

S = RequestStatus
TWO_PEOPLE = photo_jpeg(two_up(photo("grace_hopper"), photo("astronaut")))


def gone(world: World, request_id: int | None) -> bool:
    assert request_id is not None
    return replica_requests.get(world.engine, request_id) is None


# --- draft -------------------------------------------------------------------------------------------------


def test_a_draft_needs_a_photo_a_video_or_an_upload(world: World) -> None:
    service = world.submission()
    with pytest.raises(MissingPhoto):
        service.draft(REQUESTER, CreateArgs(voice="anna"))
    assert service.draft(REQUESTER, CreateArgs(voice="anna"), uploaded=True).image_url is None


def test_a_photo_without_a_voice_is_refused_when_there_is_no_default(world: World) -> None:
    with pytest.raises(MissingVoice) as refused:
        world.submission().draft(REQUESTER, CreateArgs(image_url="https://x.example/a.png"))
    assert refused.value.voices == VOICES
    # A training video brings its own voice.
    video = world.submission().draft(REQUESTER, CreateArgs(video_url="https://x.example/a.mp4"))
    assert video.voice_name is None


def test_a_voice_that_is_not_offered_is_refused(world: World) -> None:
    with pytest.raises(UnknownVoice) as refused:
        world.submission(default_voice="anna").draft(
            REQUESTER, CreateArgs(image_url="https://x.example/a.png", voice="zed")
        )
    assert (refused.value.voice, refused.value.voices) == ("zed", VOICES)


def test_the_default_voice_is_used_when_none_is_given(world: World) -> None:
    draft = world.submission(default_voice="ben").draft(REQUESTER, CreateArgs(image_url="https://x.example/a"))
    assert draft.voice_name == "ben"


def test_the_name_is_defaulted_and_clipped(world: World) -> None:
    service = world.submission()
    unnamed = service.draft(REQUESTER, CreateArgs(image_url="https://x.example/a", voice="anna"))
    assert unnamed.replica_name == DEFAULT_REPLICA_NAME
    long_name = "N" * 200
    args = CreateArgs(image_url="https://x.example/a", voice="anna", name=long_name)
    named = service.draft(REQUESTER, args)
    assert named.replica_name == "N" * MAX_NAME_LENGTH == "N" * 80


# --- receive and submit -------------------------------------------------------------------------------------


def test_receive_writes_a_received_row_before_anything_is_checked(any_world: World) -> None:
    world = any_world
    url = world.photo_link()
    draft = world.draft(image_url=url, thread_ts="111.222")
    received = world.submission().receive(draft)
    row = stored(world.engine, received.received_id)
    assert row.status == S.RECEIVED
    assert (row.requester_id, row.channel_id, row.team_id) == ("U1", "C1", "T1")
    assert (row.replica_name, row.voice_name, row.source_url) == ("Ana", "anna", url)
    assert row.thread_ts == "111.222"
    assert row.train_image_url is None  # not checked yet
    assert outbox(world.engine, row.id) == []
    assert world.wakes.count == 0
    assert world.images.hits(url.removeprefix(world.images.url)) == 0
    assert creates(world.tavus) == []


def test_a_good_photo_is_submitted_and_starts_training(any_world: World) -> None:
    world = any_world
    # Long enough that the emulator's callback to the (unreachable) bot never fires during the test.
    world.tavus.script(ScriptedOutcome("completed", training_seconds=60))
    service = world.submission(
        photo_check="advisory", first_poll_after=timedelta(seconds=30), callback_base_url="https://bot.example/"
    )
    url = world.photo_link()
    draft = service.receive(world.draft(service, image_url=url, name="Grace"))
    before = utcnow()

    outcome = service.submit_link(draft)

    assert isinstance(outcome, Submitted)
    row = stored(world.engine, draft.received_id)
    assert outcome.request.id == row.id == draft.received_id
    assert row.status == S.TRAINING
    assert row.replica_id is not None and row.replica_id == outcome.request.replica_id
    assert row.submitted_at is not None and before <= row.submitted_at <= utcnow()
    assert row.next_poll_at is not None
    assert abs(row.next_poll_at - (row.submitted_at + timedelta(seconds=30))) < timedelta(seconds=2)
    assert (row.train_image_url, row.preflight_findings) == (url, "")  # checked, and clean
    assert (row.lease_owner, row.lease_until) == (None, None)
    assert outbox(world.engine, row.id) == [("card", 1)]
    assert world.wakes.count == 1
    [create] = creates(world.tavus)
    assert create["status"] == 200
    assert create["json"]["train_image_url"] == url
    assert create["json"]["voice_name"] == "anna"
    assert create["json"]["face_name"] == "Grace"
    assert create["json"]["callback_url"] == f"https://bot.example/tavus/callback/{row.callback_token}"
    [replica] = world.tavus.replicas()
    assert replica["replica_id"] == row.replica_id


def test_a_request_never_received_is_written_when_it_is_submitted(world: World) -> None:
    service = world.submission()
    outcome = service.submit_link(world.draft(service))
    assert isinstance(outcome, Submitted)
    row = stored(world.engine, outcome.request.id)
    assert row.status == S.TRAINING
    # No offline check ran (photo_check="off"): nothing recorded about it.
    assert row.preflight_findings is None
    assert [r.id for r in replica_requests.recent(world.engine)] == [row.id]


# --- refusals -----------------------------------------------------------------------------------------------


def test_a_photo_too_small_is_refused_and_leaves_no_request(world: World) -> None:
    service = world.submission()
    draft = service.receive(world.draft(service, image_url=world.photo_link(png(200, 200), "image/png")))
    with pytest.raises(PreflightRefusal) as refused:
        service.submit_link(draft)
    assert refused.value.reason == "too_small"
    assert (refused.value.width, refused.value.height) == (200, 200)
    assert gone(world, draft.received_id)
    assert creates(world.tavus) == []


def test_a_dead_link_is_refused_and_leaves_no_request(world: World) -> None:
    service = world.submission()
    draft = service.receive(world.draft(service, image_url=f"{world.images.url}/no-such-photo.png"))
    with pytest.raises(FetchRefusal) as refused:
        service.submit_link(draft)
    assert (refused.value.reason, refused.value.http_status) == ("http_error", 404)
    assert gone(world, draft.received_id)
    assert creates(world.tavus) == []


def test_a_private_address_is_refused_without_fetching_it(world: World) -> None:
    service = world.submission(allow_private_urls=False)
    url = world.photo_link()
    draft = service.receive(world.draft(service, image_url=url))
    with pytest.raises(FetchRefusal) as refused:
        service.submit_link(draft)
    assert refused.value.reason == "private_address"
    assert world.images.hits(url.removeprefix(world.images.url)) == 0
    assert gone(world, draft.received_id)
    assert creates(world.tavus) == []


def test_a_refusal_after_another_worker_took_the_request_says_nothing(any_world: World) -> None:
    world = any_world
    service = world.submission()
    draft = service.receive(world.draft(service, image_url=world.photo_link(png(200, 200), "image/png")))
    # Another worker (resuming it after a crash) checked it first and is holding it for the requester.
    taken = world.lifecycle.checked(draft.received_id, {"train_image_url": draft.image_url}, hold=True)
    assert taken is not None

    assert service.submit_link(draft) == Superseded()

    assert stored(world.engine, draft.received_id).status == S.AWAITING_CONFIRMATION
    assert creates(world.tavus) == []


def test_two_workers_checking_one_received_request_hold_it_once(any_world: World) -> None:
    world = any_world
    services = [world.submission(confirm_rights=True) for _ in range(2)]
    draft = services[0].receive(world.draft(services[0]))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def check(service: SubmissionService) -> None:
        barrier.wait()
        outcomes.append(service.submit_link(draft))

    threads = [threading.Thread(target=check, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(type(o).__name__ for o in outcomes) == ["Held", "Superseded"]
    assert stored(world.engine, draft.received_id).status == S.AWAITING_CONFIRMATION
    assert len(replica_requests.recent(world.engine)) == 1


# --- questions and confirmation ----------------------------------------------------------------------------


def uploaded_draft(service: SubmissionService, **args: str) -> ReplicaDraft:
    """A photo shared in Slack (its bytes go to `submit_upload`)."""
    return service.draft(REQUESTER, CreateArgs(voice="anna", **args), uploaded=True, slack_file_id="F123")


def held(outcome: object) -> Held:
    assert isinstance(outcome, Held), outcome
    return outcome


@pytest.mark.parametrize(
    ("consent", "asked"), [("named", Question.WHOSE_FACE), ("off", Question.RIGHTS)]
)
def test_the_rights_question_holds_the_request_and_sends_nothing(
    world: World, consent: str, asked: Question
) -> None:
    # LIKENESS_CONSENT=named asks whose face it is (the answer affirms the rights); `off` asks as before.
    service = world.submission(confirm_rights=True, likeness_consent=consent)
    draft = service.receive(world.draft(service))
    outcome = held(service.submit_link(draft))
    assert (outcome.question, outcome.findings) == (asked, ())
    assert outcome.request_id == draft.received_id
    row = stored(world.engine, draft.received_id)
    assert (row.status, row.rights_affirmed_by) == (S.AWAITING_CONFIRMATION, None)
    assert outbox(world.engine, row.id) == []
    assert creates(world.tavus) == []


def test_rights_affirmed_in_the_form_need_no_question(world: World) -> None:
    service = world.submission(confirm_rights=True)
    outcome = service.submit_link(world.draft(service, rights_affirmed=True))
    assert isinstance(outcome, Submitted)
    row = stored(world.engine, outcome.request.id)
    assert row.rights_affirmed_by == "U1" and row.rights_affirmed_at is not None


def test_only_the_requester_confirms_and_only_once(world: World) -> None:
    service = world.submission(confirm_rights=True)
    request_id = held(service.submit_link(world.draft(service))).request_id

    with pytest.raises(NotPermitted) as refused:
        service.confirm(request_id, "U2")
    assert (refused.value.action, refused.value.requester_id) == (Action.CONFIRM, "U1")
    assert stored(world.engine, request_id).status == S.AWAITING_CONFIRMATION

    confirmed = service.confirm(request_id, "U1")
    assert (confirmed.id, confirmed.status, confirmed.rights_affirmed_by) == (request_id, S.RECEIVED, "U1")
    assert confirmed.likeness == "self"  # "This is me"
    assert creates(world.tavus) == []  # confirming alone sends nothing

    outcome = service.proceed(confirmed)
    assert isinstance(outcome, Submitted)
    assert stored(world.engine, request_id).status == S.TRAINING
    assert len(creates(world.tavus)) == 1

    with pytest.raises(AlreadyConfirmed):
        service.confirm(request_id, "U1")
    with pytest.raises(RequestGone):
        service.confirm(request_id + 1000, "U1")
    assert len(creates(world.tavus)) == 1


def test_only_the_requester_cancels_and_nothing_reaches_tavus(world: World) -> None:
    service = world.submission(confirm_rights=True)
    request_id = held(service.submit_link(world.draft(service))).request_id
    assert not service.cancel(request_id, "U2")
    assert stored(world.engine, request_id).status == S.AWAITING_CONFIRMATION
    assert service.cancel(request_id, "U1")
    assert not service.cancel(request_id, "U1")
    row = stored(world.engine, request_id)
    assert (row.status, row.submit_error) == (S.SUBMIT_FAILED, "cancelled")
    with pytest.raises(AlreadyConfirmed):  # a late click on the question's button
        service.confirm(request_id, "U1")
    assert creates(world.tavus) == []


def test_a_double_click_on_confirm_confirms_once(any_world: World) -> None:
    world = any_world
    service = world.submission(confirm_rights=True)
    request_id = held(service.submit_link(world.draft(service))).request_id
    barrier = threading.Barrier(2)
    results: list[object] = []

    def click() -> None:
        barrier.wait()
        try:
            results.append(service.confirm(request_id, "U1"))
        except AlreadyConfirmed as refused:
            results.append(refused)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(type(r).__name__ for r in results) == ["AlreadyConfirmed", "ReplicaRequest"]
    assert stored(world.engine, request_id).status == S.RECEIVED


def test_an_upload_confirmed_after_the_media_window_has_expired(world: World) -> None:
    media = HostedPhotos(world.images)
    # Hosted photos stay 48 h, and Tavus may take 24 h to fetch one: 24 h to confirm.
    service = world.submission(media, confirm_rights=True, media_url_ttl=timedelta(hours=48))
    upload = uploaded_draft(service)
    uploaded = held(service.submit_upload(upload, GOOD_PHOTO)).request_id
    linked = held(service.submit_link(world.draft(service))).request_id
    for request_id in (uploaded, linked):
        set_columns(world.engine, request_id, created_at=ago(hours=25))

    with pytest.raises(ConfirmationExpired):
        service.confirm(uploaded, "U1")
    assert stored(world.engine, uploaded).status == S.AWAITING_CONFIRMATION
    # A link is fetched by Tavus from its own host, whenever it is confirmed.
    assert service.confirm(linked, "U1").status == S.RECEIVED


def test_a_video_without_a_consent_video_asks_first(world: World) -> None:
    video = world.images.put("/training.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4")
    service = world.submission()
    draft = service.draft(REQUESTER, CreateArgs(video_url=video, name="Vid"))
    outcome = held(service.submit_link(service.receive(draft)))
    assert outcome.question == Question.VIDEO_CONSENT
    assert creates(world.tavus) == []

    consent = world.images.put("/consent.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 64, "video/mp4")
    with_consent = service.draft(REQUESTER, CreateArgs(video_url=video, consent_url=consent, name="Vid"))
    submitted = service.submit_link(with_consent)
    assert isinstance(submitted, Submitted)
    [create] = creates(world.tavus)
    body = create["json"]
    assert (body["train_video_url"], body["consent_video_url"]) == (video, consent)
    assert "train_image_url" not in body and "voice_name" not in body


# --- the offline photo check --------------------------------------------------------------------------------


def test_strict_photo_check_refuses_two_people_and_stores_nothing(world: World) -> None:
    service = world.submission(photo_check="strict")
    draft = service.receive(world.draft(service, image_url=world.photo_link(TWO_PEOPLE)))
    with pytest.raises(PhotoFlagged) as refused:
        service.submit_link(draft)
    assert [f.kind for f in refused.value.findings] == ["multiple_faces"]
    assert gone(world, draft.received_id)
    assert creates(world.tavus) == []


def test_strict_photo_check_refuses_an_upload_before_hosting_it(world: World) -> None:
    media = HostedPhotos(world.images)
    service = world.submission(media, photo_check="strict")
    upload = service.receive(uploaded_draft(service))
    with pytest.raises(PhotoFlagged):
        service.submit_upload(upload, TWO_PEOPLE)
    assert (media.puts, media.attached) == ([], [])
    assert gone(world, upload.received_id)


def test_advisory_photo_check_holds_with_its_findings(world: World) -> None:
    service = world.submission(photo_check="advisory")
    draft = service.receive(world.draft(service, image_url=world.photo_link(TWO_PEOPLE)))
    outcome = held(service.submit_link(draft))
    assert outcome.question is None  # nothing else to ask: only the photo
    assert [f.kind for f in outcome.findings] == ["multiple_faces"]
    row = stored(world.engine, draft.received_id)
    assert (row.status, row.preflight_findings) == (S.AWAITING_CONFIRMATION, "multiple_faces")
    assert creates(world.tavus) == []


# --- Tavus failing at create --------------------------------------------------------------------------------


def failing_create(world: World, status: int) -> Callable[[], None]:
    return lambda: world.tavus.inject_fault(
        method="POST", path_prefix="/v2/faces", status=status, count=10
    )


@pytest.mark.parametrize(
    ("status", "problem", "detail"),
    [
        (400, SubmitProblem.TAVUS_REFUSED, HTTPStatus(400).phrase),
        (422, SubmitProblem.TAVUS_REFUSED, HTTPStatus(422).phrase),
        (503, SubmitProblem.TAVUS_UNAVAILABLE, None),
    ],
)
def test_a_create_tavus_fails_closes_the_request(
    world: World, status: int, problem: SubmitProblem, detail: str | None
) -> None:
    failing_create(world, status)()
    service = world.submission()
    draft = service.receive(world.draft(service))

    with pytest.raises(SubmissionFailed) as failed:
        service.submit_link(draft)

    assert (failed.value.problem, failed.value.detail) == (problem, detail)
    row = stored(world.engine, draft.received_id)
    assert row.status == S.SUBMIT_FAILED
    assert row.submit_error == SubmitError(problem, detail).stored()
    assert row.finished_at is not None and row.replica_id is None
    assert outbox(world.engine, row.id) == []  # the requester is answered directly
    # A 5xx is retried until the client's attempts run out (3 here); a refusal is not.
    assert len(creates(world.tavus)) == (3 if status >= 500 else 1)
    assert world.tavus.replicas() == []


def test_a_rejected_api_key_is_the_operators_problem(world: World) -> None:
    with world.tavus_client(key="not-the-key") as client:
        service = world.submission(client=client)
        draft = service.receive(world.draft(service))
        with pytest.raises(SubmissionFailed) as failed:
            service.submit_link(draft)
    assert (failed.value.problem, failed.value.detail) == (SubmitProblem.TAVUS_MISCONFIGURED, None)
    row = stored(world.engine, draft.received_id)
    assert (row.status, row.submit_error) == (S.SUBMIT_FAILED, "tavus_misconfigured")
    assert [c["status"] for c in creates(world.tavus)] == [401]


# --- uploads ------------------------------------------------------------------------------------------------


def test_an_upload_without_a_media_store_is_refused(world: World) -> None:
    service = world.submission()
    upload = service.receive(uploaded_draft(service))
    with pytest.raises(NoMediaStore):
        service.submit_upload(upload, GOOD_PHOTO)
    assert gone(world, upload.received_id)
    assert creates(world.tavus) == []


def test_an_upload_is_hosted_and_its_link_goes_to_tavus(world: World) -> None:
    media = HostedPhotos(world.images)
    service = world.submission(media)
    upload = service.receive(uploaded_draft(service, name="Up"))

    outcome = service.submit_upload(upload, GOOD_PHOTO)

    assert isinstance(outcome, Submitted)
    [(key, content_type)] = media.puts
    assert content_type == "image/jpeg"
    assert media.attached == [(key, upload.received_id)]
    row = stored(world.engine, upload.received_id)
    assert row.train_image_url == f"{world.images.url}/media/{key}"
    assert (row.source_url, row.slack_file_id, row.status) == (None, "F123", S.TRAINING)
    [create] = creates(world.tavus)
    assert create["json"]["train_image_url"] == row.train_image_url
    # The emulator fetched the hosted photo, as Tavus would.
    assert row.replica_id is not None
    replica_id = row.replica_id
    wait_until(lambda: world.tavus.training_image(replica_id) is not None, what="the emulator's download")
    assert world.tavus.training_image(replica_id) == GOOD_PHOTO


def test_a_held_upload_is_attached_to_its_request(world: World) -> None:
    media = HostedPhotos(world.images)
    service = world.submission(media, confirm_rights=True)
    upload = uploaded_draft(service)
    request_id = held(service.submit_upload(upload, GOOD_PHOTO)).request_id
    assert [request for _, request in media.attached] == [request_id]
    assert creates(world.tavus) == []


def test_an_upload_tavus_refuses_is_still_attached_to_its_request(world: World) -> None:
    failing_create(world, 400)()
    media = HostedPhotos(world.images)
    service = world.submission(media)
    upload = service.receive(uploaded_draft(service))
    with pytest.raises(SubmissionFailed):
        service.submit_upload(upload, GOOD_PHOTO)
    assert stored(world.engine, upload.received_id).status == S.SUBMIT_FAILED
    [(key, _)] = media.puts
    assert media.attached == [(key, upload.received_id)]


# --- the columns of a new request ---------------------------------------------------------------------------


def test_request_fields_name_every_column_a_new_request_needs(world: World) -> None:
    draft = world.draft(rights_affirmed=True, retry_of=None)
    fields = request_fields(draft, "https://x.example/t.png")
    assert set(fields) <= set(ReplicaRequest.model_fields) - {"id", "status"}
    assert fields["rights_affirmed_by"] == "U1" and fields["train_image_url"] == "https://x.example/t.png"
    assert fields["callback_token"] != request_fields(draft)["callback_token"]

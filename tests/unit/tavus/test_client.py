"""The Tavus client against the emulator on loopback, plus a few MockTransport cases for odd bodies."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus

import httpx
import pytest

from bot.sandbox.tavus_emulator import EmulatorServer, ScriptedOutcome, TavusEmulator
from bot.tavus import (
    CreatedReplica,
    Replica,
    ReplicaState,
    TavusAuthError,
    TavusBadRequest,
    TavusClient,
    TavusError,
    TavusNotFound,
    TavusUnavailable,
    parse_training_progress,
)
from bot.tavus.client import parse_retry_after
from tests.unit.local_site import LocalSite, closed_port_url, wait_until
from tests.unit.sandbox.test_tavus_emulator import IMAGE_QUALITY_ERROR

API_KEY = "client-test-key-SECRET-91c2"


@pytest.fixture
def client(server: EmulatorServer, emulator: TavusEmulator) -> Iterator[TavusClient]:
    # Tiny backoffs keep retry tests fast; max_backoff still above 1 s so Retry-After: 1 is honoured.
    with TavusClient(server.url, API_KEY, max_attempts=3, initial_backoff=0.01, max_backoff=2.0) as tavus:
        yield tavus


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    local = LocalSite()
    local.files["/headshot.png"] = b"\x89PNG fake headshot"
    yield local
    local.close()


def make_replica(client: TavusClient, site: LocalSite, **extra: str) -> str:
    created = client.create_replica(train_image_url=f"{site.url}/headshot.png", voice_name="anna", **extra)
    return created.replica_id


def test_create_and_get_return_typed_results(
    client: TavusClient, emulator: TavusEmulator, site: LocalSite
) -> None:
    created = client.create_replica(
        train_image_url=f"{site.url}/headshot.png",
        voice_name="anna",
        replica_name="Ana",
        model_name="phoenix-4",
    )
    assert isinstance(created, CreatedReplica)
    assert (created.status, created.raw_status) == (ReplicaState.TRAINING, "started")
    assert emulator.calls()[0]["json"] == {
        "train_image_url": f"{site.url}/headshot.png",
        "voice_name": "anna",
        "face_name": "Ana",
        "model_name": "phoenix-4",
    }, "None fields are left out of the body"

    replica = wait_until(lambda: (r := client.get_replica(created.replica_id)).status != "training" and r)
    assert isinstance(replica, Replica)
    assert replica.replica_id == created.replica_id
    assert replica.status is ReplicaState.COMPLETED
    assert replica.progress_percent == 100
    assert replica.thumbnail_video_url
    assert replica.created_at is not None and replica.created_at.tzinfo is not None
    assert replica.updated_at is not None and replica.updated_at >= replica.created_at
    assert client.get_replica(created.replica_id, verbose=True).replica_id == created.replica_id
    assert emulator.calls()[-1]["query"] == {"verbose": "true"}


def test_scripted_error_surfaces_as_error_state_with_message(
    client: TavusClient, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("error", error_message=IMAGE_QUALITY_ERROR, training_seconds=0))
    replica_id = make_replica(client, site)
    replica = wait_until(lambda: (r := client.get_replica(replica_id)).status is ReplicaState.ERROR and r)
    assert replica.error_message == IMAGE_QUALITY_ERROR
    assert replica.raw_status == "error"


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("started", ReplicaState.TRAINING),
        ("training", ReplicaState.TRAINING),
        ("queued", ReplicaState.TRAINING),
        ("processing", ReplicaState.TRAINING),
        ("completed", ReplicaState.COMPLETED),
        ("ready", ReplicaState.COMPLETED),
        ("Ready", ReplicaState.COMPLETED),
        ("error", ReplicaState.ERROR),
        ("failed", ReplicaState.ERROR),
        ("warming_up", ReplicaState.TRAINING),
    ],
)
def test_status_is_normalised_and_raw_is_kept(
    client: TavusClient, emulator: TavusEmulator, site: LocalSite, raw: str, state: ReplicaState
) -> None:
    emulator.script(ScriptedOutcome("completed", training_seconds=60))
    replica_id = make_replica(client, site)
    emulator.set_replica(replica_id, status=raw)
    replica = client.get_replica(replica_id)
    assert replica.status is state
    assert replica.raw_status == raw


def test_progress_is_parsed_from_the_replica(
    client: TavusClient, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("completed", training_seconds=60))
    replica_id = make_replica(client, site)
    emulator.set_replica(replica_id, training_progress="37/100")
    replica = client.get_replica(replica_id)
    assert (replica.training_progress, replica.progress_percent) == ("37/100", 37)


@pytest.mark.parametrize(
    ("value", "percent"),
    [
        ("37/100", 37),
        ("37 / 100", 37),
        ("1/4", 25),
        ("37%", 37),
        ("37", 37),
        ("37.9", 37),
        ("0.37", 37),
        ("1", 1),
        ("100/100", 100),
        ("150/100", 100),
        ("-5/100", 0),
        (42, 42),
        ("3/0", None),
        ("", None),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_training_progress(value: object, percent: int | None) -> None:
    assert parse_training_progress(value) == percent


def test_replica_from_api_tolerates_odd_fields() -> None:
    replica = Replica.from_api(
        {"replica_id": "r1", "status": None, "created_at": "2026-01-02T03:04:05", "updated_at": "yesterday"}
    )
    assert replica.status is ReplicaState.TRAINING
    assert replica.raw_status == ""
    assert replica.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert replica.updated_at is None
    assert replica.progress_percent is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"train_image_url": "https://x/a.png", "train_video_url": "https://x/a.mp4", "voice_name": "anna"},
        {"replica_name": "nothing"},
        {"train_image_url": "https://x/a.png"},
    ],
)
def test_create_validates_before_calling(
    client: TavusClient, emulator: TavusEmulator, kwargs: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        client.create_replica(**kwargs)
    assert emulator.calls() == []


def test_wrong_key_is_an_auth_error_and_not_retried(server: EmulatorServer, emulator: TavusEmulator) -> None:
    with (
        TavusClient(server.url, "wrong-key-SECRET", initial_backoff=0.01) as tavus,
        pytest.raises(TavusAuthError) as caught,
    ):
        tavus.get_replica("r00000000000")
    assert caught.value.status_code == 401
    assert "Invalid access token" in str(caught.value)
    assert len(emulator.calls()) == 1


def test_bad_request_carries_the_tavus_message(client: TavusClient, emulator: TavusEmulator) -> None:
    with pytest.raises(TavusBadRequest) as caught:
        client.create_replica(train_image_url="ftp://example.com/a.png", voice_name="anna")
    assert caught.value.status_code == 400
    assert caught.value.message == "train_image_url must be an http(s) URL"
    assert len(emulator.calls()) == 1


def test_422_is_a_bad_request_too(client: TavusClient, emulator: TavusEmulator) -> None:
    emulator.inject_fault(method="PATCH", path_prefix="/v2/faces", status=422)
    with pytest.raises(TavusBadRequest) as caught:
        client.rename_replica("r00000000000", "New name")
    assert caught.value.status_code == 422
    assert caught.value.message == HTTPStatus(422).phrase


def test_unknown_replica_is_not_found(client: TavusClient, emulator: TavusEmulator) -> None:
    with pytest.raises(TavusNotFound) as caught:
        client.get_replica("rdoesnotexist")
    assert caught.value.status_code == 404
    # Checked once on the legacy path, which agrees: the face is gone, and /v2/faces stays in use.
    assert [c["path"] for c in emulator.calls()] == ["/v2/faces/rdoesnotexist", "/v2/replicas/rdoesnotexist"]


def test_two_500s_then_success(client: TavusClient, emulator: TavusEmulator, site: LocalSite) -> None:
    replica_id = make_replica(client, site)
    emulator.inject_fault(method="GET", path_prefix="/v2/faces/", status=500, count=2)
    assert client.get_replica(replica_id).replica_id == replica_id
    gets = [call["status"] for call in emulator.calls() if call["method"] == "GET"]
    assert gets == [500, 500, 200]


def test_create_is_retried_after_5xx(client: TavusClient, emulator: TavusEmulator, site: LocalSite) -> None:
    emulator.inject_fault(method="POST", path_prefix="/v2/faces", status=502)
    make_replica(client, site)
    assert [call["status"] for call in emulator.calls()] == [502, 200]
    assert len(emulator.replicas()) == 1


def test_retry_after_is_honoured(client: TavusClient, emulator: TavusEmulator) -> None:
    emulator.inject_fault(method="GET", path_prefix="/v2/faces", status=429, retry_after=1)
    assert client.list_replicas() == []
    first, second = emulator.calls()
    assert (first["status"], second["status"]) == (429, 200)
    assert second["time"] - first["time"] >= 0.95


def test_persistent_503_gives_up_after_max_attempts(client: TavusClient, emulator: TavusEmulator) -> None:
    emulator.inject_fault(method="GET", path_prefix="/v2", status=503, count=10)
    with pytest.raises(TavusUnavailable) as caught:
        client.get_replica("r00000000000")
    assert caught.value.status_code == 503
    assert len(emulator.calls()) == 3


def test_connection_refused_is_unavailable() -> None:
    with (
        TavusClient(closed_port_url(), API_KEY, max_attempts=2, initial_backoff=0.01) as tavus,
        pytest.raises(TavusUnavailable) as caught,
    ):
        tavus.get_replica("r00000000000")
    assert caught.value.status_code is None
    assert "ConnectError" in str(caught.value)


def test_a_misconfigured_base_url_fails_fast() -> None:
    with (
        TavusClient("ftp://tavus.test", API_KEY, max_backoff=5) as tavus,
        pytest.raises(TavusUnavailable) as caught,
    ):
        tavus.list_replicas()
    assert "UnsupportedProtocol" in str(caught.value)


def test_read_timeout_retries_reads_but_not_creates(
    server: EmulatorServer, emulator: TavusEmulator, site: LocalSite
) -> None:
    fast_timeout = httpx.Timeout(2.0, read=0.2)
    with TavusClient(
        server.url, API_KEY, timeout=fast_timeout, max_attempts=3, initial_backoff=0.01
    ) as tavus:
        emulator.inject_fault(method="GET", path_prefix="/v2/faces", status=500, delay_seconds=0.5)
        assert tavus.list_replicas() == []

        # A create that timed out may have been accepted; repeating it could start a second, billed replica.
        emulator.inject_fault(method="POST", path_prefix="/v2/faces", status=500, delay_seconds=0.5)
        with pytest.raises(TavusUnavailable, match="may or may not"):
            make_replica(tavus, site)
    wait_until(lambda: len(emulator.calls()) == 3)
    assert [(call["method"], call["status"]) for call in emulator.calls()] == [
        ("GET", 200),
        ("GET", 500),
        ("POST", 500),
    ], "the log is written when a call is answered, so the slow faulted GET lands after its retry"


def test_list_delete_and_rename(client: TavusClient, emulator: TavusEmulator, site: LocalSite) -> None:
    first = make_replica(client, site, replica_name="one")
    second = make_replica(client, site, replica_name="two")
    assert [r.replica_id for r in client.list_replicas()] == [second, first]
    assert [r.replica_id for r in client.list_replicas(limit=1, page=2)] == [first]
    client.rename_replica(first, "uno")
    assert client.get_replica(first).replica_name == "uno"
    client.delete_replica(first, hard=True)
    assert emulator.calls()[-1]["query"] == {"hard": "true"}
    with pytest.raises(TavusNotFound):
        client.get_replica(first)
    with pytest.raises(TavusNotFound):
        client.delete_replica(first)
    assert [r.replica_id for r in client.list_replicas()] == [second]


def test_the_api_key_never_leaks(
    server: EmulatorServer, emulator: TavusEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[TavusError] = []
    with TavusClient(server.url, API_KEY, max_attempts=2, initial_backoff=0.01) as tavus:
        assert API_KEY not in repr(tavus)
        emulator.inject_fault(method="GET", path_prefix="/v2", status=503, count=2)
        emulator.inject_fault(method="PATCH", path_prefix="/v2", status=400)
        for call in (
            lambda: tavus.get_replica("r00000000000"),
            lambda: tavus.rename_replica("r00000000000", "x"),
            lambda: tavus.get_replica("r00000000000"),
        ):
            with pytest.raises(TavusError) as caught:
                call()
            errors.append(caught.value)
    with (
        TavusClient(server.url, API_KEY + "-wrong", initial_backoff=0.01) as wrong,
        pytest.raises(TavusAuthError) as auth,
    ):
        wrong.list_replicas()
    errors.append(auth.value)
    with (
        TavusClient(closed_port_url(), API_KEY, max_attempts=2, initial_backoff=0.01) as down,
        pytest.raises(TavusUnavailable) as unreachable,
    ):
        down.list_replicas()
    errors.append(unreachable.value)

    assert [type(e) for e in errors] == [
        TavusUnavailable,
        TavusBadRequest,
        TavusNotFound,
        TavusAuthError,
        TavusUnavailable,
    ]
    for error in errors:
        assert API_KEY not in str(error) and API_KEY not in repr(error)
        assert error.__cause__ is None or API_KEY not in repr(error.__cause__)
    assert any(r.levelno == logging.WARNING and r.name == "bot.tavus.client" for r in caplog.records)
    assert API_KEY not in caplog.text


def test_error_bodies_are_parsed_tolerantly() -> None:
    bodies = {
        "/v2/faces/json-error": httpx.Response(400, json={"error": "voice_name is not a stock voice"}),
        "/v2/faces/detail": httpx.Response(
            422, json={"detail": [{"msg": "field required"}, {"msg": "bad url"}]}
        ),
        "/v2/faces/text": httpx.Response(400, text="plain text reason"),
        "/v2/faces/empty": httpx.Response(400),
        "/v2/faces/echo": httpx.Response(400, json={"message": f"bad key {API_KEY}"}),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return bodies[request.url.path]

    with TavusClient("https://tavus.test", API_KEY, transport=httpx.MockTransport(handler)) as tavus:
        messages = []
        for replica_id in ("json-error", "detail", "text", "empty", "echo"):
            with pytest.raises(TavusBadRequest) as caught:
                tavus.get_replica(replica_id)
            messages.append(caught.value.message)
    assert messages == [
        "voice_name is not a stock voice",
        "field required; bad url",
        "plain text reason",
        "Bad Request",
        "bad key [redacted]",
    ]


def test_sends_the_key_header_and_a_sane_default_timeout() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"replica_id": "r1", "status": "training"})

    with TavusClient("https://tavus.test", API_KEY, transport=httpx.MockTransport(handler)) as tavus:
        created = tavus.create_replica(train_video_url="https://x/v.mp4", consent_video_url="https://x/c.mp4")
    assert created.status is ReplicaState.TRAINING and created.raw_status == "training"
    assert seen[0].headers["x-api-key"] == API_KEY
    assert seen[0].extensions["timeout"] == {"connect": 5.0, "read": 20.0, "write": 20.0, "pool": 5.0}


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_is_capped_by_max_backoff(server: EmulatorServer, emulator: TavusEmulator) -> None:
    emulator.inject_fault(method="GET", path_prefix="/v2", status=429, retry_after=3600)
    with TavusClient(server.url, API_KEY, max_backoff=0.1, initial_backoff=0.01) as tavus:
        assert tavus.list_replicas() == []
    first, second = emulator.calls()
    assert second["time"] - first["time"] < 1.0

"""The Tavus emulator, driven over real HTTP on loopback the way the bot and the demo use it."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bot.sandbox.tavus_emulator import EmulatorServer, ScriptedOutcome, TavusEmulator
from tests.unit.local_site import IMAGE_BYTES, VIDEO_BYTES, LocalSite, closed_port_url, wait_until

API_KEY = "emulator-test-key-7f3a"
# A documented rejection (shared/seeds/000_*.txt), in the "Code: message" shape.
IMAGE_QUALITY_ERROR = (
    "ImageQualityError: There was an error processing your image. The photo is too blurry, poorly lit, "
    "or the subject is too small or unclear to use. Please upload a sharper, well-lit photo with your face "
    "clearly visible."
)


TRAINING_SECONDS = 0.3


@pytest.fixture
def control(server: EmulatorServer, emulator: TavusEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def create_image_replica(api: httpx.Client, site: LocalSite, **extra: Any) -> str:
    body = {"train_image_url": f"{site.url}/headshot.png", "voice_name": "anna", **extra}
    response = api.post("/v2/replicas", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["replica_id"])


def replica(api: httpx.Client, replica_id: str) -> dict[str, Any]:
    response = api.get(f"/v2/replicas/{replica_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_every_v2_call_needs_the_api_key(server: EmulatorServer, emulator: TavusEmulator) -> None:
    with httpx.Client(base_url=server.url) as client:
        missing = client.get("/v2/replicas")
        wrong = client.get("/v2/replicas", headers={"x-api-key": "not-the-key"})
        control = client.get("/_emulator/calls")
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == wrong.json() == {"message": "Invalid access token"}
    assert control.status_code == 200
    assert [call["status"] for call in emulator.calls()] == [401, 401]
    assert all("not-the-key" not in json.dumps(call) for call in emulator.calls())


def test_create_from_image_downloads_the_image_and_reports_documented_fields(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    response = api.post(
        "/v2/replicas",
        json={"train_image_url": f"{site.url}/headshot.png", "voice_name": "anna", "replica_name": "Ana"},
    )
    assert response.status_code == 200
    created = response.json()
    assert created["status"] == "started"
    assert re.fullmatch(r"r[0-9a-f]{11}", created["replica_id"])

    replica_id = created["replica_id"]
    assert wait_until(lambda: emulator.training_image(replica_id)) == IMAGE_BYTES
    body = replica(api, replica_id)
    assert set(body) == {
        "replica_id",
        "replica_name",
        "thumbnail_video_url",
        "training_progress",
        "status",
        "created_at",
        "updated_at",
        "error_message",
        "model_name",
    }
    assert body["replica_name"] == "Ana"
    assert body["model_name"] == "phoenix-4"
    assert body["error_message"] is None
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    verbose = api.get(f"/v2/replicas/{replica_id}", params={"verbose": "true"}).json()
    assert verbose["replica_type"] == "user"


def test_create_from_video_records_the_download(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    response = api.post(
        "/v2/replicas",
        json={
            "train_video_url": f"{site.url}/training.mp4",
            "consent_video_url": f"{site.url}/consent.mp4",
            "model_name": "phoenix-3",
        },
    )
    assert response.status_code == 200
    replica_id = response.json()["replica_id"]
    state = wait_until(lambda: next((r for r in emulator.replicas() if r["training_video_size"]), None))
    assert state["replica_id"] == replica_id
    assert state["training_video_size"] == len(VIDEO_BYTES)
    assert state["training_video_sha256"] == hashlib.sha256(VIDEO_BYTES).hexdigest()
    assert state["consent_video_url"] == f"{site.url}/consent.mp4"
    assert replica(api, replica_id)["model_name"] == "phoenix-3"
    assert emulator.training_image(replica_id) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "train_image_url": "https://x/a.png",
                "train_video_url": "https://x/a.mp4",
                "voice_name": "anna",
            },
            "not both",
        ),
        ({"replica_name": "nothing to train on"}, "train_image_url or train_video_url is required"),
        ({"train_image_url": "https://x/a.png"}, "voice_name is required"),
        ({"train_image_url": "file:///etc/passwd", "voice_name": "anna"}, "http(s) URL"),
    ],
)
def test_create_rejects_bad_bodies_with_a_message(
    api: httpx.Client, emulator: TavusEmulator, body: dict[str, Any], message: str
) -> None:
    response = api.post("/v2/replicas", json=body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert emulator.replicas() == []


def test_create_rejects_a_body_that_is_not_json(api: httpx.Client, emulator: TavusEmulator) -> None:
    response = api.post("/v2/replicas", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert emulator.replicas() == []


def test_progress_rises_then_training_completes(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("completed", training_seconds=0.8))
    replica_id = create_image_replica(api, site)
    seen: list[int] = []
    while (body := replica(api, replica_id))["status"] == "started":
        done, total = body["training_progress"].split("/")
        assert total == "100"
        seen.append(int(done))
        time.sleep(0.05)
    assert seen == sorted(seen)
    assert any(0 < percent < 99 for percent in seen)
    assert body["status"] == "completed"
    assert body["training_progress"] == "100/100"
    assert body["thumbnail_video_url"]
    assert body["error_message"] is None


def test_scripted_error_ends_with_the_documented_message(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("error", error_message=IMAGE_QUALITY_ERROR, training_seconds=0.2))
    replica_id = create_image_replica(api, site)
    body = wait_until(lambda: (b := replica(api, replica_id))["status"] != "started" and b)
    assert body["status"] == "error"
    assert body["error_message"] == IMAGE_QUALITY_ERROR
    assert body["thumbnail_video_url"] is None
    assert body["training_progress"] == "99/100"


def test_stalled_progress_stays_put_until_the_end(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(
        ScriptedOutcome(
            "error", error_message="Phx4FaceObscuredError", training_seconds=0.6, stall_at_percent=20
        )
    )
    replica_id = create_image_replica(api, site)
    wait_until(lambda: replica(api, replica_id)["training_progress"] == "20/100")
    time.sleep(0.1)
    assert replica(api, replica_id)["training_progress"] == "20/100"
    body = wait_until(lambda: (b := replica(api, replica_id))["status"] == "error" and b)
    assert body["training_progress"] == "20/100"
    assert body["error_message"] == "Phx4FaceObscuredError"


def test_named_outcomes_go_to_the_matching_create_and_others_in_order(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("error", error_message="for Bea", match_name="Bea", training_seconds=0))
    emulator.script(ScriptedOutcome("error", error_message="first come", training_seconds=0))
    anyone = create_image_replica(api, site, replica_name="Al")
    bea = create_image_replica(api, site, replica_name="Bea")
    later = create_image_replica(api, site, replica_name="Cy")
    wait_until(lambda: all(replica(api, r)["status"] != "started" for r in (anyone, bea, later)))
    assert replica(api, anyone)["error_message"] == "first come"
    assert replica(api, bea)["error_message"] == "for Bea"
    assert replica(api, later)["status"] == "completed"


def test_callbacks_are_posted_on_success_and_on_failure(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("completed", match_name="ok", training_seconds=0.1))
    emulator.script(
        ScriptedOutcome("error", error_message=IMAGE_QUALITY_ERROR, match_name="bad", training_seconds=0.1)
    )
    ok = create_image_replica(api, site, replica_name="ok", callback_url=f"{site.url}/cb/token-ok")
    bad = create_image_replica(api, site, replica_name="bad", callback_url=f"{site.url}/cb/token-bad")
    wait_until(lambda: len(site.posts()) == 2)
    received = dict(site.posts())
    assert received["/cb/token-ok"] == {"replica_id": ok, "status": "ready"}
    assert received["/cb/token-bad"] == {
        "replica_id": bad,
        "status": "error",
        "error_message": IMAGE_QUALITY_ERROR,
    }
    # The receiver sees the POST a moment before the emulator records the answer.
    wait_until(lambda: len(emulator.callbacks()) == 2)
    assert sorted(entry["status"] for entry in emulator.callbacks()) == [204, 204]
    time.sleep(0.2)
    assert len(site.posts()) == 2, "each replica gets one automatic callback"


def test_unreachable_callback_url_is_recorded_not_fatal(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    replica_id = create_image_replica(api, site, callback_url=f"{closed_port_url()}/cb")
    entry = wait_until(lambda: emulator.callbacks())[0]
    assert entry["status"] is None and entry["error"] == "ConnectError"
    assert replica(api, replica_id)["status"] == "completed"


def test_failed_image_download_ends_in_error(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    response = api.post(
        "/v2/replicas",
        json={
            "train_image_url": f"{site.url}/expired.png",
            "voice_name": "anna",
            "callback_url": f"{site.url}/cb",
        },
    )
    replica_id = response.json()["replica_id"]
    body = wait_until(lambda: (b := replica(api, replica_id))["status"] == "error" and b)
    assert body["error_message"] == "Could not download the training image (HTTP 404)"
    assert emulator.training_image(replica_id) is None
    wait_until(lambda: site.posts())
    assert site.posts()[0][1]["status"] == "error"


def test_injected_faults_answer_before_any_side_effect(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.inject_fault(method="POST", path_prefix="/v2/replicas", status=503, count=2, retry_after=2)
    for _ in range(2):
        response = api.post(
            "/v2/replicas", json={"train_image_url": f"{site.url}/headshot.png", "voice_name": "a"}
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert response.json() == {"message": "Service Unavailable"}
    assert emulator.replicas() == []
    assert api.get("/v2/replicas").status_code == 200, "other methods are not affected"
    replica_id = create_image_replica(api, site)
    assert [r["replica_id"] for r in emulator.replicas()] == [replica_id]
    assert [call["status"] for call in emulator.calls()] == [503, 503, 200, 200]


def test_fault_delay_and_wildcard_method(api: httpx.Client, emulator: TavusEmulator) -> None:
    emulator.inject_fault(method="*", path_prefix="/v2/replicas/", status=500, delay_seconds=0.3)
    started = time.monotonic()
    response = api.get("/v2/replicas/r00000000000")
    assert response.status_code == 500
    assert time.monotonic() - started >= 0.3
    assert api.get("/v2/replicas/r00000000000").status_code == 404


def test_list_is_newest_first_and_paged(api: httpx.Client, emulator: TavusEmulator, site: LocalSite) -> None:
    ids = [create_image_replica(api, site, replica_name=f"n{i}") for i in range(5)]
    first = api.get("/v2/replicas", params={"limit": 2, "page": 1}).json()
    third = api.get("/v2/replicas", params={"limit": 2, "page": 3}).json()
    beyond = api.get("/v2/replicas", params={"limit": 2, "page": 4}).json()
    assert first["total_count"] == 5
    assert [r["replica_id"] for r in first["data"]] == [ids[4], ids[3]]
    assert [r["replica_id"] for r in third["data"]] == [ids[0]]
    assert beyond["data"] == []
    assert api.get("/v2/replicas", params={"limit": 0}).status_code == 400


def test_delete_then_get_is_404(api: httpx.Client, emulator: TavusEmulator, site: LocalSite) -> None:
    replica_id = create_image_replica(api, site)
    keep = create_image_replica(api, site)
    assert api.delete(f"/v2/replicas/{replica_id}", params={"hard": "true"}).status_code == 200
    gone = api.get(f"/v2/replicas/{replica_id}")
    assert gone.status_code == 404
    assert gone.json() == {"message": "Replica not found"}
    assert api.delete(f"/v2/replicas/{replica_id}").status_code == 404
    listed = api.get("/v2/replicas").json()
    assert [r["replica_id"] for r in listed["data"]] == [keep]
    state = next(r for r in emulator.replicas() if r["replica_id"] == replica_id)
    assert state["deleted_at"] and state["hard_deleted"] is True


def test_rename(api: httpx.Client, emulator: TavusEmulator, site: LocalSite) -> None:
    replica_id = create_image_replica(api, site, replica_name="Old")
    assert api.patch(f"/v2/replicas/{replica_id}/name", json={"replica_name": "New"}).status_code == 200
    assert replica(api, replica_id)["replica_name"] == "New"
    assert api.patch(f"/v2/replicas/{replica_id}/name", json={"replica_name": ""}).status_code == 400
    assert api.patch("/v2/replicas/rmissing0000/name", json={"replica_name": "X"}).status_code == 404


def test_set_replica_overrides_the_clock_and_can_send_a_callback(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("completed", training_seconds=60))
    replica_id = create_image_replica(api, site, callback_url=f"{site.url}/cb")
    emulator.set_replica(replica_id, status="error", error_message="HeadphonesError", send_callback=True)
    body = replica(api, replica_id)
    assert (body["status"], body["error_message"]) == ("error", "HeadphonesError")
    wait_until(lambda: site.posts())
    assert site.posts() == [
        ("/cb", {"replica_id": replica_id, "status": "error", "error_message": "HeadphonesError"})
    ]
    with pytest.raises(KeyError):
        emulator.set_replica("rnope0000000", status="ready")


def test_control_endpoints_over_http(
    api: httpx.Client, control: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    assert (
        control.post("/_emulator/config", json={"default_training_seconds": 30}).json()[
            "default_training_seconds"
        ]
        == 30
    )
    outcome = {
        "outcome": "error",
        "error_message": "CelebrityFoundError",
        "training_seconds": 0,
        "match_name": "X",
    }
    assert control.post("/_emulator/outcomes", json=outcome).status_code == 200
    assert control.post("/_emulator/outcomes", json={"outcome": "maybe"}).status_code == 400
    fault = {"method": "GET", "path_prefix": "/v2/replicas", "status": 429, "retry_after": 1}
    assert control.post("/_emulator/faults", json=fault).status_code == 200

    named = create_image_replica(api, site, replica_name="X")
    slow = create_image_replica(api, site, replica_name="Y", callback_url=f"{site.url}/cb")
    assert api.get(f"/v2/replicas/{named}").status_code == 429
    wait_until(lambda: replica(api, named)["status"] == "error")
    assert replica(api, slow)["status"] == "started", "config made default training slow"

    set_ready = control.post(f"/_emulator/replicas/{slow}", json={"status": "ready", "send_callback": True})
    assert set_ready.status_code == 200
    assert control.post("/_emulator/replicas/rnope0000000", json={"status": "ready"}).status_code == 404
    assert (replica(api, slow)["status"], replica(api, slow)["training_progress"]) == ("ready", "100/100")
    wait_until(lambda: control.get("/_emulator/callbacks").json())
    assert control.get("/_emulator/callbacks").json()[0]["body"] == {"replica_id": slow, "status": "ready"}

    wait_until(lambda: emulator.training_image(slow))
    image = control.get(f"/_emulator/replicas/{slow}/training_image")
    assert image.content == IMAGE_BYTES
    assert control.get("/_emulator/replicas/rnope0000000/training_image").status_code == 404
    states = control.get("/_emulator/replicas").json()
    assert {s["replica_id"] for s in states} == {named, slow}
    calls = control.get("/_emulator/calls").json()
    assert {"method", "path", "query", "json", "status", "time"} <= set(calls[0])
    assert not any(call["path"].startswith("/_emulator") for call in calls)

    assert control.post("/_emulator/reset").status_code == 200
    assert control.get("/_emulator/replicas").json() == []
    assert control.get("/_emulator/calls").json() == []
    assert emulator.default_training_seconds == 0.3


def test_latency_applies_per_call_and_calls_overlap(api: httpx.Client, emulator: TavusEmulator) -> None:
    emulator.configure(latency_ms=300)

    def list_once(_: int) -> int:
        return api.get("/v2/replicas").status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(list_once, range(10)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 10
    assert 0.3 <= elapsed < 1.5, "ten concurrent calls should take about one latency, not ten"


def test_server_picks_a_free_port_and_stops(site: LocalSite) -> None:
    with EmulatorServer() as first, EmulatorServer() as second:
        assert first.url != second.url
        assert (
            httpx.get(f"{first.url}/v2/replicas", headers={"x-api-key": "test-tavus-key"}).status_code == 200
        )
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{first.url}/v2/replicas")

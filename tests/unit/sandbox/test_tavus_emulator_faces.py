"""The emulator's 2026 surface over real HTTP: /v2/faces beside /v2/replicas (each in its own names), the
switch that makes /v2/faces missing, phoenix-4.5's preview then tuning, and callbacks in both shapes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse

from bot.sandbox.tavus_emulator import EmulatorServer, ScriptedOutcome, TavusEmulator
from tests.unit.local_site import LocalSite, wait_until

API_KEY = "emulator-faces-key"


def image(site: LocalSite, **extra: Any) -> dict[str, Any]:
    return {"train_image_url": f"{site.url}/headshot.png", "voice_name": "anna", **extra}


def test_each_family_answers_in_its_own_names(api: httpx.Client, site: LocalSite) -> None:
    created = api.post("/v2/faces", json=image(site, face_name="Ana")).json()
    assert set(created) == {"face_id", "status"}
    face_id = created["face_id"]
    face = api.get(f"/v2/faces/{face_id}", params={"verbose": "true"}).json()
    assert (face["face_id"], face["face_name"], face["face_type"]) == (face_id, "Ana", "user")
    assert "replica_id" not in face
    replica = api.get(f"/v2/replicas/{face_id}").json()
    assert (replica["replica_id"], replica["replica_name"]) == (face_id, "Ana")
    listed = api.get("/v2/faces").json()
    assert listed["total_count"] == 1 and listed["data"][0]["face_id"] == face_id
    assert api.patch(f"/v2/faces/{face_id}", json={"face_name": "Ana B"}).status_code == 200
    assert api.get(f"/v2/replicas/{face_id}").json()["replica_name"] == "Ana B"
    assert api.get("/v2/faces/rnope").json() == {"message": "Face not found"}
    assert api.delete(f"/v2/faces/{face_id}").status_code == 200
    assert api.get(f"/v2/replicas/{face_id}").status_code == 404


def test_faces_missing_makes_only_the_new_paths_404(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.configure(faces_missing=True)
    missing = api.post("/v2/faces", json=image(site, face_name="Ana"))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/plain")
    assert api.get("/v2/faces").status_code == 404
    assert api.post("/v2/replicas", json=image(site, replica_name="Ana")).status_code == 200
    emulator.reset()
    assert api.get("/v2/faces").status_code == 200


def test_consent_video_is_kept_on_replicas_and_ignored_on_faces(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    video = {"train_video_url": f"{site.url}/training.mp4", "consent_video_url": f"{site.url}/c.mp4"}
    api.post("/v2/faces", json={**video, "face_name": "New"})
    api.post("/v2/replicas", json={**video, "replica_name": "Old"})
    by_name = {r["replica_name"]: r for r in emulator.replicas()}
    assert by_name["New"]["consent_video_url"] is None and by_name["New"]["ignored_fields"] == [
        "consent_video_url"
    ]
    assert by_name["Old"]["consent_video_url"] == f"{site.url}/c.mp4"


def test_phoenix_3_has_no_image_training(api: httpx.Client, site: LocalSite) -> None:
    answer = api.post("/v2/faces", json=image(site, model_name="phoenix-3"))
    assert answer.status_code == 400 and "phoenix-3" in answer.json()["message"]


@pytest.mark.parametrize("finetune", ["completed", "errored"])
def test_phoenix_4_5_previews_then_tunes_with_a_callback_for_each_stage(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite, finetune: str
) -> None:
    emulator.script(ScriptedOutcome("completed", training_seconds=0.1, tuning_seconds=0.6, finetune=finetune))  # type: ignore[arg-type]
    body = image(site, model_name="phoenix-4.5", face_name="Four", callback_url=f"{site.url}/cb")
    face_id = api.post("/v2/faces", json=body).json()["face_id"]
    started = api.get(f"/v2/faces/{face_id}").json()
    assert (started["status"], started["finetune_status"]) == ("started", None)
    wait_until(lambda: api.get(f"/v2/faces/{face_id}").json()["status"] == "completed")
    preview = api.get(f"/v2/faces/{face_id}").json()
    assert preview["finetune_status"] == "training" and preview["thumbnail_video_url"]
    wait_until(lambda: api.get(f"/v2/faces/{face_id}").json()["finetune_status"] == finetune)
    callbacks = wait_until(lambda: len(site.posts()) == 2 and site.posts())
    assert [body for _, body in callbacks] == [
        {"face_id": face_id, "status": "completed", "finetune_status": "training"},
        {"face_id": face_id, "status": "completed", "finetune_status": finetune},
    ]


def test_callbacks_in_the_documented_replica_shape(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("completed", training_seconds=0.1))
    api.post("/v2/replicas", json=image(site, callback_url=f"{site.url}/cb"))
    emulator.script(ScriptedOutcome("completed", training_seconds=0.1, callback_shape="replicas"))
    api.post("/v2/faces", json=image(site, callback_url=f"{site.url}/cb2"))
    posts = wait_until(lambda: len(site.posts()) == 2 and site.posts())
    for _, body in posts:
        assert set(body) == {"replica_id", "status"} and body["status"] == "ready"


def test_set_replica_pins_finetune_and_chooses_the_callback_shape(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    emulator.script(ScriptedOutcome("completed", training_seconds=60))
    face_id = api.post(
        "/v2/faces", json=image(site, callback_url=f"{site.url}/cb", model_name="phoenix-4.5")
    ).json()["face_id"]
    emulator.set_replica(
        face_id, status="completed", finetune_status="errored", send_callback=True, callback_shape="faces"
    )
    [(_, body)] = wait_until(lambda: site.posts())
    assert body == {"face_id": face_id, "status": "completed", "finetune_status": "errored"}
    assert api.get(f"/v2/faces/{face_id}").json()["finetune_status"] == "errored"


def test_extra_routes_are_served_through_the_same_gate(site: LocalSite) -> None:
    async def ping(request: Any, body: Any) -> Any:
        return JSONResponse({"pong": body})

    emulator = TavusEmulator(api_key=API_KEY, extra_routes=(("/v2/faces/ping", "POST", ping),))
    with EmulatorServer(emulator) as running, httpx.Client(base_url=running.url, timeout=5) as client:
        assert client.post("/v2/faces/ping", json={"a": 1}).status_code == 401
        answer = client.post("/v2/faces/ping", json={"a": 1}, headers={"x-api-key": API_KEY})
        assert answer.json() == {"pong": {"a": 1}}
        assert emulator.calls()[-1]["path"] == "/v2/faces/ping"

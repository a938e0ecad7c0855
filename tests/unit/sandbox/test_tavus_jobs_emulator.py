"""The emulator's videos, conversations and PALs over real HTTP, as Tavus' docs describe them: a video's
statuses, progress, links, thumbnails, errors and callbacks; a conversation's create, get, end, timers,
shutdown callbacks and the concurrency refusal; what a PAL and a persona require."""

from __future__ import annotations

from typing import Any

import httpx

from bot.sandbox.tavus_emulator import TavusEmulator
from bot.sandbox.tavus_jobs import GENERIC_VIDEO_ERROR, TOO_MANY_CONVERSATIONS
from tests.unit.local_site import LocalSite, wait_until

API_KEY = "emulator-jobs-key"
TRAINING_SECONDS = 0.05


def a_face(api: httpx.Client, site: LocalSite) -> str:
    """A trained face (training takes 50 ms here)."""
    face = api.post("/v2/faces", json={"train_image_url": f"{site.url}/headshot.png", "voice_name": "anna"})
    face_id = str(face.json()["face_id"])
    wait_until(lambda: api.get(f"/v2/faces/{face_id}").json()["status"] == "completed")
    return face_id


def callbacks_to(site: LocalSite, path: str) -> list[dict[str, Any]]:
    return [body for at, body in site.posts() if at == path]


# --- videos -------------------------------------------------------------------------------------------------


def test_a_video_is_queued_then_generating_then_ready_with_its_links_and_a_callback(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    emulator.jobs.script_video(seconds=0.6)
    body = {"replica_id": face_id, "script": "Hello", "video_name": "Sample", "callback_url": f"{site.url}/v"}
    created = api.post("/v2/videos", json=body).json()
    assert set(created) == {"video_id", "video_name", "status", "hosted_url", "created_at"}
    assert created["status"] == "queued" and created["video_name"] == "Sample"
    video_id = created["video_id"]
    seen = {api.get(f"/v2/videos/{video_id}").json()["status"]}
    wait_until(lambda: seen.add(api.get(f"/v2/videos/{video_id}").json()["status"]) or "ready" in seen)
    assert {"queued", "generating", "ready"} <= seen
    plain = api.get(f"/v2/videos/{video_id}").json()
    assert plain["generation_progress"] == "100/100" and plain["data"] == {"script": "Hello"}
    assert all(plain[k] for k in ("hosted_url", "stream_url", "download_url", "status_details"))
    assert "gif_thumbnail_url" not in plain and "still_image_thumbnail_url" not in plain
    verbose = api.get(f"/v2/videos/{video_id}", params={"verbose": "true"}).json()
    assert verbose["gif_thumbnail_url"] and verbose["still_image_thumbnail_url"]
    [callback] = wait_until(lambda: callbacks_to(site, "/v"))
    assert callback["status"] == "ready" and callback["video_id"] == video_id
    assert callback["hosted_url"] == plain["hosted_url"] and callback["replica_id"] == face_id
    assert callback["generation_progress"] == "100/100"


def test_a_scripted_error_has_status_details_and_no_links(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    emulator.jobs.script_video("error", seconds=0)
    emulator.jobs.script_video("error", status_details="Script too long", seconds=0)
    first = api.post("/v2/videos", json={"replica_id": face_id, "script": "A"}).json()["video_id"]
    second = api.post("/v2/videos", json={"replica_id": face_id, "script": "B"}).json()["video_id"]
    generic = api.get(f"/v2/videos/{first}").json()
    assert generic["status"] == "error" and generic["status_details"] == GENERIC_VIDEO_ERROR
    assert generic["hosted_url"] is None and generic["download_url"] is None and generic["stream_url"] is None
    assert api.get(f"/v2/videos/{second}").json()["status_details"] == "Script too long"


def test_a_ready_video_can_come_without_links_and_videos_can_be_deleted_and_listed(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    emulator.jobs.script_video(seconds=0, no_urls=True)
    bare = api.post("/v2/videos", json={"replica_id": face_id, "script": "A"}).json()["video_id"]
    ready = api.get(f"/v2/videos/{bare}", params={"verbose": "true"}).json()
    assert ready["status"] == "ready" and ready["hosted_url"] is None and ready["gif_thumbnail_url"] is None
    other = api.post("/v2/videos", json={"replica_id": face_id, "script": "B"}).json()["video_id"]
    listed = api.get("/v2/videos").json()
    assert listed["total_count"] == 2 and [v["video_id"] for v in listed["data"]] == [other, bare]
    assert api.delete(f"/v2/videos/{other}").status_code == 200
    assert api.get(f"/v2/videos/{other}").json()["status"] == "deleted"
    api.delete(f"/v2/videos/{bare}", params={"hard": "true"})
    assert api.get(f"/v2/videos/{bare}").status_code == 404


def test_a_video_needs_a_script_and_a_finished_face(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    assert api.post("/v2/videos", json={"replica_id": "rnope", "script": "Hi"}).json() == {
        "message": "Invalid replica_id"
    }
    emulator.configure(default_training_seconds=60)
    training = api.post(
        "/v2/faces", json={"train_image_url": f"{site.url}/headshot.png", "voice_name": "anna"}
    ).json()["face_id"]
    assert "not ready" in api.post("/v2/videos", json={"replica_id": training, "script": "Hi"}).text
    assert api.post("/v2/videos", json={"replica_id": training}).status_code == 400
    assert emulator.jobs.videos() == []


# --- conversations ------------------------------------------------------------------------------------------


def test_a_conversation_ends_at_max_call_duration_with_a_shutdown_callback(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    body = {
        "replica_id": face_id,
        "conversation_name": "Test call",
        "callback_url": f"{site.url}/c",
        "properties": {
            "max_call_duration": 1,
            "participant_left_timeout": 1,
            "participant_absent_timeout": 60,
        },
    }
    created = api.post("/v2/conversations", json=body).json()
    conversation_id = created["conversation_id"]
    assert created["status"] == "active" and created["conversation_url"].endswith(conversation_id)
    assert created["room_url"] and created["persona_id"] is None
    assert api.get(f"/v2/conversations/{conversation_id}").json()["status"] == "active"
    events = wait_until(lambda: len(callbacks_to(site, "/c")) >= 2 and callbacks_to(site, "/c"), timeout=5)
    assert [e["event_type"] for e in events] == ["system.replica_joined", "system.shutdown"]
    assert events[1]["properties"] == {"replica_id": face_id, "shutdown_reason": "max_call_duration reached"}
    assert events[1]["message_type"] == "system" and events[1]["conversation_id"] == conversation_id
    assert api.get(f"/v2/conversations/{conversation_id}").json()["status"] == "ended"


def test_ending_a_conversation_and_the_participant_timeouts(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    quick = {"max_call_duration": 60, "participant_left_timeout": 0, "participant_absent_timeout": 1}
    told = {"replica_id": face_id, "callback_url": f"{site.url}/e"}
    ended = api.post("/v2/conversations", json=told).json()
    assert api.post(f"/v2/conversations/{ended['conversation_id']}/end").status_code == 200
    assert api.post(f"/v2/conversations/{ended['conversation_id']}/end").status_code == 200
    absent = api.post("/v2/conversations", json={"replica_id": face_id, "properties": quick}).json()
    left = api.post("/v2/conversations", json={"replica_id": face_id, "properties": quick}).json()
    emulator.jobs.join(left["conversation_id"])
    wait_until(lambda: api.get(f"/v2/conversations/{absent['conversation_id']}").json()["status"] == "ended")
    assert api.get(f"/v2/conversations/{left['conversation_id']}").json()["status"] == "active"
    emulator.jobs.leave(left["conversation_id"])
    wait_until(lambda: api.get(f"/v2/conversations/{left['conversation_id']}").json()["status"] == "ended")
    reasons = {c["conversation_id"]: c["shutdown_reason"] for c in emulator.jobs.conversations()}
    assert reasons == {
        ended["conversation_id"]: "end_conversation_endpoint_hit",
        absent["conversation_id"]: "participant_absent_timeout reached",
        left["conversation_id"]: "participant_left_timeout reached",
    }
    shutdowns = wait_until(
        lambda: [b for b in callbacks_to(site, "/e") if b["event_type"] == "system.shutdown"]
    )
    assert len(shutdowns) == 1  # ended twice, told once
    assert api.post("/v2/conversations/cnope/end").json() == {"error": "Invalid conversation_id"}
    listed = api.get("/v2/conversations", params={"status": "ended"}).json()
    assert listed["total_count"] == 3


def test_too_many_conversations_at_once_is_the_documented_400(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    emulator.jobs.limit_conversations(1)
    first = api.post("/v2/conversations", json={"replica_id": face_id})
    refused = api.post("/v2/conversations", json={"replica_id": face_id})
    assert first.status_code == 200
    assert refused.status_code == 400 and refused.json() == {"message": TOO_MANY_CONVERSATIONS}
    api.post(f"/v2/conversations/{first.json()['conversation_id']}/end")
    assert api.post("/v2/conversations", json={"replica_id": face_id}).status_code == 200


def test_a_conversation_takes_a_pal_or_none_and_refuses_unknown_ones(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    no_face = api.post("/v2/pals", json={"system_prompt": "Hi"})
    assert no_face.json() == {"message": "default_face_id is required"}
    assert api.post("/v2/pals", json={"default_face_id": face_id}).status_code == 400  # no prompt
    pal = api.post(
        "/v2/pals", json={"pal_name": "T", "system_prompt": "Hi", "default_face_id": face_id}
    ).json()
    assert set(pal) == {"pal_id", "pal_name", "created_at"}
    persona = api.post("/v2/personas", json={"persona_name": "L", "system_prompt": "Hi"}).json()
    assert set(persona) == {"persona_id", "persona_name", "created_at"}
    # A PAL with a default face needs no face id; a persona without one does.
    by_pal = api.post("/v2/conversations", json={"pal_id": pal["pal_id"]}).json()
    assert by_pal["replica_id"] == face_id and by_pal["persona_id"] == pal["pal_id"]
    assert api.post("/v2/conversations", json={"persona_id": persona["persona_id"]}).status_code == 400
    named = {"persona_id": persona["persona_id"], "replica_id": face_id}
    assert api.post("/v2/conversations", json=named).status_code == 200
    assert api.post("/v2/conversations", json={"replica_id": face_id, "persona_id": "pnope"}).json() == {
        "message": "Invalid persona_id"
    }
    too_long = {"replica_id": face_id, "properties": {"max_call_duration": 3601}}
    assert api.post("/v2/conversations", json=too_long).status_code == 400


def test_a_deleted_pal_is_gone_from_conversations_and_either_path_deletes(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    made = {"system_prompt": "Hi", "default_face_id": face_id}
    pal = api.post("/v2/pals", json=made).json()["pal_id"]
    persona = api.post("/v2/personas", json={"system_prompt": "Hi"}).json()["persona_id"]
    assert api.delete(f"/v2/pals/{pal}").status_code == 204
    assert api.delete(f"/v2/personas/{persona}").status_code == 204
    assert emulator.jobs.pals() == []
    again = api.delete(f"/v2/pals/{pal}")
    assert again.status_code == 400 and again.json() == {"message": "Invalid persona_id"}
    refused = api.post("/v2/conversations", json={"replica_id": face_id, "persona_id": pal})
    assert refused.status_code == 400 and refused.json() == {"message": "Invalid persona_id"}


def test_overrun_keeps_a_call_going_until_it_is_ended(
    api: httpx.Client, emulator: TavusEmulator, site: LocalSite
) -> None:
    face_id = a_face(api, site)
    emulator.jobs.overrun = True
    quick = {"max_call_duration": 1, "participant_absent_timeout": 1}
    call = api.post("/v2/conversations", json={"replica_id": face_id, "properties": quick}).json()
    path = f"/v2/conversations/{call['conversation_id']}"
    wait_until(lambda: emulator.jobs.conversations()[0]["events"] == ["system.replica_joined"])
    assert api.get(path).json()["status"] == "active"
    api.post(f"{path}/end")
    assert api.get(path).json()["status"] == "ended"
    emulator.reset()
    assert emulator.jobs.overrun is False and emulator.jobs.conversations() == []


def test_the_jobs_routes_go_through_the_same_gate(api: httpx.Client, emulator: TavusEmulator) -> None:
    assert httpx.post(f"{api.base_url}/v2/videos", json={}).status_code == 401  # no key
    emulator.inject_fault(method="POST", path_prefix="/v2/conversations", status=503)
    assert api.post("/v2/conversations", json={}).status_code == 503
    assert [c["path"] for c in emulator.calls()] == ["/v2/videos", "/v2/conversations"]

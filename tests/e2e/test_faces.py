"""Tavus as it is now, end to end over HTTP: faces under their new names (and the legacy ones where an
account lacks them), phoenix-4.5's preview then tuning, callbacks in both shapes, a consent video that
reaches Tavus, reconciliation after a crash with either list shape, and `model=` on the command."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    create,
    creates,
    rendered,
    until,
    wait_card,
    wait_thread,
    wait_until_quiet,
)

DM = f"D{USER}"  # where the Slack fake puts a DM opened with USER


def polls(tavus: TavusEmulator, face_id: str) -> int:
    return len([c for c in tavus.calls() if c["method"] == "GET" and c["path"].endswith(f"/{face_id}")])


def face(tavus: TavusEmulator) -> dict[str, Any]:
    [only] = tavus.replicas()
    return only


# --- phoenix-4.5: a preview, then tuning --------------------------------------------------------------------


@pytest.mark.parametrize("finetune", ["completed", "errored"])
def test_phoenix_4_5_preview_then_the_end_of_tuning_each_announced_once_across_kill_9(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, finetune: str
) -> None:
    # One path asks on the command, the other through the deployment's setting.
    per_request = finetune == "completed"
    app = start_app() if per_request else start_app(TAVUS_MODEL_NAME="phoenix-4.5")
    tavus.script(ScriptedOutcome("completed", training_seconds=0.5, tuning_seconds=6, finetune=finetune))  # type: ignore[arg-type]
    create(app, images, extra="voice=anna model=phoenix-4.5" if per_request else "voice=anna")
    card = wait_card(slack)
    assert creates(tavus)[0]["json"]["model_name"] == "phoenix-4.5"
    assert creates(tavus)[0]["path"] == "/v2/faces"

    [preview] = wait_thread(slack, card, timeout=20)
    text = rendered(preview)
    assert "usable for conversations" in text and "few hours" in text and "watermark" in text
    face_id = face(tavus)["replica_id"]
    assert face_id in text
    slack.wait_for(lambda: "Preview ready" in rendered(slack.messages(CHANNEL)[0]))
    shown = rendered(slack.messages(CHANNEL)[0])
    assert "watermark" in shown and "Watch the preview" in shown
    dm = slack.wait_for(lambda: slack.messages(DM))[0]
    assert "usable preview" in rendered(dm)
    status = app.sender.command(f"status {face_id}", user_id=USER, channel_id=CHANNEL).json()["text"]
    assert "Preview ready" in status

    # Tuning ends while nobody is watching.
    app.kill9()
    until(lambda: face(tavus).get("finetune_status") == finetune, timeout=15)
    app.start()
    replies = wait_thread(slack, card, count=2, timeout=30)
    ended = rendered(replies[1])
    if finetune == "completed":
        assert "tuned — watermark removed" in ended
        label = "Tuned — watermark removed"
    else:
        assert "preview keeps working" in ended.lower() and "Nothing needs resubmitting" in ended
        assert "new face" in ended
        label = "tuning failed"
    # A card edit the killed worker had claimed comes back when its lease (15 s) runs out.
    slack.wait_for(lambda: label in rendered(slack.messages(CHANNEL)[0]), timeout=30)

    # Killed again and restarted: nothing is said twice, and the face is no longer polled.
    app.kill9()
    app.start()
    wait_until_quiet(slack, tavus, quiet=2)
    seen = polls(tavus, face_id)
    wait_until_quiet(slack, tavus, quiet=2)
    assert polls(tavus, face_id) == seen
    assert len(slack.thread(CHANNEL, card["ts"])) == 2
    assert len(slack.messages(DM)) == 1
    assert len([m for m in slack.messages(CHANNEL) if not m.get("thread_ts")]) == 1


def test_phoenix_4_completed_means_done_in_one_post(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("completed", training_seconds=0.5))
    create(app, images, extra="voice=anna model=phoenix-4")
    card = wait_card(slack)
    assert creates(tavus)[0]["json"]["model_name"] == "phoenix-4"
    [done] = wait_thread(slack, card)
    assert "is ready" in rendered(done)
    wait_until_quiet(slack, quiet=1.5)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1
    assert "Preview" not in rendered(slack.messages(CHANNEL)[0])


# --- model= on the command ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("model=phoenix-9", "not a Tavus model I know"),
        ("model=phoenix-3", "can't be trained from a photo"),
    ],
)
def test_a_model_tavus_cannot_use_for_this_is_refused_and_nothing_is_submitted(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, option: str, expected: str
) -> None:
    response = app.sender.command(
        f"create {images.url}/ana.png voice=anna {option}", user_id=USER, channel_id=CHANNEL
    )
    text = rendered(response.json())
    assert expected in text and "phoenix-4.5" in text
    assert "reference" not in text.lower()
    wait_until_quiet(slack, tavus, quiet=1)
    assert creates(tavus) == []


# --- faces, and accounts without them ----------------------------------------------------------------------


@pytest.mark.parametrize("validation", ["on", "off"])
def test_without_v2_faces_the_legacy_paths_are_used_and_it_is_logged_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, validation: str
) -> None:
    # With Tavus' image check on, its call is the first to meet the missing path; off, the create is.
    app = start_app(TAVUS_IMAGE_VALIDATION=validation)
    tavus.configure(faces_missing=True)
    tavus.script(ScriptedOutcome("completed", training_seconds=1))
    create(app, images)
    card = wait_card(slack)
    wait_thread(slack, card)
    face_id = face(tavus)["replica_id"]
    assert face(tavus)["family"] == "replicas"
    calls = [(c["method"], c["path"], c["status"]) for c in tavus.calls()]
    first = ("POST", "/v2/faces/image-validation" if validation == "on" else "/v2/faces", 404)
    retried = ("POST", first[1].replace("/v2/faces", "/v2/replicas"))
    assert calls[0] == first and calls[1][:2] == retried
    assert creates(tavus)[-1]["json"]["replica_name"] == "Ana Demo"
    # After the one 404, every call goes to the legacy paths: one decision for the process.
    assert [c for c in calls[1:] if c[1].startswith("/v2/faces")] == []
    assert ("GET", f"/v2/replicas/{face_id}", 200) in calls
    create(app, images, name="Second")
    wait_thread(slack, wait_card(slack, "Second"))
    assert len([c for c in tavus.calls() if c["path"].startswith("/v2/faces")]) == 1
    assert app.logs().count("no /v2/faces") == 1


@pytest.mark.parametrize(
    ("shape", "model"), [("replicas", "phoenix-4"), ("faces", "phoenix-4"), ("faces", "phoenix-4.5")]
)
def test_callbacks_in_either_shape_bring_the_news_without_polling(
    start_app: AppFactory,
    slack: SlackFake,
    tavus: TavusEmulator,
    images: StaticServer,
    shape: str,
    model: str,
) -> None:
    app = start_app(POLL_INTERVAL_SECONDS="3600")
    tavus.script(
        ScriptedOutcome("completed", training_seconds=0.5, tuning_seconds=1.5, callback_shape=shape)  # type: ignore[arg-type]
    )
    create(app, images, extra=f"voice=anna model={model}")
    card = wait_card(slack)
    expected = 2 if model == "phoenix-4.5" else 1
    replies = wait_thread(slack, card, count=expected, timeout=15)
    bodies = [c["body"] for c in tavus.callbacks()]
    if shape == "replicas":
        assert bodies == [{"replica_id": face(tavus)["replica_id"], "status": "ready"}]
    else:
        assert all(b["face_id"] == face(tavus)["replica_id"] and "replica_id" not in b for b in bodies)
    assert ("tuned" if expected == 2 else "is ready") in rendered(replies[-1])
    wait_until_quiet(slack, quiet=1.5)
    assert len(slack.thread(CHANNEL, card["ts"])) == expected


def test_a_consent_video_reaches_tavus(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    video = images.put("/faces-train.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x03" * 2048, "video/mp4")
    consent = images.put("/faces-consent.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x04" * 2048, "video/mp4")
    app.sender.command(
        f'create video={video} consent={consent} name="Ana Video"', user_id=USER, channel_id=CHANNEL
    )
    wait_card(slack, "Ana Video")
    # /v2/faces marks consent_video_url deprecated (the emulator ignores it there); /v2/replicas reads it.
    assert face(tavus)["consent_video_url"] == consent
    assert face(tavus)["ignored_fields"] == []
    [call] = creates(tavus)
    assert call["path"] == "/v2/replicas" and call["json"]["replica_name"] == "Ana Video"


@pytest.mark.parametrize("faces_missing", [False, True], ids=["faces-list", "replicas-list"])
def test_kill_9_after_the_create_adopts_the_face_with_either_list_shape(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, faces_missing: bool
) -> None:
    tavus.configure(faces_missing=faces_missing)
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    tavus.script(ScriptedOutcome("error", error_message="PoseNotSuitableError", training_seconds=3))
    tavus.delay_response(
        method="POST", path_prefix="/v2/replicas" if faces_missing else "/v2/faces", seconds=10
    )
    create(app, images, name="Crash Test")
    slack.wait_for(lambda: tavus.replicas())  # Tavus has made it; the app has not heard back
    app.kill9()
    app.start()
    card = wait_card(slack, "Crash Test", timeout=30)
    wait_thread(slack, card, timeout=30)
    lists = [c for c in tavus.calls() if c["method"] == "GET" and c["path"] in ("/v2/faces", "/v2/replicas")]
    assert lists and lists[-1]["path"] == ("/v2/replicas" if faces_missing else "/v2/faces")
    assert len(tavus.replicas()) == 1
    # The delayed answer is logged when it is sent: wait for it, so it does not land in the next test.
    until(lambda: [c for c in creates(tavus) if c["status"] == 200], timeout=15)

"""Photos dropped into Slack, end to end: mention, DM, the modal, the message shortcut, the video path.
The Slack fake serves the uploaded files; the Tavus emulator downloads `train_image_url` from the app like
the real service, and the tests compare the bytes it received with the bytes uploaded."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import pytest

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    DM,
    USER,
    button,
    card_in_thread,
    click,
    creates,
    file_share_event,
    mention_event,
    modal_submission,
    opened_view,
    rendered,
    submitted_image,
    thread_replies,
    upload,
    wait_until_quiet,
)
from tests.images import jpeg, other_format, png, png_declaring


def test_mention_with_a_photo_answers_in_that_messages_thread(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    photo = jpeg(800, 1000)
    message = slack.add_message(
        CHANNEL, '<@UBOT> create voice=anna name="Ana"', files=[upload(slack, photo, "ana.jpg", "image/jpeg")]
    )
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=1.5))
    assert app.sender.event(mention_event(message, message["text"])).status_code == 200

    card = card_in_thread(slack, CHANNEL, message["ts"])
    assert "Ana" in rendered(card)
    assert submitted_image(tavus) == photo
    body = creates(tavus)[0]["json"]
    assert body["voice_name"] == "anna" and body["face_name"] == "Ana"
    assert body["train_image_url"].startswith(f"{app.url}/media/")
    replies = thread_replies(slack, CHANNEL, message["ts"], count=2)
    assert "Headphones" in rendered(replies[-1])
    assert f"<@{USER}>" in rendered(replies[-1])


def test_dm_with_a_photo_answers_in_the_dm_thread(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    photo = png(700, 700)
    message = slack.add_message(DM, 'voice=liam name="Leo"', files=[upload(slack, photo)])
    app.sender.event(file_share_event(message, DM, message["text"], "im"))
    card = card_in_thread(slack, DM, message["ts"])
    assert "Leo" in rendered(card)
    assert submitted_image(tavus) == photo
    assert creates(tavus)[0]["json"]["voice_name"] == "liam"


def test_create_without_a_link_opens_the_modal_and_submits_the_uploaded_photo(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    response = app.sender.command("create", user_id=USER, channel_id=CHANNEL)
    assert response.status_code == 200
    view = opened_view(slack)
    kinds = [b.get("element", {}).get("type") for b in view["blocks"] if b["type"] == "input"]
    assert kinds == [
        "file_input", "plain_text_input", "static_select", "radio_buttons", "users_select", "checkboxes"
    ]

    photo = png(640, 640)
    result = app.sender.interaction(modal_submission(view, files=[upload(slack, photo)]))
    assert result.status_code == 200
    card = slack.wait_for(lambda: next((m for m in slack.messages(CHANNEL) if not m.get("thread_ts")), None))
    assert "Ana Modal" in rendered(card)
    assert submitted_image(tavus) == photo


def test_the_modal_requires_the_rights_checkbox(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app.sender.command("create", user_id=USER, channel_id=CHANNEL)
    view = opened_view(slack)
    response = app.sender.interaction(
        modal_submission(view, files=[upload(slack, png(640, 640))], rights=False)
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert "rights" in answer["errors"]
    no_photo = app.sender.interaction(modal_submission(view, files=[]))
    assert "photo" in no_photo.json()["errors"]
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


def test_message_shortcut_opens_the_modal_with_that_photo_and_answers_in_its_thread(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    photo = png(900, 900)
    message = slack.add_message(CHANNEL, "here's my headshot", files=[upload(slack, photo)])
    app.sender.interaction(
        {
            "type": "message_action",
            "callback_id": "create_replica",
            "trigger_id": "trig-3",
            "user": {"id": USER},
            "channel": {"id": CHANNEL},
            "team": {"id": "T0001"},
            "message": message,
            "message_ts": message["ts"],
            "response_url": slack.response_url(),
        }
    )
    view = opened_view(slack)
    assert not any(b.get("element", {}).get("type") == "file_input" for b in view["blocks"])
    assert "ana.png" in json.dumps(view["blocks"])
    app.sender.interaction(modal_submission(view, files=None, name="From Shortcut"))
    card = card_in_thread(slack, CHANNEL, message["ts"])
    assert "From Shortcut" in rendered(card)
    assert submitted_image(tavus) == photo


def test_shortcut_on_a_message_without_a_photo_says_so(app: AppProcess, slack: SlackFake) -> None:
    message = slack.add_message(CHANNEL, "no picture here")
    app.sender.interaction(
        {
            "type": "message_action",
            "callback_id": "create_replica",
            "trigger_id": "trig-4",
            "user": {"id": USER},
            "channel": {"id": CHANNEL},
            "message": message,
            "message_ts": message["ts"],
        }
    )
    ephemeral = slack.wait_for(lambda: slack.ephemerals(CHANNEL))
    assert "no photo" in ephemeral[0]["text"]
    assert slack.calls("views.open") == []


def test_video_with_consent_video_is_submitted_as_the_video_path(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: Any
) -> None:
    video = images.put("/train.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2048, "video/mp4")
    consent = images.put("/consent.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 2048, "video/mp4")
    app.sender.command(
        f'create video={video} consent={consent} name="Ana Video"', user_id=USER, channel_id=CHANNEL
    )
    slack.wait_for(lambda: [m for m in slack.messages(CHANNEL) if "Ana Video" in m.get("text", "")])
    body = creates(tavus)[0]["json"]
    assert body["train_video_url"] == video and body["consent_video_url"] == consent
    assert "train_image_url" not in body and "voice_name" not in body


def test_video_without_consent_asks_first_and_submits_only_after_confirmation(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: Any
) -> None:
    video = images.put("/train2.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x02" * 2048, "video/mp4")
    app.sender.command(f'create video={video} name="Ana Consent"', user_id=USER, channel_id=CHANNEL)
    question = slack.wait_for(lambda: slack.ephemerals(CHANNEL))[0]
    assert "consent statement" in rendered(question)
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    confirm = button(question, "confirm_request")
    # Someone else cannot confirm for the requester.
    click(app, confirm, user="U999", response_url=slack.response_url())
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    click(app, confirm, response_url=slack.response_url())
    click(app, confirm, response_url=slack.response_url())  # a double click submits once
    slack.wait_for(lambda: [m for m in slack.messages(CHANNEL) if "Ana Consent" in m.get("text", "")])
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 1
    assert creates(tavus)[0]["json"]["train_video_url"] == video


# --- one upload, one replica ------------------------------------------------------------------------------


def test_three_deliveries_of_one_upload_make_one_replica(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    message = slack.add_message(CHANNEL, "<@UBOT> voice=anna", files=[upload(slack, png(640, 640))])
    event_id = f"Ev{secrets.token_hex(4)}"
    app.sender.event(mention_event(message, message["text"]), event_id=event_id)
    app.sender.event(file_share_event(message, CHANNEL, message["text"], "channel"))
    app.sender.event(
        mention_event(message, message["text"]), event_id=event_id, retry_num=1, retry_reason="http_timeout"
    )
    card_in_thread(slack, CHANNEL, message["ts"])
    wait_until_quiet(slack, quiet=1.5)
    assert len(creates(tavus)) == 1
    assert len([m for m in slack.thread(CHANNEL, message["ts"]) if "Replica request" in m["text"]]) == 1


# --- refusals: explained in the thread, nothing reaches Tavus --------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (png(300, 300), "small.png", "512"),
        (other_format("GIF"), "anim.gif", "GIF"),
        (b"definitely not a photo\n" * 40, "text.png", "isn't a picture"),
        (png_declaring(20000, 20000), "bomb.png", "pixels"),
        (png(511, 4000), "tall.png", "511"),
    ],
    ids=["too-small", "gif", "text-named-png", "decompression-bomb", "511x4000"],
)
def test_bad_uploads_are_refused_in_the_thread(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, content: bytes, name: str, expected: str
) -> None:
    message = slack.add_message(CHANNEL, "<@UBOT> voice=anna", files=[upload(slack, content, name)])
    app.sender.event(mention_event(message, message["text"]))
    reply = thread_replies(slack, CHANNEL, message["ts"])[0]
    assert "I did not send this to Tavus" in reply["text"]
    assert expected.lower() in reply["text"].lower()
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


def test_slack_sign_in_page_is_reported_as_an_operator_problem(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    slack.files_read_scope = False
    message = slack.add_message(CHANNEL, "<@UBOT> voice=anna", files=[upload(slack, png(640, 640))])
    app.sender.event(mention_event(message, message["text"]))
    reply = thread_replies(slack, CHANNEL, message["ts"])[0]
    assert "sign-in page" in reply["text"] and "files:read" in reply["text"]
    assert creates(tavus) == []


def test_media_urls_are_unguessable_and_unknown_tokens_404(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    message = slack.add_message(CHANNEL, "<@UBOT> voice=anna", files=[upload(slack, png(640, 640))])
    app.sender.event(mention_event(message, message["text"]))
    submitted_image(tavus)
    url = creates(tavus)[0]["json"]["train_image_url"]
    token = url.rsplit("/", 1)[-1]
    assert len(token) >= 43  # 256 bits, url-safe
    assert httpx.get(url).status_code == 200
    assert httpx.get(f"{app.url}/media/{secrets.token_urlsafe(32)}").status_code == 404
    assert httpx.get(f"{app.url}/media/{token[:-1]}").status_code == 404


def test_expired_media_urls_404(start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator) -> None:
    app = start_app(MEDIA_URL_TTL_HOURS="0.0003")  # about one second
    message = slack.add_message(CHANNEL, "<@UBOT> voice=anna", files=[upload(slack, png(640, 640))])
    app.sender.event(mention_event(message, message["text"]))
    submitted_image(tavus)
    url = creates(tavus)[0]["json"]["train_image_url"]
    time.sleep(1.5)
    assert httpx.get(url).status_code == 404

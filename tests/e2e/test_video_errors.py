"""Video-training failures end to end over HTTP: every documented video error text (read from the reference
table) fails a video request in the Tavus emulator and is explained in its card's thread, in our words,
with the video requirements, a mention of the requester and a retry; and `/replica explain` and
`/replica errors` know them. One app serves every request, so the 27 texts cost one start."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.video_catalogue import VIDEO_REQUIREMENTS, consent_statement, tavus_key
from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppProcess
from tests.e2e.helpers import (
    CATALOGUE,
    CHANNEL,
    USER,
    button,
    click,
    opened_view,
    rendered,
    wait_card,
    wait_thread,
    wait_until_quiet,
)
from tests.paths import SHARED

REFERENCE = SHARED / "reference" / "tavus-video-errors.md"
_ROW = re.compile(r"^\|\s*`(?P<key>[^`]+)`\s*\|\s*(?P<message>.+?)\s*\|\s*$")
VIDEO_PAGE = "https://docs.tavus.io/sections/replica/train-with-a-video"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2048


def _rows() -> list[tuple[str, str]]:
    assert REFERENCE.is_file(), f"the video error reference is missing: {REFERENCE}"
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    return [(m["key"], m["message"]) for line in lines if (m := _ROW.match(line))]


ROWS = _rows()


def _replica_named(tavus: TavusEmulator, name: str) -> str:
    return next(
        r.get("replica_id") or r["face_id"]
        for r in tavus.replicas()
        if (r.get("replica_name") or r.get("face_name")) == name
    )


def test_every_video_error_text_is_explained_in_the_cards_thread(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    assert len(ROWS) == 27
    video = images.put("/train.mp4", MP4, "video/mp4")
    consent = images.put("/consent.mp4", MP4, "video/mp4")
    names = {key: f"Vid {n:02d} Ana" for n, (key, _) in enumerate(ROWS, start=1)}
    for key, message in ROWS:
        tavus.script(
            ScriptedOutcome("error", error_message=message, training_seconds=1, match_name=names[key])
        )
        response = app.sender.command(
            f'create video={video} consent={consent} name="{names[key]}"', user_id=USER, channel_id=CHANNEL
        )
        assert response.status_code == 200, response.text
    # The emulator's own marker: a documented text chosen by the link, with nothing scripted.
    marked = f'create video={video}#tavus_error=video_fps consent={consent} name="Vid Marked"'
    assert app.sender.command(marked, user_id=USER, channel_id=CHANNEL).status_code == 200

    for key, _ in [*ROWS, ("video_fps", "")]:
        name = names[key] if _ else "Vid Marked"
        entry = CATALOGUE.lookup(key)
        assert entry is not None and entry.video
        card = wait_card(slack, name, timeout=60)
        text = rendered(wait_thread(slack, card, timeout=60)[0])
        assert f"<@{USER}>" in text, key
        assert name in text
        assert entry.title in text and entry.explanation in text, key
        assert all(step in text for step in entry.advice), key
        assert VIDEO_REQUIREMENTS in text and VIDEO_PAGE in text
        assert f"`{tavus_key(key)}`" in text
        assert _replica_named(tavus, name) in text
        assert "Retry with a new video" in text
        if key == "consent_phrase_mismatch":
            assert consent_statement(name) in text
            assert f"I, {name}, am currently speaking and consent Tavus" in text
        if key == "quality_issue_detected":
            assert "Tavus support: developer-support@tavus.io" in text
        if key == "other_quality_issue":
            assert "Tavus support: support@tavus.io" in text and "developer-support" not in text

    # Every card ends on "failed": card edits are paced by chat.update's budget and go after the outcome
    # posts, so the last of 28 can come half a minute after its thread post.
    for name in [*names.values(), "Vid Marked"]:
        slack.wait_for(lambda name=name: "failed" in rendered(wait_card(slack, name)).lower(), timeout=120)
    # Each failure is posted once, however long we wait.
    wait_until_quiet(slack, quiet=1.5)
    for name in [*names.values(), "Vid Marked"]:
        card = wait_card(slack, name)
        assert len(slack.thread(CHANNEL, card["ts"])) == 1, name
        assert "failed" in rendered(card).lower(), name


def test_explain_and_errors_cover_the_video_errors(app: AppProcess, slack: SlackFake) -> None:
    def ask(text: str) -> str:
        response = app.sender.command(text, user_id=USER, channel_id=CHANNEL)
        assert response.status_code == 200
        return str(response.json()["text"])

    fps = CATALOGUE.lookup("video_fps")
    assert fps is not None
    by_key = ask("explain video_fps")
    assert fps.explanation in by_key and fps.advice[0] in by_key
    assert VIDEO_REQUIREMENTS in by_key and VIDEO_PAGE in by_key

    rows = dict(ROWS)
    hands = CATALOGUE.lookup("hands_obstructing_face")
    assert hands is not None
    pasted = ask(f"explain {rows['hands_obstructing_face']}")
    assert hands.explanation in pasted and VIDEO_PAGE in pasted

    consent = ask("explain consent_phrase_mismatch")
    assert "I, [FULL NAME], am currently speaking and consent Tavus to create an AI clone of me" in consent

    quality = ask(f"explain {rows['quality_issue_detected']}")
    assert "developer-support@tavus.io" in quality

    errors = ask("errors")
    for entry in CATALOGUE.entries() + CATALOGUE.video_entries():
        assert f"`{entry.code}`" in errors
    assert len(errors) <= 3000


def _video_form_submission(view: dict[str, Any], video: str | None, consent: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "video": {"value": {"type": "url_text_input", "value": video}},
        "consent": {"value": {"type": "url_text_input", "value": consent}},
        "name": {"value": {"type": "plain_text_input", "value": "Ana Retake"}},
        "rights": {"value": {"type": "checkboxes", "selected_options": [{"value": "affirmed"}]}},
    }
    return {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": USER},
        "trigger_id": "trig-video",
        "view": {
            "id": view.get("id", "V1"),
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": values},
        },
    }


def test_retrying_a_failed_video_asks_for_a_new_recording(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    video = images.put("/take1.mp4", MP4, "video/mp4")
    consent = images.put("/consent1.mp4", MP4, "video/mp4")
    retake = images.put("/take2.mp4", MP4 + b"\x01", "video/mp4")
    tavus.script(
        ScriptedOutcome("error", error_message=dict(ROWS)["consent_phrase_mismatch"], training_seconds=0.5)
    )
    tavus.script(ScriptedOutcome("completed", training_seconds=0.5))
    command = f'create video={video} consent={consent} name="Ana Take"'
    assert app.sender.command(command, user_id=USER, channel_id=CHANNEL).status_code == 200
    card = wait_card(slack, "Ana Take")
    failure = wait_thread(slack, card)[0]
    retry = button(failure, "retry_request")
    assert retry["text"]["text"] == "Retry with a new video"
    click(app, retry)

    view = opened_view(slack)
    assert view["title"]["text"] == "Retry with a new video"
    text = rendered({"blocks": view["blocks"]})
    assert "new recording" in text and VIDEO_REQUIREMENTS in text
    assert consent_statement("Ana Take") in text
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["video"]["element"]["type"] == "url_text_input"
    assert blocks["consent"]["element"]["initial_value"] == consent
    assert blocks["name"]["element"]["initial_value"] == "Ana Take"

    # No link to a new video: the form says so and nothing is submitted.
    refused = app.sender.interaction(_video_form_submission(view, None, consent))
    assert refused.status_code == 200 and "video" in refused.json()["errors"]
    wait_until_quiet(slack, tavus)
    assert len(tavus.replicas()) == 1

    submitted = app.sender.interaction(_video_form_submission(view, retake, consent))
    assert submitted.status_code == 200
    new_card = wait_card(slack, "Ana Retake")
    assert "Retry of" in rendered(new_card)
    until_two = slack.wait_for(lambda: len(tavus.replicas()) == 2 and tavus.replicas())
    assert until_two[1]["train_video_url"] == retake
    assert until_two[1]["consent_video_url"] == consent

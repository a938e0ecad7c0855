"""Tavus' own image check before anything is submitted, end to end: the app process asks the Tavus emulator
(whose check ids mean nothing, so the app must understand the labels), one message in the thread lists
every failed check in the catalogue's words, and each button does what it says, once."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalogue import Catalogue
from bot.sandbox.image_validation import FACES_PATH, LEGACY_PATH
from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    button,
    card_in_thread,
    click,
    creates,
    mention_event,
    opened_view,
    rendered,
    until,
    upload,
    wait_until_quiet,
)
from tests.images import at_least_512, photo, two_up
from tests.images import photo_jpeg as jpeg

CATALOGUE = Catalogue()
ADMIN = "UADMIN1"
OTHER = "U999"
FIX, ANYWAY, ANOTHER = "photo_let_tavus_fix", "photo_submit_anyway", "photo_use_another"
UNAVAILABLE_LINE = "Tavus' image check is unavailable"


def portrait() -> bytes:
    return jpeg(at_least_512(photo("grace_hopper")))


def entry(code: str) -> Any:
    found = CATALOGUE.lookup(code)
    assert found is not None
    return found


def mention_with(slack: SlackFake, app: AppProcess, content: bytes, name: str = "Checked") -> dict[str, Any]:
    message = slack.add_message(
        CHANNEL,
        f'<@UBOT> voice=anna name="{name}"',
        files=[upload(slack, content, "photo.jpg", "image/jpeg")],
    )
    app.sender.event(mention_event(message, message["text"]))
    return message


def first_reply(slack: SlackFake, message: dict[str, Any]) -> dict[str, Any]:
    return slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"]), timeout=20)[0]


def validations(tavus: TavusEmulator, path: str | None = None) -> list[dict[str, Any]]:
    paths = (path,) if path else (FACES_PATH, LEGACY_PATH)
    return [c for c in tavus.calls() if c["method"] == "POST" and c["path"] in paths]


def stored(tmp_path: Path, column: str) -> list[Any]:
    with sqlite3.connect(tmp_path / "replica_bot.db") as db:
        return [row[0] for row in db.execute(f"SELECT {column} FROM replica_request ORDER BY id")]


# --- a failed check: nothing submitted, one message in our words --------------------------------------------


def test_a_failed_check_submits_nothing_and_lists_every_failed_check_in_catalogue_words(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, tmp_path: Path
) -> None:
    app = start_app()
    tavus.validation.script(failed=["one_person", "headphones"])
    content = portrait()
    message = mention_with(slack, app, content)
    reply = first_reply(slack, message)
    text = rendered(reply)
    for code in ("Phx4MultipleForegroundPeopleError", "HeadphonesError"):
        assert entry(code).title in text and entry(code).explanation in text
        assert entry(code).guideline_url in text
    assert "nothing was submitted" in text.lower()
    assert button(reply, ANOTHER)["text"]["text"] == "Use another photo"
    assert button(reply, ANYWAY)["text"]["text"] == "Submit anyway"
    with pytest.raises(AssertionError):
        button(reply, FIX)  # several people, headphones: not the fixer's job
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    assert len(slack.thread(CHANNEL, message["ts"])) == 1
    (call,) = validations(tavus)
    assert call["path"] == FACES_PATH
    body = call["json"]
    assert base64.b64decode(body["imageBase64"]) == content
    assert body["mimeType"] == "image/jpeg" and body["model"] == "phoenix-4"
    assert stored(tmp_path, "status") == ["awaiting_confirmation"]
    assert '"passed":false' in stored(tmp_path, "tavus_verdict")[0]


def test_a_link_is_checked_with_the_model_the_face_will_be_trained_with(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: Any
) -> None:
    # The request's own model wins over the deployment's.
    app = start_app(TAVUS_MODEL_NAME="phoenix-4")
    tavus.validation.script(failed=["quality"])
    response = app.sender.command(
        f'create {images.url}/ana.png voice=anna name="Linked" model=phoenix-4.5',
        user_id=USER,
        channel_id=CHANNEL,
    )
    assert response.status_code == 200
    answer = slack.wait_for(lambda: slack.ephemerals(CHANNEL), timeout=20)[0]
    assert entry("ImageQualityError").title in rendered(answer)
    assert button(answer, FIX) and button(answer, ANYWAY) and button(answer, ANOTHER)
    (call,) = validations(tavus)
    assert call["json"]["model"] == "phoenix-4.5" and call["json"]["mimeType"] == "image/png"
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


def test_a_check_no_documented_code_matches_is_shown_with_tavus_label_and_logged_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app()
    strange = {"id": "vx-omega", "label": "Background is a plain wall", "passed": False}
    tavus.validation.script(extra=[strange], count=2)
    first = first_reply(slack, mention_with(slack, app, portrait(), "One"))
    assert "Background is a plain wall" in rendered(first)
    assert button(first, ANYWAY) and button(first, ANOTHER)
    with pytest.raises(AssertionError):
        button(first, FIX)  # unknown: not known to be fixable
    first_reply(slack, mention_with(slack, app, portrait(), "Two"))
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    unknown = [line for line in app.logs().splitlines() if "vx-omega" in line and "no documented" in line]
    assert len(unknown) == 1


# --- the buttons --------------------------------------------------------------------------------------------


def test_let_tavus_fix_it_submits_once_with_the_fixer_and_the_face_trains(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, tmp_path: Path
) -> None:
    app = start_app()
    tavus.validation.script(failed=["quality", "centred", "gaze"])
    # Trained as it is, this photo would fail; fixed, it trains.
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    message = mention_with(slack, app, portrait())
    reply = first_reply(slack, message)
    fix = button(reply, FIX)
    assert fix["text"]["text"] == "Let Tavus fix it"
    click(app, fix, response_url=slack.response_url())
    click(app, fix, response_url=slack.response_url())
    card = card_in_thread(slack, CHANNEL, message["ts"])
    wait_until_quiet(slack, tavus)
    (create,) = creates(tavus)
    assert create["json"]["auto_fix_training_image"] is True
    slack.wait_for(lambda: "Ready" in rendered(next(
        m for m in slack.thread(CHANNEL, message["ts"]) if m["ts"] == card["ts"]
    )), timeout=20)
    assert tavus.validation.fixed == 1
    assert stored(tmp_path, "photo_choice") == ["auto_fix"]
    assert stored(tmp_path, "photo_choice_by") == [USER]


def test_submit_anyway_is_the_requesters_or_an_admins_choice_once_and_recorded(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, tmp_path: Path
) -> None:
    app = start_app(ADMIN_USER_IDS=ADMIN)
    tavus.validation.script(failed=["quality"])
    message = mention_with(slack, app, portrait())
    anyway = button(first_reply(slack, message), ANYWAY)

    click(app, anyway, user=OTHER, response_url=slack.response_url())
    refusal = slack.wait_for(lambda: [e for e in slack.ephemerals(CHANNEL) if e["user"] == OTHER])[0]
    assert f"<@{USER}>" in refusal["text"] and "admin" in refusal["text"]
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []

    click(app, anyway, user=ADMIN, response_url=slack.response_url())
    click(app, anyway, user=ADMIN, response_url=slack.response_url())
    card_in_thread(slack, CHANNEL, message["ts"])
    wait_until_quiet(slack, tavus)
    (create,) = creates(tavus)
    assert "auto_fix_training_image" not in create["json"]
    assert stored(tmp_path, "photo_choice") == ["anyway"]
    assert stored(tmp_path, "photo_choice_by") == [ADMIN]
    assert stored(tmp_path, "photo_choice_at")[0] is not None


def test_use_another_photo_opens_the_prefilled_form_and_submits_nothing(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app()
    tavus.validation.script(failed=["one_person"])
    message = mention_with(slack, app, portrait(), "Ana Retry")
    reply = first_reply(slack, message)
    click(app, button(reply, ANOTHER), response_url=slack.response_url())
    view = opened_view(slack)
    assert view["title"]["text"] == "Retry with a new photo"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["name"]["element"]["initial_value"] == "Ana Retry"
    assert blocks["voice"]["element"]["initial_option"]["value"] == "anna"
    assert '"retry_of": ' in view["private_metadata"]
    # Too late for this photo now: it was set aside.
    click(app, button(reply, ANYWAY), response_url=slack.response_url())
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


def test_let_tavus_fix_it_is_never_offered_for_what_the_fixer_cannot_mend(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app()
    for index, name in enumerate(("one_person", "adult", "celebrity", "human", "uncovered")):
        # Even beside a problem it could fix.
        tavus.validation.script(failed=["quality", name])
        reply = first_reply(slack, mention_with(slack, app, portrait(), f"Case {index}"))
        assert button(reply, ANYWAY)
        with pytest.raises(AssertionError):
            button(reply, FIX)
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


# --- both checks, one message -------------------------------------------------------------------------------


def test_the_offline_check_and_tavus_answer_in_one_message_and_say_a_shared_finding_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app(PREFLIGHT_FACES="advisory")
    grace = photo("grace_hopper")
    tavus.validation.script(failed=["one_person"])
    message = mention_with(slack, app, jpeg(at_least_512(two_up(grace, grace))))
    reply = first_reply(slack, message)
    wait_until_quiet(slack, tavus)
    assert len(slack.thread(CHANNEL, message["ts"])) == 1
    text = rendered(reply)
    two_people = entry("Phx4MultipleForegroundPeopleError")
    blocks_text = "\n".join(b["text"]["text"] for b in reply["blocks"] if b.get("type") == "section")
    assert blocks_text.count(two_people.title) == 1
    assert blocks_text.count(two_people.explanation) == 1
    assert "2 faces" in text  # what the offline check measured, in the same line
    assert button(reply, ANYWAY) and button(reply, ANOTHER)
    assert creates(tavus) == []


# --- Tavus' check unavailable: the request goes on ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["timeout", "error", "missing"])
def test_when_tavus_check_is_down_requests_go_on_with_one_log_line(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, mode: str
) -> None:
    app = start_app(TAVUS_IMAGE_VALIDATION_TIMEOUT_SECONDS="1")
    tavus.validation.outage(mode, seconds=3)  # type: ignore[arg-type]
    tavus.validation.script(failed=["one_person"], count=5)  # never reached
    for message in [mention_with(slack, app, portrait(), name) for name in ("First", "Second")]:
        card = card_in_thread(slack, CHANNEL, message["ts"])
        assert slack.thread(CHANNEL, message["ts"])[0]["ts"] == card["ts"]  # no message before the card
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 2
    until(lambda: validations(tavus))  # it was asked (a timed-out call is logged when it ends)
    assert sum(UNAVAILABLE_LINE in line for line in app.logs().splitlines()) == 1


def test_without_the_new_path_the_legacy_one_is_used_and_remembered(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app()
    tavus.validation.outage("missing", paths=["faces"])
    tavus.validation.script(failed=["headphones"], count=2)
    for name in ("One", "Two"):
        reply = first_reply(slack, mention_with(slack, app, portrait(), name))
        assert entry("HeadphonesError").title in rendered(reply)
    wait_until_quiet(slack, tavus)
    assert len(validations(tavus, FACES_PATH)) == 1
    assert len(validations(tavus, LEGACY_PATH)) == 2
    assert UNAVAILABLE_LINE not in app.logs()
    # One decision for the process, shared with the face calls, and logged once.
    assert app.logs().count("no /v2/faces") == 1


def test_switched_off_tavus_is_not_asked(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app(TAVUS_IMAGE_VALIDATION="off")
    tavus.validation.script(failed=["one_person"])
    message = mention_with(slack, app, portrait())
    card_in_thread(slack, CHANNEL, message["ts"])
    wait_until_quiet(slack, tavus)
    assert validations(tavus) == []
    assert len(creates(tavus)) == 1


def test_a_passing_check_submits_at_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, tmp_path: Path
) -> None:
    app = start_app()
    message = mention_with(slack, app, portrait())
    card_in_thread(slack, CHANNEL, message["ts"])
    wait_until_quiet(slack, tavus)
    assert len(validations(tavus)) == 1 and len(creates(tavus)) == 1
    assert '"passed":true' in stored(tmp_path, "tavus_verdict")[0]


# --- how often each check agreed with training ------------------------------------------------------------


def test_stats_show_how_often_each_check_agreed_with_training(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, tmp_path: Path
) -> None:
    app = start_app()
    tavus.validation.script(failed=["headphones"])
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=0.3))
    message = mention_with(slack, app, portrait())
    click(app, button(first_reply(slack, message), ANYWAY), response_url=slack.response_url())
    slack.wait_for(lambda: len(slack.thread(CHANNEL, message["ts"])) >= 3, timeout=20)  # ask, card, failure
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TAVUS_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'replica_bot.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "stats"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Tavus' image check agreed:   1 of 1 (100%)" in result.stdout
    assert "tavus HeadphonesError — 1 of 1 (100%)" in result.stdout

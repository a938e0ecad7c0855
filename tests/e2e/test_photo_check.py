"""The offline photo check in the request flow, end to end: real photographs uploaded to the Slack fake,
the advisory in the upload's thread, and nothing submitted until the requester chooses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.domain.catalogue import Catalogue
from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory
from tests.e2e.helpers import (
    CHANNEL,
    button,
    card_in_thread,
    click,
    creates,
    mention_event,
    rendered,
    submitted_image,
    upload,
    wait_until_quiet,
)
from tests.images import at_least_512, photo, two_up
from tests.images import photo_jpeg as jpeg

CATALOGUE = Catalogue()
TWO_PEOPLE = CATALOGUE.lookup("Phx4MultipleForegroundPeopleError")


def two_faces() -> bytes:
    grace = photo("grace_hopper")
    return jpeg(at_least_512(two_up(grace, grace)))


def clean_portrait() -> bytes:
    return jpeg(at_least_512(photo("grace_hopper")))


def mention_with(slack: SlackFake, app: Any, content: bytes) -> dict[str, Any]:
    message = slack.add_message(
        CHANNEL,
        '<@UBOT> voice=anna name="Checked"',
        files=[upload(slack, content, "photo.jpg", "image/jpeg")],
    )
    app.sender.event(mention_event(message, message["text"]))
    return message


def test_two_faces_get_the_advisory_and_are_submitted_only_after_submit_anyway(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app(PREFLIGHT_FACES="advisory")
    photo_bytes = two_faces()
    message = mention_with(slack, app, photo_bytes)
    advisory = slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"]), timeout=20)[0]
    text = rendered(advisory)
    assert TWO_PEOPLE is not None
    assert TWO_PEOPLE.title in text and TWO_PEOPLE.explanation in text and TWO_PEOPLE.guideline_url in text
    assert "2 faces" in text or "two" in text.lower()
    assert button(advisory, "confirm_request")["text"]["text"] == "Submit anyway"
    assert button(advisory, "cancel_request")["text"]["text"] == "Use another photo"
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []

    click(app, button(advisory, "confirm_request"), response_url=slack.response_url())
    card_in_thread(slack, CHANNEL, message["ts"])
    assert submitted_image(tavus) == photo_bytes
    assert len(creates(tavus)) == 1


def test_use_another_photo_submits_nothing(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app(PREFLIGHT_FACES="advisory")
    message = mention_with(slack, app, two_faces())
    advisory = slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"]), timeout=20)[0]
    click(app, button(advisory, "cancel_request"), response_url=slack.response_url())
    slack.wait_for(lambda: any("Nothing was sent" in str(p["body"]) for p in slack.response_url_posts()))
    click(
        app, button(advisory, "confirm_request"), response_url=slack.response_url()
    )  # too late: cancelled requests stay cancelled
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


def test_strict_mode_refuses_with_the_catalogue_words(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app(PREFLIGHT_FACES="strict")
    message = mention_with(slack, app, two_faces())
    refusal = slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"]), timeout=20)[0]
    assert "I did not send this to Tavus" in rendered(refusal)
    assert TWO_PEOPLE is not None and TWO_PEOPLE.title in rendered(refusal)
    assert not any(b["type"] == "actions" for b in refusal["blocks"])
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


def test_a_clean_portrait_goes_straight_through(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app(PREFLIGHT_FACES="advisory")
    portrait = clean_portrait()
    message = mention_with(slack, app, portrait)
    card_in_thread(slack, CHANNEL, message["ts"])
    assert submitted_image(tavus) == portrait


def test_stats_compare_findings_with_tavus_outcomes(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, tmp_path: Path
) -> None:
    app = start_app(PREFLIGHT_FACES="advisory")
    tavus.script(
        ScriptedOutcome("error", error_message="Phx4MultipleForegroundPeopleError", training_seconds=0.5)
    )
    message = mention_with(slack, app, two_faces())
    advisory = slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"]), timeout=20)[0]
    click(app, button(advisory, "confirm_request"), response_url=slack.response_url())
    slack.wait_for(
        lambda: len(slack.thread(CHANNEL, message["ts"])) >= 3, timeout=20
    )  # advisory, card, failure
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TAVUS_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'replica_bot.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "stats"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "warned, Tavus rejected:        1 (same reason: 1)" in result.stdout
    assert "multiple_faces — 1 / 0" in result.stdout

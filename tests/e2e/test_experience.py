"""Issue 6 (and the DM fallback of issue 4) end to end over HTTP: progress and the photo on the card, the App
Home tab, retry from the failure post into a prefilled form and a new request linked to the old one, the
requester's DM with a permalink, a channel that refuses posts for good, and the text replies."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.domain.catalogue import Catalogue
from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    button,
    create,
    creates,
    modal_submission,
    opened_view,
    rendered,
    upload,
    wait_card,
    wait_thread,
    wait_until_quiet,
)
from tests.images import png

CATALOGUE = Catalogue()
ADMIN = "UADMIN1"
OTHER = "U999"
DM = f"D{USER}"  # where the Slack fake puts a DM opened with USER
PERMALINK = "https://fake.slack.com/archives"
BAR = re.compile(r"[▓░]{10} \d{1,3}%")


@pytest.fixture
def app(start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator) -> AppProcess:
    return start_app(ADMIN_USER_IDS=ADMIN, REQUIRE_CONSENT_CONFIRMATION="false")


def cards(slack: SlackFake, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if not m.get("thread_ts") and "Replica request" in m["text"]]


def click(app: AppProcess, user: str, action: dict[str, Any], **where: Any) -> None:
    payload = {"type": "block_actions", "user": {"id": user}, "actions": [action], "trigger_id": "trig-9"}
    response = app.sender.interaction(payload | where)
    assert response.status_code == 200, response.text




def home_opened(app: AppProcess, user: str) -> None:
    event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home", "event_ts": "1.2"}
    assert app.sender.event(event).status_code == 200


def latest_home(slack: SlackFake, user: str, after: int = 0) -> dict[str, Any]:
    published = slack.wait_for(lambda: (views := slack.home_views(user)) and len(views) > after and views)
    return published[-1]["view"]


def home_text(view: dict[str, Any]) -> str:
    return rendered({"text": "", "blocks": view["blocks"]})


# --- the card ----------------------------------------------------------------------------------------------


def test_progress_and_the_photo_reach_the_card_and_the_home_tab_follows(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("completed", training_seconds=3))
    create(app, images)
    card = wait_card(slack)
    assert card["blocks"][0]["accessory"]["image_url"] == f"{images.url}/ana.png"

    # Progress arrives as edits of the same card, with a bar and a percentage.
    update = slack.wait_for(
        lambda: next((c for c in slack.calls("chat.update") if BAR.search(rendered(c["params"]))), None)
    )
    assert update["params"]["ts"] == card["ts"]
    assert "usually 3–4 h" in rendered(update["params"])
    slack.wait_for(lambda: "Ready" in rendered(slack.messages(CHANNEL)[0]))
    assert len(cards(slack)) == 1

    # The requester's Home tab was republished as the card changed, without them opening it.
    view = slack.wait_for(lambda: (h := slack.home_views(USER)) and "Ready" in home_text(h[-1]["view"]) and h)
    assert "Ana Demo" in home_text(view[-1]["view"])


# --- App Home ----------------------------------------------------------------------------------------------


def test_home_tab_shows_the_users_requests_and_admins_filter_everyones(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=0.3))
    tavus.script(ScriptedOutcome("completed", training_seconds=0.3))
    create(app, images, name="Mine Failed")
    wait_thread(slack, wait_card(slack, "Mine Failed"))
    app.sender.command(
        f'create {images.url}/ana.png voice=liam name="Theirs Done"', user_id=OTHER, channel_id=CHANNEL
    )
    slack.wait_for(lambda: "Ready" in rendered(wait_card(slack, "Theirs Done")))

    seen = len(slack.home_views(USER))
    home_opened(app, USER)
    mine = latest_home(slack, USER, after=seen)
    text = home_text(mine)
    assert "Mine Failed" in text and "Theirs Done" not in text
    assert CATALOGUE.lookup("HeadphonesError").title in text  # type: ignore[union-attr]
    retry = button(mine, "retry_request")
    assert retry["text"]["text"] == "Retry with a new photo"
    with pytest.raises(AssertionError):
        button(mine, "home_filter_")

    home_opened(app, ADMIN)
    everyone = latest_home(slack, ADMIN)
    assert "Mine Failed" in home_text(everyone) and "Theirs Done" in home_text(everyone)
    assert f"<@{OTHER}>" in home_text(everyone)

    failed_filter = button(everyone, "home_filter_failed")
    click(app, ADMIN, failed_filter, view={"id": "V1", "type": "home"}, container={"type": "view"})
    filtered = latest_home(slack, ADMIN, after=1)
    assert "Mine Failed" in home_text(filtered) and "Theirs Done" not in home_text(filtered)

    # The Messages tab opening is no reason to publish anything.
    count = len(slack.home_views(USER))
    event = {"type": "app_home_opened", "user": USER, "channel": DM, "tab": "messages", "event_ts": "1.3"}
    app.sender.event(event)
    wait_until_quiet(slack)
    assert len(slack.home_views(USER)) == count


# --- retry with a new photo ------------------------------------------------------------------------------


def test_retry_opens_a_prefilled_form_and_the_new_card_links_to_the_failed_one(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=0.3))
    tavus.script(ScriptedOutcome("completed", training_seconds=0.5))
    create(app, images, extra="voice=ivy")
    old_card = wait_card(slack)
    failure = wait_thread(slack, old_card)[0]
    retry = button(failure, "retry_request")
    where = {"channel": {"id": CHANNEL}, "message": failure, "container": {"type": "message"}}

    # Someone else may not retry it; they are told who can, and no form opens.
    click(app, OTHER, retry, **where)
    refusal = slack.wait_for(lambda: [e for e in slack.ephemerals(CHANNEL) if e["user"] == OTHER])[0]
    assert f"<@{USER}>" in refusal["text"] and "admin" in refusal["text"]
    wait_until_quiet(slack)
    assert slack.calls("views.open") == []

    click(app, USER, retry, **where)
    view = opened_view(slack)
    assert view["title"]["text"] == "Retry with a new photo"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["name"]["element"]["initial_value"] == "Ana Demo"
    assert blocks["voice"]["element"]["initial_option"]["value"] == "ivy"
    assert blocks["photo"]["element"]["type"] == "file_input"

    photo = png(720, 720)
    submitted = app.sender.interaction(
        modal_submission(view, files=[upload(slack, photo)], name="Ana Demo", voice="ivy")
    )
    assert submitted.status_code == 200
    new_card = slack.wait_for(lambda: len(cards(slack)) == 2 and cards(slack)[1])
    permalink = f"{PERMALINK}/{CHANNEL}/p{old_card['ts'].replace('.', '')}"
    assert f"Retry of <{permalink}|Ana Demo>" in rendered(new_card)
    old_replica = tavus.replicas()[0]["replica_id"]
    assert old_replica in rendered(new_card)
    assert len(creates(tavus)) == 2 and creates(tavus)[1]["json"]["voice_name"] == "ivy"
    slack.wait_for(lambda: "Ready" in rendered(cards(slack)[1]))
    assert "Retry of" in rendered(cards(slack)[1])  # kept through every update


def test_an_admin_may_retry_from_the_home_tab(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.3))
    create(app, images)
    wait_thread(slack, wait_card(slack))
    home_opened(app, ADMIN)
    retry = button(latest_home(slack, ADMIN), "retry_request")
    click(app, ADMIN, retry, view={"id": "V1", "type": "home"}, container={"type": "view"})
    view = opened_view(slack)
    assert view["title"]["text"] == "Retry with a new photo"
    assert '"retry_of": ' in view["private_metadata"]


# --- the requester's DM -------------------------------------------------------------------------------------


def test_requester_gets_one_dm_with_a_permalink_after_a_failure(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="CelebrityFoundError", training_seconds=0.3))
    create(app, images)
    card = wait_card(slack)
    failure = wait_thread(slack, card)[0]
    dm = slack.wait_for(lambda: slack.messages(DM))[0]
    permalink = f"{PERMALINK}/{CHANNEL}/p{failure['ts'].replace('.', '')}?thread_ts={card['ts']}"
    assert permalink in rendered(dm)
    assert "Ana Demo" in rendered(dm)
    assert button(dm, "retry_request")["value"]
    wait_until_quiet(slack, quiet=1.5)
    assert len(slack.messages(DM)) == 1
    assert len(slack.thread(CHANNEL, card["ts"])) == 1


def test_requester_dm_after_completion_and_the_setting_that_turns_it_off(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    tavus.script(ScriptedOutcome("completed", training_seconds=0.3))
    create(app, images)
    card = wait_card(slack)
    wait_thread(slack, card)
    dm = slack.wait_for(lambda: slack.messages(DM))[0]
    assert "is ready" in rendered(dm) and f"{PERMALINK}/{CHANNEL}/" in rendered(dm)
    app.stop()

    slack.reset()
    quiet = start_app(NOTIFY_REQUESTER_DM="false")
    tavus.script(ScriptedOutcome("completed", training_seconds=0.3))
    create(quiet, images, name="Quiet One")
    wait_thread(slack, wait_card(slack, "Quiet One"))
    wait_until_quiet(slack, quiet=1.5)
    assert slack.messages(DM) == []


# --- a channel that refuses posts for good (issue 4) -----------------------------------------------------


def test_a_channel_that_is_gone_sends_the_card_and_the_failure_to_the_requesters_dm(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    slack.set_channel_error(CHANNEL, "channel_not_found")
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=1))
    create(app, images)
    card = slack.wait_for(lambda: next(iter(cards(slack, DM)), None))
    assert f"meant for <#{CHANNEL}>" in rendered(card)
    assert "channel_not_found" not in rendered(card)
    failure = slack.wait_for(lambda: slack.thread(DM, card["ts"]), timeout=15)[0]
    assert "Headphones" in rendered(failure)
    slack.wait_for(lambda: "failed" in rendered(cards(slack, DM)[0]).lower())

    wait_until_quiet(slack, quiet=1.5)
    # One attempt in the channel, never retried there; one card and one failure in the DM, no extra note.
    posts_to_channel = [c for c in slack.calls("chat.postMessage") if c["params"]["channel"] == CHANNEL]
    assert len(posts_to_channel) == 1
    assert [c for c in slack.calls("chat.update") if c["params"]["channel"] == CHANNEL] == []
    assert len(cards(slack, DM)) == 1
    assert len(slack.thread(DM, card["ts"])) == 1
    assert len([m for m in slack.messages(DM) if not m.get("thread_ts")]) == 1


def test_a_channel_archived_during_training_moves_the_conversation_to_the_dm(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=2))
    create(app, images)
    card = wait_card(slack)
    slack.set_channel_error(CHANNEL, "is_archived")
    entry = CATALOGUE.lookup("ImageQualityError")
    assert entry is not None
    explained = slack.wait_for(
        lambda: next((m for m in slack.messages(DM) if entry.explanation in rendered(m)), None), timeout=20
    )
    assert f"<#{CHANNEL}>" in rendered(explained) or f"<#{CHANNEL}>" in rendered(cards(slack, DM)[0])
    moved = slack.wait_for(lambda: next(iter(cards(slack, DM)), None))
    assert "archived" in rendered(moved) and "is_archived" not in rendered(moved)

    settled = len([c for c in slack.calls() if c["params"].get("channel") == CHANNEL])
    wait_until_quiet(slack, quiet=2)
    assert len([c for c in slack.calls() if c["params"].get("channel") == CHANNEL]) == settled
    assert slack.thread(CHANNEL, card["ts"]) == []
    assert len([m for m in slack.messages(DM) if entry.explanation in rendered(m)]) == 1


# --- the text replies -------------------------------------------------------------------------------------


def test_help_voices_explain_errors_and_list(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(VOICES="anna,liam", VOICE_DESCRIPTIONS="liam=Test voice for Liam")

    def ask(text: str) -> str:
        response = app.sender.command(text, user_id=USER, channel_id=CHANNEL)
        assert response.status_code == 200
        return str(response.json()["text"])

    help_text = ask("help")
    for needed in (
        "/replica create",
        "JPG or PNG",
        "512×512",
        "head and shoulders",
        "anna, liam",
        "3–4 hours",
    ):
        assert needed in help_text
    assert "https://docs.tavus.io/sections/replica/train-with-an-image" in help_text
    assert "HTTP" not in help_text

    voices = ask("voices")
    assert "`liam` — Test voice for Liam" in voices and "`anna` — feminine voice" in voices

    entry = CATALOGUE.lookup("Phx4FaceObscuredError")
    assert entry is not None
    explained = ask("explain Phx4FaceObscuredError")
    assert entry.explanation in explained and entry.guideline_url in explained
    errors = ask("errors")
    assert all(e.code in errors for e in CATALOGUE.entries())

    tavus.script(ScriptedOutcome("error", error_message="PoseNotSuitableError", training_seconds=0.3))
    create(app, images, name="Listed", extra="voice=liam")
    wait_thread(slack, wait_card(slack, "Listed"))
    listing = ask("list")
    assert "Listed" in listing and "failed" in listing.lower() and "PoseNotSuitableError" in listing

    # The form's voice picker carries the descriptions too.
    app.sender.command("create", user_id=USER, channel_id=CHANNEL)
    view = opened_view(slack)
    options = next(b for b in view["blocks"] if b.get("block_id") == "voice")["element"]["options"]
    assert [(o["value"], o["description"]["text"]) for o in options][1] == ("liam", "Test voice for Liam")

"""Onboarding a whole team at once, end to end over HTTP: a CSV by mention (or in the bot's DM, or the batch
form) becomes one batch message, checked before anything is spent; Submit sends each good row once; the
card follows them; failures are explained in its thread; a summary and one DM close it."""

from __future__ import annotations

import threading
from typing import Any

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from bot.slack.ids import BATCH_CANCEL_ACTION, BATCH_RETRY_ACTION, BATCH_SUBMIT_ACTION
from tests.e2e.app_process import AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    DM,
    USER,
    button,
    click,
    creates,
    file_share_event,
    mention_event,
    opened_view,
    rendered,
    until,
    upload,
    wait_until_quiet,
)
from tests.images import png

OTHER = "U0BOB"


def csv_mention(app: AppProcess, slack: SlackFake, content: str | bytes, name: str = "team.csv") -> dict:
    """A CSV attached to a message that mentions the bot; the message."""
    data = content.encode() if isinstance(content, str) else content
    shared = upload(slack, data, name, "text/csv")
    message = slack.add_message(CHANNEL, "<@UBOT> here is the team", files=[shared])
    assert app.sender.event(mention_event(message, message["text"])).status_code == 200
    return message


def batch_card(
    slack: SlackFake, message: dict, says: str = "", channel: str = CHANNEL, timeout: float = 20
) -> dict:
    """The batch's card in the message's thread, once it says `says`."""

    def card() -> dict[str, Any] | None:
        for reply in slack.thread(channel, message["ts"]):
            if "Batch `b" in rendered(reply) and says in rendered(reply):
                return reply
        return None

    return slack.wait_for(card, timeout=timeout)


def thread_posts(slack: SlackFake, message: dict, channel: str = CHANNEL) -> list[dict]:
    """What the batch posted in its thread, besides its card."""
    return [m for m in slack.thread(channel, message["ts"]) if not m.get("text", "").startswith("Batch b")]


def host_photos(images: StaticServer, *names: str) -> None:
    for n, name in enumerate(names):
        images.put(f"/{name}.png", png(600 + n, 640), "image/png")


def test_a_csv_by_mention_is_checked_then_submitted_once_and_followed_on_one_card(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    host_photos(images, "ana", "bo", "cy")
    rows = (
        "Name;Photo;Voice\n"
        f"Ana Batch;{images.url}/ana.png;anna\n"
        f"Bo Batch;{images.url}/bo.png;liam\n"
        f"Cy Batch;{images.url}/cy.png;anna\n"
        f"Di Batch;{images.url}/missing.png;anna\n"
        f"Ed Batch;{images.url}/ana.png;yodel\n"
    )
    for name in ("Bo Batch", "Cy Batch"):
        tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", match_name=name))
    message = csv_mention(app, slack, rows)

    card = batch_card(slack, message, "3 ready · 2 need attention")
    words = rendered(card)
    # The rows that need attention, by row number and name, each with its reason in the catalogue's words.
    assert "Row 5 (Di Batch)" in words and "`photo`" in words and "404" in words
    assert "Row 6 (Ed Batch)" in words and "`voice`" in words and "`yodel` is not a stock voice" in words
    submit = button(card, BATCH_SUBMIT_ACTION)
    assert submit["text"]["text"] == "Submit 3"
    assert button(card, BATCH_CANCEL_ACTION)["text"]["text"] == "Cancel"
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []  # nothing is submitted before Submit

    # Only the requester (or an admin) may submit; a double click submits once.
    click(app, submit, user=OTHER)
    assert "Only <@U123>" in slack.wait_for(lambda: next(iter(slack.ephemerals()), None))["text"]
    both = [threading.Thread(target=click, args=(app, submit)) for _ in range(2)]
    for clicked in both:
        clicked.start()
    for clicked in both:
        clicked.join()
    until(lambda: len(creates(tavus)) == 3, timeout=20)
    wait_until_quiet(slack, tavus, quiet=2)
    assert sorted(c["json"]["face_name"] for c in creates(tavus)) == ["Ana Batch", "Bo Batch", "Cy Batch"]

    # No per-row cards: the one card follows every row, and ends on its final counts.
    final = batch_card(slack, message, "Done", timeout=30)
    assert all(f in rendered(final) for f in ("1 ready", "2 failed", "2 needs attention"))
    cards = [m for m in slack.messages(CHANNEL) if "Replica request" in m.get("text", "")]
    assert cards == []
    posts = thread_posts(slack, message)
    # Both failures of one cause are explained in one post, mentioning the requester, with its retry.
    (grouped,) = [p for p in posts if "failed training" in rendered(p)]
    assert all(w in rendered(grouped) for w in (f"<@{USER}>", "Bo Batch", "Cy Batch", "Headphones"))
    assert button(grouped, BATCH_RETRY_ACTION)
    # The summary, once, with the retry of the failed rows; the requester's DM, once.
    (summary,) = [p for p in posts if "has ended" in rendered(p)]
    assert all(w in rendered(summary) for w in ("1 ready", "Di Batch", "Bo Batch"))
    retry = button(summary, BATCH_RETRY_ACTION)
    assert retry["text"]["text"] == "Retry the failed rows"
    slack.wait_for(lambda: slack.messages(f"D{USER}"))
    wait_until_quiet(slack, tavus)
    (dm,) = slack.messages(f"D{USER}")
    assert "has ended" in dm["text"] and "1 ready" in dm["text"]

    click(app, retry)
    view = opened_view(slack)
    prefilled = next(b for b in view["blocks"] if b.get("block_id") == "rows")["element"]["initial_value"]
    assert prefilled.splitlines()[0] == "name,photo,voice,model,for"
    again = {line.split(",")[0] for line in prefilled.splitlines()[1:]}
    assert again == {"Bo Batch", "Cy Batch", "Di Batch", "Ed Batch"}


def test_a_csv_in_the_bots_dm_is_a_batch_answered_in_the_dm(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    host_photos(images, "ana")
    # A byte order mark, as spreadsheets write it.
    content = f"\ufeffname,photo,voice\nDana DM,{images.url}/ana.png,anna\n".encode()
    shared = upload(slack, content, "x.csv", "text/csv")
    message = slack.add_message(DM, "", files=[shared])
    assert app.sender.event(file_share_event(message, DM, "", "im")).status_code == 200
    card = batch_card(slack, message, "1 ready · 0 need attention", channel=DM)
    click(app, button(card, BATCH_SUBMIT_ACTION), channel=DM)
    until(lambda: len(creates(tavus)) == 1, timeout=20)
    assert creates(tavus)[0]["json"]["face_name"] == "Dana DM"
    batch_card(slack, message, "Done", channel=DM, timeout=30)


def test_the_batch_form_takes_several_photos_one_row_each(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    response = app.sender.command("batch", user_id=USER, channel_id=CHANNEL)
    assert response.status_code == 200
    view = opened_view(slack)
    assert view["callback_id"] == "batch_modal"
    names = ("ana_lee", "bo", "cy")
    photos = [upload(slack, png(700 + n, 700), f"{name}.png") for n, name in enumerate(names)]
    values = {
        "file": {"files": {"type": "file_input", "files": photos}},
        "names": {"value": {"type": "plain_text_input", "value": "\nBo Renamed"}},
        "voice": {"value": {"type": "static_select", "selected_option": {"value": "ivy"}}},
        "model": {"value": {"type": "static_select", "selected_option": {"value": "phoenix-4.5"}}},
    }
    submission = {
        "type": "view_submission", "team": {"id": "T0001"}, "user": {"id": USER}, "trigger_id": "t",
        "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                 "private_metadata": view["private_metadata"], "state": {"values": values}},
    }
    answer = app.sender.interaction(submission)
    assert answer.status_code == 200 and not answer.text.strip()
    # The card goes up in the channel where the form was opened, its own message.
    card = slack.wait_for(
        lambda: next((m for m in slack.messages(CHANNEL) if "3 ready" in rendered(m)), None), timeout=20
    )
    assert not card.get("thread_ts")
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    click(app, button(card, BATCH_SUBMIT_ACTION))
    until(lambda: len(creates(tavus)) == 3, timeout=20)
    made = {c["json"]["face_name"]: c["json"] for c in creates(tavus)}
    assert set(made) == {"ana lee", "Bo Renamed", "cy"}
    assert all(m["voice_name"] == "ivy" and m["model_name"] == "phoenix-4.5" for m in made.values())
    # Tavus trains on the bot's hosted copy of each photo.
    assert all(m["train_image_url"].startswith(f"{app.url}/media/") for m in made.values())

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
from tests.e2e.app_process import AppFactory, AppProcess
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


def batch_card(slack: SlackFake, message: dict, says: str = "", channel: str = CHANNEL, timeout: float = 20) -> dict:
    """The batch's card in the message's thread, once it says `says`."""

    def card() -> dict[str, Any] | None:
        for reply in slack.thread(channel, message["ts"]):
            if "Batch `b" in rendered(reply) and says in rendered(reply):
                return reply
        return None

    return slack.wait_for(card, timeout=timeout)


def thread_posts(slack: SlackFake, message: dict, channel: str = CHANNEL) -> list[dict]:
    """What the batch posted in its thread, besides its card."""
    return [m for m in slack.thread(channel, message["ts"]) if "Batch `b" not in m.get("text", "")[:40]]


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
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", match_name="Bo Batch", training_seconds=1))
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", match_name="Cy Batch", training_seconds=1))
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
    assert "1 ready" in rendered(final) and "2 failed" in rendered(final) and "2 needs attention" in rendered(final)
    cards = [m for m in slack.messages(CHANNEL) if "Replica request" in m.get("text", "")]
    assert cards == []
    posts = thread_posts(slack, message)
    # Both failures of one cause are explained in one post, mentioning the requester, each row with its face.
    failures = [p for p in posts if "failed training" in rendered(p)]
    (grouped,) = failures
    assert f"<@{USER}>" in rendered(grouped) and "Bo Batch" in rendered(grouped) and "Cy Batch" in rendered(grouped)
    assert "Headphones" in rendered(grouped)
    assert button(grouped, BATCH_RETRY_ACTION)
    # The summary, once, with the retry of the failed rows; the requester's DM, once.
    (summary,) = [p for p in posts if "has ended" in rendered(p)]
    assert "1 ready" in rendered(summary) and "Di Batch" in rendered(summary) and "Bo Batch" in rendered(summary)
    retry = button(summary, BATCH_RETRY_ACTION)
    assert retry["text"]["text"] == "Retry the failed rows"
    (dm,) = slack.wait_for(lambda: slack.messages(f"D{USER}"))
    assert "has ended" in dm["text"] and "1 ready" in dm["text"]

    click(app, retry)
    view = opened_view(slack)
    prefilled = next(b for b in view["blocks"] if b.get("block_id") == "rows")["element"]["initial_value"]
    assert prefilled.splitlines()[0] == "name,photo,voice,model,for"
    assert {"Bo Batch", "Cy Batch", "Di Batch", "Ed Batch"} == {line.split(",")[0] for line in prefilled.splitlines()[1:]}

"""A request is written down before it is acknowledged: a crash while its photo is still being downloaded
and checked does not lose it, and a request picked up twice is submitted once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bot.sandbox.slack_fake import FILE_DOWNLOAD, SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    card_in_thread,
    create,
    creates,
    mention_event,
    submitted_image,
    upload,
    wait_card,
)
from tests.images import png


def statuses(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "replica_bot.db") as db:
        return [row[0] for row in db.execute("SELECT status FROM replica_request ORDER BY id")]


def test_kill_9_while_a_linked_photo_is_checked_submits_it_after_restart(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, tmp_path: Path
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    images.put("/slow-link.png", png(640, 640), "image/png")
    images.stall("/slow-link.png", 60)
    create(app, images, name="Acked Then Crashed", path="/slow-link.png")  # "Got it — checking the photo…"
    slack.wait_for(lambda: images.hits("/slow-link.png") >= 1)  # the app is downloading it
    assert statuses(tmp_path) == ["received"]
    app.kill9()
    assert tavus.replicas() == []

    app.start()
    wait_card(slack, "Acked Then Crashed", timeout=30)
    assert len(creates(tavus)) == 1
    assert statuses(tmp_path) == ["training"]


def test_kill_9_while_an_upload_is_downloaded_submits_it_after_restart(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, tmp_path: Path
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    photo = png(700, 700)
    slack.delay_response(FILE_DOWNLOAD, 60)
    message = slack.add_message(
        CHANNEL, '<@UBOT> create voice=anna name="Uploaded Then Crashed"', files=[upload(slack, photo)]
    )
    assert app.sender.event(mention_event(message, message["text"])).status_code == 200
    slack.wait_for(lambda: slack.delays_pending(FILE_DOWNLOAD) == 0)  # the app is downloading it
    assert statuses(tmp_path) == ["received"]
    app.kill9()
    assert tavus.replicas() == []

    app.start()
    card = card_in_thread(slack, CHANNEL, message["ts"])  # answered in the upload's thread, as before
    assert "Uploaded Then Crashed" in card["text"]
    assert submitted_image(tavus) == photo
    assert len(creates(tavus)) == 1


def test_a_request_resumed_while_its_first_check_is_slow_is_submitted_and_reported_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, tmp_path: Path
) -> None:
    # The first download takes 4 s; after 1 s the request looks abandoned and is picked up again.
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    images.put("/slow-twice.png", png(640, 640), "image/png")
    images.stall("/slow-twice.png", 4)
    began = time.monotonic()
    create(app, images, name="Picked Up Twice", path="/slow-twice.png")
    wait_card(slack, "Picked Up Twice", timeout=30)
    # Fetched three times: the slow first check, the resumed check that finished first, and Tavus.
    slack.wait_for(lambda: images.hits("/slow-twice.png") >= 3)
    # Once the slow first check has finished as well: still one replica, one card, nothing else said.
    time.sleep(max(0.0, began + 5 - time.monotonic()))
    assert len(creates(tavus)) == 1
    cards = [m for m in slack.messages(CHANNEL) if not m.get("thread_ts") and "Picked Up Twice" in m["text"]]
    assert len(cards) == 1
    assert len(statuses(tmp_path)) == 1 and statuses(tmp_path)[0] in ("training", "completed")
    assert slack.ephemerals(CHANNEL) == []


def test_a_refused_photo_leaves_no_request_behind(
    app: AppProcess, slack: SlackFake, images: StaticServer, tmp_path: Path
) -> None:
    images.put("/too-small.png", png(200, 200), "image/png")
    create(app, images, name="Too Small", path="/too-small.png")
    slack.wait_for(lambda: any("did not send" in e.get("text", "") for e in slack.ephemerals(CHANNEL)))
    assert statuses(tmp_path) == []

"""A batch across crashes and processes, end to end over HTTP: kill -9 while its rows are checked or while
they are submitted, and after the restart it goes on where it was, no row lost or submitted twice, the card
ending on its final counts; three processes on PostgreSQL share one batch's work."""

from __future__ import annotations

import threading

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from bot.slack.ids import BATCH_SUBMIT_ACTION
from tests.e2e.app_process import AppFactory
from tests.e2e.helpers import CHANNEL, USER, button, click, creates, rendered, until, wait_until_quiet
from tests.e2e.test_batch import batch_card, csv_mention, host_photos
from tests.e2e.test_batch_people import validations


def team(images: StaticServer, size: int) -> tuple[str, list[str]]:
    names = [f"Crew {n:02d}" for n in range(size)]
    host_photos(images, *(f"crew{n}" for n in range(size)))
    rows = "".join(f"{name},{images.url}/crew{n}.png,anna\n" for n, name in enumerate(names))
    return "name,photo,voice\n" + rows, names


def batch_posts(slack: SlackFake, message: dict) -> list[dict]:
    return slack.thread(CHANNEL, message["ts"])


def once_told(slack: SlackFake, tavus: TavusEmulator) -> None:
    """The requester's DM comes once, after the summary (it waits for the summary's post)."""
    slack.wait_for(lambda: slack.messages(f"D{USER}"))
    wait_until_quiet(slack, tavus, quiet=2.5)
    assert len(slack.messages(f"D{USER}")) == 1


def test_kill_9_while_rows_are_checked_goes_on_after_the_restart(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="2", BATCH_CONCURRENCY="2")
    tavus.validation.set_latency(0.4)
    rows, names = team(images, 12)
    message = csv_mention(app, slack, rows)
    until(lambda: len(validations(tavus)) >= 3)
    app.kill9()
    app.start()
    card = batch_card(slack, message, "12 ready · 0 need attention", timeout=40)
    # At most the rows in flight at the kill were checked again; none was left out.
    assert 12 <= len(validations(tavus)) <= 14
    assert tavus.validation.max_in_flight <= 2
    click(app, button(card, BATCH_SUBMIT_ACTION))
    batch_card(slack, message, "Done", timeout=40)
    wait_until_quiet(slack, tavus)
    assert sorted(c["json"]["face_name"] for c in creates(tavus)) == names
    assert len([m for m in batch_posts(slack, message) if m["text"].startswith("Batch b")]) == 1


def test_kill_9_while_rows_are_submitted_loses_and_doubles_nothing(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="1", BATCH_CONCURRENCY="2")
    rows, names = team(images, 8)
    message = csv_mention(app, slack, rows)
    card = batch_card(slack, message, "8 ready")
    # Tavus makes the first replicas and is slow to say so: the app dies not knowing.
    tavus.delay_response(method="POST", path_prefix="/v2/faces", seconds=4, count=2)
    click(app, button(card, BATCH_SUBMIT_ACTION))
    until(lambda: len(tavus.replicas()) >= 2)
    app.kill9()
    app.start()
    final = batch_card(slack, message, "Done", timeout=60)
    assert "8 ready" in rendered(final)
    wait_until_quiet(slack, tavus, quiet=2)
    made = sorted(r["replica_name"] for r in tavus.replicas())
    assert made == names  # each row once: none lost, none twice
    (summary,) = [m for m in batch_posts(slack, message) if "has ended" in rendered(m)]
    assert "8 ready" in rendered(summary)
    once_told(slack, tavus)


def test_three_processes_on_postgresql_share_a_batch(
    start_app: AppFactory,
    postgres_url: str,
    slack: SlackFake,
    tavus: TavusEmulator,
    images: StaticServer,
) -> None:
    apps = [
        start_app(database_url=postgres_url, BATCH_CONCURRENCY="2", RECONCILE_AFTER_SECONDS="2")
        for _ in range(3)
    ]
    tavus.validation.set_latency(0.3)
    rows, names = team(images, 18)
    message = csv_mention(apps[0], slack, rows)
    until(lambda: len(validations(tavus)) >= 4)
    # One of them dies mid-batch; the other two take its rows over.
    apps[0].kill9()
    card = batch_card(slack, message, "18 ready · 0 need attention", timeout=40)
    assert 18 <= len(validations(tavus)) <= 20
    # Two processes get the same double click: one submit.
    both = [threading.Thread(target=click, args=(app, button(card, BATCH_SUBMIT_ACTION))) for app in apps[1:]]
    for clicked in both:
        clicked.start()
    for clicked in both:
        clicked.join()
    batch_card(slack, message, "Done", timeout=60)
    wait_until_quiet(slack, tavus, quiet=2)
    assert sorted(c["json"]["face_name"] for c in creates(tavus)) == names
    posts = batch_posts(slack, message)
    assert len([m for m in posts if m["text"].startswith("Batch b")]) == 1
    assert len([m for m in posts if "has ended" in rendered(m)]) == 1
    once_told(slack, tavus)

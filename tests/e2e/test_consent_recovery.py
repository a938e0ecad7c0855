"""Consent and approvals across crashes and processes: kill -9 between a click and the Tavus create
creates once; two processes on PostgreSQL take one answer once; and the record of every decision, in
Slack for admins and as CSV for compliance."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from bot.slack.ids import APPROVE_ACTION, CONSENT_ALLOW_ACTION
from tests.e2e.app_process import AppFactory
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    button,
    click,
    create,
    creates,
    rendered,
    until,
    wait_card,
    wait_until_quiet,
)
from tests.e2e.test_consent import ANA, ANA_DM, APPROVER, COLLEAGUE, card_says, dm

ADMIN = "U0ADMIN"


def validations(tavus: TavusEmulator) -> list[dict]:
    return [c for c in tavus.calls() if c["path"].endswith("image-validation")]


def face_on_card(slack: SlackFake, tavus: TavusEmulator) -> None:
    """The card shows the face Tavus made (whether it is still training or already ready)."""
    until(lambda: tavus.replicas() and tavus.replicas()[0]["replica_id"] in rendered(wait_card(slack)), 30)


def test_kill_9_after_allow_while_tavus_creates_makes_one_replica(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    tavus.delay_response(method="POST", path_prefix="/v2/faces", seconds=10)
    click(app, button(dm(slack, ANA), CONSENT_ALLOW_ACTION), user=ANA, channel=ANA_DM)
    until(lambda: tavus.replicas())  # Tavus made it; the app has not heard back
    app.kill9()
    app.start()
    face_on_card(slack, tavus)
    assert len(tavus.replicas()) == 1
    until(lambda: creates(tavus), timeout=15)  # the delayed answer, logged when sent
    assert len(creates(tavus)) == 1


def test_kill_9_after_allow_before_tavus_heard_anything_goes_on_after_restart(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    # Recovery waits its usual while the first process runs, so that only the click's own work is under
    # way when it dies; the restarted process looks for stalled requests after a second.
    app = start_app()
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    tavus.delay_response(method="POST", path_prefix="/v2/faces/image-validation", seconds=10)
    allow = button(dm(slack, ANA), CONSENT_ALLOW_ACTION)
    click(app, allow, user=ANA, channel=ANA_DM)
    until(lambda: tavus.delays_left() == 0)  # the check after the yes reached Tavus; its answer is held
    assert creates(tavus) == []
    app.kill9()
    app.env["RECONCILE_AFTER_SECONDS"] = "1"
    app.start()
    face_on_card(slack, tavus)
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(creates(tavus)) == 1
    # The colleague was asked once; their answer was not asked for again.
    assert len(slack.messages(ANA_DM)) == 1
    # The check cut short is logged when its delayed answer is sent: wait for it, so it does not land in
    # the next test.
    until(lambda: len(validations(tavus)) == 2, timeout=15)


def test_two_processes_on_postgresql_take_one_answer_once(
    start_app: AppFactory, postgres_url: str, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    first = start_app(database_url=postgres_url, APPROVAL="required", APPROVERS=APPROVER)
    second = start_app(database_url=postgres_url, APPROVAL="required", APPROVERS=APPROVER)
    create(first, images, extra=f"voice=anna {COLLEAGUE}")
    allow = button(dm(slack, ANA), CONSENT_ALLOW_ACTION)
    both = [
        threading.Thread(target=click, args=(app, allow), kwargs={"user": ANA, "channel": ANA_DM})
        for app in (first, second)
    ]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    approve = button(dm(slack, APPROVER, timeout=20), APPROVE_ACTION)
    for app in (second, first):
        click(app, approve, user=APPROVER, channel=f"D{APPROVER}")
    card_says(slack, f"Approved by <@{APPROVER}>", timeout=30)
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(creates(tavus)) == 1 and len(validations(tavus)) == 1
    assert len(slack.messages(ANA_DM)) == 1 and len(slack.messages(f"D{APPROVER}")) == 1
    cards = [m for m in slack.messages(CHANNEL) if not m.get("thread_ts")]
    assert len(cards) == 1


def test_the_record_of_who_decided_what(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, tmp_path: Path
) -> None:
    app = start_app(ADMIN_USER_IDS=ADMIN)
    create(app, images, "=HYPERLINK(1)", extra=f"voice=anna {COLLEAGUE}")
    click(app, button(dm(slack, ANA), CONSENT_ALLOW_ACTION), user=ANA, channel=ANA_DM)
    slack.wait_for(lambda: "Training" in rendered(wait_card(slack, "HYPERLINK")), timeout=20)

    refused = app.sender.command("audit", user_id=USER, channel_id=CHANNEL).json()
    assert "Only the app's admins" in refused["text"]
    answer = app.sender.command(f"audit <@{ANA}|ana>", user_id=ADMIN, channel_id=CHANNEL).json()
    assert answer["response_type"] == "ephemeral"
    assert f"asked by <@{USER}>" in answer["text"] and f"face: <@{ANA}>" in answer["text"]
    assert "consent: allowed" in answer["text"]

    env = {**app.env, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "--since", "30d", "--csv"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    (row,) = rows
    assert (row["requester"], row["likeness"], row["depicted"], row["consent"]) == (
        USER, "colleague", ANA, "allowed"
    )
    # A name that looks like a formula stays text in a spreadsheet.
    assert row["replica_name"].startswith("'=")
    assert "consent allowed by U0ANA" in row["decisions"]
    assert os.path.exists(tmp_path / "replica_bot.db")

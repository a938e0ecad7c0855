"""Erasure and retention beside a running app: `replica-bot forget`, `/replica forget` and `replica-bot
purge` remove what they say they remove, and nothing else."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from typing import Any

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    create,
    mention_event,
    rendered,
    until,
    upload,
    wait_until_quiet,
)
from tests.images import png

ADMIN = "UADMIN"
OTHER = "U999"


def cli(app: AppProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=app.env,
        cwd=app.workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rows(app: AppProcess, sql: str = "SELECT * FROM replica_request ORDER BY id") -> list[dict[str, Any]]:
    path = app.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql)]


# What polling changes on its own; everything else of a request must stay as it was.
_POLLED = {"last_polled_at", "next_poll_at", "lease_owner", "lease_until", "updated_at"}


def settled(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in _POLLED}


def by_name(app: AppProcess) -> dict[str, dict[str, Any]]:
    return {row["replica_name"]: row for row in rows(app)}


def photos_of(app: AppProcess, request_id: int) -> int:
    return len(rows(app, f"SELECT token FROM media_object WHERE request_id = {int(request_id)}"))


def status_of(app: AppProcess, name: str) -> str | None:
    return by_name(app).get(name, {}).get("status")


def three_requests(app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer) -> None:
    """U123: an uploaded photo, trained; a link, still training. Someone else: a link, trained."""
    tavus.script(ScriptedOutcome("completed", training_seconds=1, match_name="Ana Upload"))
    tavus.script(ScriptedOutcome("completed", training_seconds=3600, match_name="Ana Training"))
    tavus.script(ScriptedOutcome("completed", training_seconds=1, match_name="Bob Other"))
    message = slack.add_message(
        CHANNEL, '<@UBOT> create voice=anna name="Ana Upload"', files=[upload(slack, png(640, 640))]
    )
    assert app.sender.event(mention_event(message, message["text"])).status_code == 200
    create(app, images, name="Ana Training")
    app.sender.command(
        f'create {images.url}/ana.png voice=anna name="Bob Other"', user_id=OTHER, channel_id=CHANNEL
    )
    until(lambda: status_of(app, "Ana Upload") == "completed" and status_of(app, "Bob Other") == "completed")
    until(lambda: status_of(app, "Ana Training") == "training")
    wait_until_quiet(slack, quiet=1.5)


def test_forget_removes_the_persons_photos_and_details_and_nothing_else(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    three_requests(app, slack, tavus, images)
    before = by_name(app)
    upload_id = before["Ana Upload"]["id"]
    assert photos_of(app, upload_id) == 1

    result = cli(app, "forget", USER)
    assert result.returncode == 0, result.stderr
    training_face = before["Ana Training"]["replica_id"]
    assert result.stdout.splitlines() == [
        f"forgot {USER}: photos and personal details removed from 1 requests (1 stored photos); the name "
        "removed from 0 other requests",
        f"left as it is: {training_face} — still in progress; --include-active deletes it in Tavus and "
        "forgets it",
    ]
    after = {row["id"]: row for row in rows(app)}
    forgotten = after[upload_id]
    assert forgotten["requester_id"] == "" and forgotten["replica_name"] == ""
    for column in (
        "source_url",
        "slack_file_id",
        "train_image_url",
        "thumbnail_video_url",
        "rights_affirmed_by",
    ):
        assert forgotten[column] is None, column
    # What counts stays: its status, its face's id, its model.
    assert (
        forgotten["status"] == "completed" and forgotten["replica_id"] == before["Ana Upload"]["replica_id"]
    )
    assert photos_of(app, upload_id) == 0
    # Nothing else changed.
    for name in ("Ana Training", "Bob Other"):
        assert settled(after[before[name]["id"]]) == settled(before[name]), name
    # The card in the channel no longer shows the person.
    card = slack.wait_for(
        lambda: _card_of(slack, before["Ana Upload"]["card_ts"], "personal details were removed")
    )
    assert "Ana Upload" not in rendered(card) and f"<@{USER}>" not in rendered(card)
    assert tavus.replicas() and all(r.get("deleted_at") is None for r in tavus.replicas())

    result = cli(app, "forget", USER, "--include-active")
    assert result.returncode == 0, result.stderr
    assert f"deleted in Tavus: {training_face}" in result.stdout
    stopped = {row["id"]: row for row in rows(app)}[before["Ana Training"]["id"]]
    assert stopped["status"] == "deleted" and stopped["requester_id"] == "" and stopped["replica_name"] == ""
    deleted = {r["replica_id"]: r for r in tavus.replicas()}
    assert deleted[training_face]["deleted_at"] is not None
    assert deleted[before["Bob Other"]["replica_id"]]["deleted_at"] is None
    assert settled(by_name(app)["Bob Other"]) == settled(before["Bob Other"])

    # Nobody left to forget: it says so, and succeeds.
    again = cli(app, "forget", USER)
    assert again.returncode == 0
    assert "from 0 requests" in again.stdout


def test_slash_forget_is_for_admins_and_answers_with_what_was_removed(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(ADMIN_USER_IDS=ADMIN)
    three_requests(app, slack, tavus, images)
    refused = app.sender.command(f"forget <@{USER}|ana>", user_id=OTHER, channel_id=CHANNEL)
    assert "Only an admin" in refused.json()["text"]
    assert status_of(app, "Ana Upload") == "completed"

    acked = app.sender.command(f"forget <@{USER}|ana>", user_id=ADMIN, channel_id=CHANNEL)
    assert f"Forgetting <@{USER}>" in acked.json()["text"]
    answer = slack.wait_for(lambda: next((p for p in _answers(slack) if "Removed" in p), None))
    assert f"Removed <@{USER}>'s photos and personal details from 1 request (1 stored photo)" in answer
    assert "--include-active" in answer
    assert "Ana Upload" not in by_name(app) and "Bob Other" in by_name(app)

    acked = app.sender.command(f"forget <@{USER}> --include-active", user_id=ADMIN, channel_id=CHANNEL)
    slack.wait_for(lambda: next((p for p in _answers(slack) if "Deleted in Tavus" in p), None))
    assert "Ana Training" not in by_name(app)


def test_purge_removes_finished_requests_older_than_asked_beside_the_running_app(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    three_requests(app, slack, tavus, images)
    before = by_name(app)

    kept = cli(app, "purge", "--older-than", "1h")
    assert kept.returncode == 0, kept.stderr
    assert (
        kept.stdout.strip() == "purged 0 finished requests that ended more than 1h ago, with 0 stored photos"
    )
    assert {name: settled(row) for name, row in by_name(app).items()} == {
        name: settled(row) for name, row in before.items()
    }

    purged = cli(app, "purge", "--older-than", "0d")
    assert purged.returncode == 0, purged.stderr
    assert (
        purged.stdout.strip()
        == "purged 2 finished requests that ended more than 0d ago, with 1 stored photos"
    )
    assert set(by_name(app)) == {"Ana Training"}
    assert rows(app, "SELECT * FROM media_object") == []
    left = rows(app, "SELECT DISTINCT request_id FROM outbox_message")
    assert {row["request_id"] for row in left} <= {before["Ana Training"]["id"]}
    # The running process carries on with what is left.
    tavus.set_replica(before["Ana Training"]["replica_id"], status="error", error_message="HeadphonesError")
    until(lambda: status_of(app, "Ana Training") == "failed", timeout=15)

    bad = cli(app, "purge", "--older-than", "90x")
    assert bad.returncode == 2 and "--older-than" in bad.stderr


def _card_of(slack: SlackFake, ts: str, says: str) -> dict[str, Any] | None:
    for message in slack.messages(CHANNEL):
        if message["ts"] == ts and says in rendered(message):
            return message
    return None


def _answers(slack: SlackFake) -> list[str]:
    posts = [str(p.get("text", "")) for p in slack.response_url_posts()]
    return posts + [rendered(e) for e in slack.ephemerals(CHANNEL)]

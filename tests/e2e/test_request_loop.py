"""The request loop end to end over HTTP: signed Slack requests into `replica-bot serve`, its Web API calls
into the Slack fake, Tavus played by the emulator, and the explanation arriving in the card's thread."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from bot.sandbox.slack_fake import SlackFake, sign
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CATALOGUE,
    CHANNEL,
    USER,
    create,
    creates,
    rendered,
    until,
    wait_card,
    wait_thread,
    wait_until_quiet,
)
from tests.servers import SIGNING_SECRET

# --- Slack's side of the contract -----------------------------------------------------------------------


def test_unsigned_bad_and_stale_signatures_are_refused(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    body = b"command=%2Freplica&text=help&user_id=U1&channel_id=C1&team_id=T1"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert app.sender.raw(body, form).status_code == 401
    forged = sign(body, "not-the-secret") | form
    assert app.sender.raw(body, forged).status_code == 401
    stale = sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 600) | form
    assert app.sender.raw(body, stale).status_code == 401
    good = sign(body, SIGNING_SECRET) | form
    assert app.sender.raw(body, good).status_code == 200
    assert creates(tavus) == []


def test_ack_arrives_within_three_seconds_even_when_tavus_is_slow(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.configure(latency_ms=5000)
    started = time.monotonic()
    response = create(app, images)
    assert time.monotonic() - started < 3
    assert "checking the photo" in response.text
    tavus.configure(latency_ms=0)
    wait_card(slack)


# --- the spine: create → error → explanation in the thread ------------------------------------------------


@pytest.mark.parametrize("entry", CATALOGUE.entries(), ids=lambda e: e.code)
def test_every_documented_error_is_explained_in_the_cards_thread(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, entry: Any
) -> None:
    tavus.script(
        ScriptedOutcome("error", error_message=f"{entry.code}: {entry.tavus_message}", training_seconds=2)
    )
    create(app, images)
    card = wait_card(slack)
    assert f"<@{USER}>" in rendered(card)
    first_post = slack.calls("chat.postMessage")[0]["params"]
    assert "3–4 hours" in rendered(first_post)

    replies = wait_thread(slack, card)
    text = rendered(replies[0])
    replica_id = tavus.replicas()[0]["replica_id"]
    assert f"<@{USER}>" in text
    assert entry.explanation in text
    assert entry.advice[0] in text
    assert entry.guideline_url in text
    assert replica_id in text
    assert "credit" in text

    # The card now says it failed, and nothing is posted twice however long we wait.
    slack.wait_for(lambda: "failed" in rendered(slack.messages(CHANNEL)[0]).lower())
    wait_until_quiet(slack, quiet=1.5)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1
    cards = [m for m in slack.messages(CHANNEL) if not m.get("thread_ts")]
    assert len(cards) == 1


def test_unknown_error_text_is_shown_as_is_with_the_general_guideline(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="GPU melted <!channel>", training_seconds=0.3))
    create(app, images)
    text = rendered(wait_thread(slack, wait_card(slack))[0])
    assert "GPU melted &lt;!channel&gt;" in text
    assert CATALOGUE.general_guideline_url in text
    assert "support@tavus.io" in text
    assert "<!channel>" not in text


def test_completion_is_announced_once_and_progress_reaches_the_card(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("completed", training_seconds=2.5))
    create(app, images)
    card = wait_card(slack)
    replica_id = tavus.replicas()[0]["replica_id"]
    slack.wait_for(lambda: replica_id in rendered(slack.messages(CHANNEL)[0]))
    slack.wait_for(lambda: "%" in rendered(slack.messages(CHANNEL)[0]))
    replies = wait_thread(slack, card)
    assert "is ready" in rendered(replies[0])
    assert replica_id in rendered(replies[0])
    wait_until_quiet(slack, quiet=1.5)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1
    assert "Ready" in rendered(slack.messages(CHANNEL)[0])
    assert len([c for c in slack.calls("chat.update")]) >= 1
    # A finished replica is never polled again.
    polls = len([c for c in tavus.calls() if c["path"] == f"/v2/faces/{replica_id}"])
    # Polling it still (every 0.3 s here) would keep Tavus from ever going quiet.
    wait_until_quiet(tavus, quiet=1.5)
    assert len([c for c in tavus.calls() if c["path"] == f"/v2/faces/{replica_id}"]) == polls


# --- Tavus misbehaving ------------------------------------------------------------------------------------


def test_tavus_500_and_429_on_create_are_retried(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.inject_fault(method="POST", path_prefix="/v2/faces", status=500, count=1)
    tavus.inject_fault(method="POST", path_prefix="/v2/faces", status=429, retry_after=1, count=1)
    create(app, images)
    card = wait_card(slack)
    assert [c["status"] for c in creates(tavus)] == [500, 429, 200]
    assert len(tavus.replicas()) == 1
    assert card["ts"]


def test_tavus_down_at_create_tells_the_requester_and_leaves_nothing_behind(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.inject_fault(method="POST", path_prefix="/v2/faces", status=503, count=50)
    create(app, images)
    ephemeral = slack.wait_for(lambda: slack.ephemerals(CHANNEL), timeout=60)
    assert "Tavus is not answering" in ephemeral[0]["text"]
    assert "Traceback" not in ephemeral[0]["text"]
    assert slack.messages(CHANNEL) == []
    assert tavus.replicas() == []


def test_tavus_refusal_at_create_is_explained(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.inject_fault(method="POST", path_prefix="/v2/faces", status=400, count=1)
    create(app, images)
    ephemeral = slack.wait_for(lambda: slack.ephemerals(CHANNEL))
    assert "I couldn't submit this to Tavus" in ephemeral[0]["text"]
    assert slack.messages(CHANNEL) == []


def test_tavus_errors_while_polling_do_not_lose_the_failure(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    create(app, images)
    card = wait_card(slack)
    tavus.inject_fault(method="GET", path_prefix="/v2/faces/", status=500, count=4)
    tavus.inject_fault(method="GET", path_prefix="/v2/faces/", status=429, retry_after=1, count=2)
    replies = wait_thread(slack, card, timeout=30)
    assert CATALOGUE.lookup("ImageQualityError").explanation in rendered(replies[0])  # type: ignore[union-attr]
    wait_until_quiet(slack)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1


# --- crash and restart -------------------------------------------------------------------------------------


def test_kill_9_and_restart_lose_nothing_and_post_nothing_twice(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=4))
    create(app, images)
    card = wait_card(slack)
    app.kill9()
    # Training fails while nobody is watching.
    until(lambda: tavus.replicas()[0]["status"] == "error", timeout=10)
    assert slack.thread(CHANNEL, card["ts"]) == []
    app.start()
    replies = wait_thread(slack, card, timeout=60)
    assert "Headphones" in rendered(replies[0])
    # Killed again right after posting, and restarted: still exactly one explanation.
    app.kill9()
    app.start()
    wait_until_quiet(slack, quiet=2)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1
    assert len([m for m in slack.messages(CHANNEL) if not m.get("thread_ts")]) == 1


# --- callbacks are the fast path --------------------------------------------------------------------------


def test_a_tavus_callback_brings_the_failure_in_seconds_without_polling(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(POLL_INTERVAL_SECONDS="3600")
    tavus.script(ScriptedOutcome("error", error_message="CelebrityFoundError", training_seconds=0.5))
    create(app, images)
    card = wait_card(slack)
    body = creates(tavus)[0]["json"]
    assert body["callback_url"].startswith(f"{app.url}/tavus/callback/")
    replies = wait_thread(slack, card, timeout=10)
    assert "public figure" in rendered(replies[0]).lower() or "Celebrity" in rendered(replies[0])

    # Unknown tokens and junk bodies are refused without harm.
    assert httpx.post(f"{app.url}/tavus/callback/nope", json={"status": "error"}).status_code == 404
    assert httpx.post(body["callback_url"], content=b"not json").status_code == 400
    assert httpx.get(f"{app.url}/healthz").status_code == 200


# --- subcommands -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "/replica create"),
        ("help", "/replica create"),
        ("dance", "I don't know `dance`"),
        ("voices", "anna"),
        ("explain HeadphonesError", CATALOGUE.lookup("HeadphonesError").explanation),  # type: ignore[union-attr]
        ("explain NoSuchError", "not an error Tavus documents"),
        ("errors", "Phx4FaceObscuredError"),
        ("list", "no replica requests yet"),
        ("status r000", "I have no request for replica"),
        ("create https://example.com/a.png", "Pick a voice"),
        ("create https://example.com/a.png voice=zed", "not a stock voice"),
        ('create https://example.com/a.png voice=anna name="Ana', "quote is not closed"),
    ],
)
def test_subcommands_answer_in_the_ack(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, text: str, expected: str
) -> None:
    response = app.sender.command(text, user_id=USER, channel_id=CHANNEL)
    assert response.status_code == 200
    assert expected in response.json()["text"]
    assert creates(tavus) == []


def test_list_and_status_show_the_requesters_requests(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="PoseNotSuitableError", training_seconds=0.3))
    create(app, images, name="Listed One")
    wait_thread(slack, wait_card(slack, "Listed One"))
    replica_id = tavus.replicas()[0]["replica_id"]
    listing = app.sender.command("list", user_id=USER, channel_id=CHANNEL).json()["text"]
    assert "Listed One" in listing and replica_id in listing and "PoseNotSuitableError" in listing
    status = app.sender.command(f"status {replica_id}", user_id=USER, channel_id=CHANNEL).json()["text"]
    assert "failed" in status.lower()
    # Someone else, elsewhere, does not see it.
    other = app.sender.command(f"status {replica_id}", user_id="U999", channel_id="C999").json()["text"]
    assert "I have no request" in other


# --- preflight: nothing bad reaches Tavus ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/small.png", "512"),
        ("/tall.png", "511"),
        ("/anim.gif", "GIF"),
        ("/text.png", "isn't a picture"),
        ("/missing.png", "404"),
    ],
)
def test_preflight_refusals_reach_the_requester_and_not_tavus(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, path: str, expected: str
) -> None:
    from tests.images import other_format, png

    images.put("/small.png", png(300, 300), "image/png")
    images.put("/tall.png", png(511, 4000), "image/png")
    images.put("/anim.gif", other_format("GIF"), "image/png")
    images.put("/text.png", b"this is not a photo at all\n" * 20, "image/png")
    create(app, images, path=path)
    ephemeral = slack.wait_for(lambda: slack.ephemerals(CHANNEL))
    assert expected.lower() in ephemeral[0]["text"].lower()
    assert "I did not send this to Tavus" in ephemeral[0]["text"]
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    assert slack.messages(CHANNEL) == []


def test_private_addresses_are_refused_unless_allowed(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(ALLOW_PRIVATE_URLS="false")
    local = images.put("/never-fetched.png", b"")
    for url in (
        local,
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.com/a.png",
    ):
        slack.reset()
        app.sender.command(f"create {url} voice=anna", user_id=USER, channel_id=CHANNEL)
        ephemeral = slack.wait_for(lambda: slack.ephemerals(CHANNEL))
        assert "I did not send this to Tavus" in ephemeral[0]["text"]
    assert creates(tavus) == []
    assert images.hits("/never-fetched.png") == 0


# --- storage: PostgreSQL as well as SQLite ------------------------------------------------------------------


def test_the_whole_loop_on_postgresql(
    start_app: AppFactory, postgres_url: str, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(database_url=postgres_url)
    tavus.script(
        ScriptedOutcome("error", error_message="Phx4MultipleForegroundPeopleError", training_seconds=1)
    )
    create(app, images)
    card = wait_card(slack)
    app.kill9()
    app.start()
    replies = wait_thread(slack, card, timeout=30)
    assert CATALOGUE.lookup("Phx4MultipleForegroundPeopleError").explanation in rendered(replies[0])  # type: ignore[union-attr]
    wait_until_quiet(slack)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1

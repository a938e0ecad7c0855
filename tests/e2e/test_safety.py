"""Nothing lost, nothing doubled, nobody let in — end to end over HTTP against real app processes."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import ScriptedOutcome, TavusEmulator
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    button,
    click,
    create,
    creates,
    mention_event,
    rendered,
    until,
    upload,
    wait_card,
    wait_thread,
    wait_until_quiet,
)
from tests.images import png
from tests.servers import BOT_TOKEN, SIGNING_SECRET, TAVUS_KEY


def cards(slack: SlackFake, channel: str = CHANNEL) -> list[dict]:
    return [m for m in slack.messages(channel) if not m.get("thread_ts")]


def gets_of(tavus: TavusEmulator, replica_id: str) -> list[dict]:
    return [c for c in tavus.calls() if c["method"] == "GET" and c["path"] == f"/v2/faces/{replica_id}"]


# --- delivery that survives Slack ----------------------------------------------------------------------


def test_slack_429_and_503_on_post_are_retried_and_post_once(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=1))
    slack.inject("chat.postMessage", status=429, retry_after=1, count=2)
    slack.inject("chat.postMessage", status=503, count=2)
    create(app, images)
    card = wait_card(slack, timeout=30)
    replies = wait_thread(slack, card, timeout=30)
    wait_until_quiet(slack, quiet=1.5)
    assert len(cards(slack)) == 1
    assert len(slack.thread(CHANNEL, card["ts"])) == 1
    assert "ImageQualityError" in rendered(replies[0]) or "blurry" in rendered(replies[0]).lower()


def test_kill_9_between_slack_accepting_a_post_and_recording_it_posts_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=1))
    # The card: Slack stores it, then the app dies before it hears the ts.
    slack.delay_response("chat.postMessage", 10)
    create(app, images)
    slack.wait_for(lambda: cards(slack))
    app.kill9()
    app.start()
    card = wait_card(slack)
    # The failure post: the same moment, in the thread.
    wait_thread(slack, card, timeout=30)
    wait_until_quiet(slack, quiet=2)
    assert len(cards(slack)) == 1
    assert len(slack.thread(CHANNEL, card["ts"])) == 1


def test_kill_9_during_the_failure_post_posts_it_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    tavus.script(ScriptedOutcome("error", error_message="HeadphonesError", training_seconds=2))
    create(app, images)
    card = wait_card(slack)
    slack.delay_response("chat.postMessage", 10)
    wait_thread(slack, card, timeout=20)
    app.kill9()
    app.start()
    wait_until_quiet(slack, quiet=3)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1


def test_kill_9_between_tavus_create_and_storing_the_id_makes_no_second_replica(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    tavus.script(ScriptedOutcome("error", error_message="PoseNotSuitableError", training_seconds=3))
    tavus.delay_response(method="POST", path_prefix="/v2/faces", seconds=10)
    create(app, images, name="Crash Test")
    slack.wait_for(lambda: tavus.replicas())  # Tavus has created it; the app has not heard back
    app.kill9()
    app.start()
    card = wait_card(slack, "Crash Test", timeout=30)
    replica_id = tavus.replicas()[0]["replica_id"]
    assert replica_id in rendered(slack.messages(CHANNEL)[0]) or slack.wait_for(
        lambda: replica_id in rendered(slack.messages(CHANNEL)[0])
    )
    wait_thread(slack, card, timeout=30)
    # One replica: the one Tavus made before the crash was adopted, not created again.
    assert len(tavus.replicas()) == 1
    # The delayed answer is logged when it is sent: wait for it, so it does not land in the next test.
    until(lambda: creates(tavus), timeout=15)


def test_kill_9_before_tavus_heard_of_it_submits_the_request_after_restart(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    # Tavus is down while the request is made and the app dies before trying again.
    tavus.inject_fault(method="POST", path_prefix="/v2/faces", status=503, count=1, delay_seconds=10)
    create(app, images, name="Never Lost")
    time.sleep(1)
    app.kill9()
    app.start()
    wait_card(slack, "Never Lost", timeout=30)
    assert len(tavus.replicas()) == 1


def test_undeliverable_channel_falls_back_to_a_dm(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    slack.set_channel_error(CHANNEL, "channel_not_found")
    create(app, images)
    dm = slack.wait_for(
        lambda: [
            m for m in slack.messages(f"D{USER}") if CHANNEL in m.get("text", "") or CHANNEL in rendered(m)
        ],
        timeout=20,
    )
    assert dm


# --- callbacks -----------------------------------------------------------------------------------------


def test_a_lying_callback_changes_nothing(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(POLL_INTERVAL_SECONDS="3600")
    tavus.script(ScriptedOutcome("completed", training_seconds=60))
    create(app, images)
    card = wait_card(slack)
    callback_url = creates(tavus)[0]["json"]["callback_url"]
    spoof = {
        "replica_id": tavus.replicas()[0]["replica_id"],
        "status": "error",
        "error_message": "CelebrityFoundError",
    }
    assert httpx.post(callback_url, json=spoof).status_code == 202
    wait_until_quiet(slack, tavus, quiet=1.5)
    assert slack.thread(CHANNEL, card["ts"]) == []
    assert httpx.post(f"{app.url}/tavus/callback/forged-token", json=spoof).status_code == 404


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    token=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60),
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.dictionaries(st.text(max_size=10), st.text(max_size=20)).map(lambda d: repr(d).encode()),
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
)
def test_callback_endpoint_fuzz_never_500(
    app: AppProcess, token: str, body: bytes, content_type: str
) -> None:
    url = f"{app.url}/tavus/callback/{quote(token, safe='') or 'x'}"
    response = httpx.post(url, content=body, headers={"Content-Type": content_type} if content_type else {})
    # 202 for a known token, 400/404 for junk, 307 where a trailing slash redirects: never a server error.
    assert response.status_code in (202, 307, 400, 404, 405)


# --- several processes on one PostgreSQL ---------------------------------------------------------------


def test_three_processes_on_postgresql_post_each_failure_once_and_poll_each_replica_once_per_interval(
    start_app: AppFactory, postgres_url: str, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    # Callbacks off (a dead address): only the sweeps poll, so their exclusivity is what is measured.
    apps = [
        start_app(database_url=postgres_url, POLL_INTERVAL_SECONDS="1", PUBLIC_BASE_URL="http://127.0.0.1:9")
        for _ in range(3)
    ]
    names = [f"Batch {i:02d}" for i in range(12)]
    for i, name in enumerate(names):
        tavus.script(
            ScriptedOutcome(
                "error", error_message="Phx4FaceObscuredError", training_seconds=6, match_name=name
            )
        )
        apps[i % 3].sender.command(
            f'create {images.url}/ana.png voice=anna name="{name}"', user_id=USER, channel_id=CHANNEL
        )
    slack.wait_for(lambda: len(cards(slack)) == 12, timeout=60)
    slack.wait_for(lambda: all(len(slack.thread(CHANNEL, c["ts"])) >= 1 for c in cards(slack)), timeout=60)
    wait_until_quiet(slack, quiet=3)
    for card in cards(slack):
        assert len(slack.thread(CHANNEL, card["ts"])) == 1, rendered(card)
    assert len(tavus.replicas()) == 12
    for replica in tavus.replicas():
        times = sorted(c["time"] for c in gets_of(tavus, replica["replica_id"]))
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps and min(gaps) > 0.6, (replica["replica_name"], gaps)


# --- access and consent --------------------------------------------------------------------------------


def test_outside_the_allowed_channels_the_bot_refuses_and_says_where(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(ALLOWED_CHANNEL_IDS="C_OK,C_ALSO")
    response = app.sender.command(
        f"create {images.url}/ana.png voice=anna", user_id=USER, channel_id="C_NOPE"
    )
    assert "<#C_OK>" in response.json()["text"] and "<#C_ALSO>" in response.json()["text"]
    message = slack.add_message("C_NOPE", "<@UBOT> voice=anna", files=[upload(slack, png(640, 640))])
    event = mention_event(message, message["text"]) | {"channel": "C_NOPE"}
    app.sender.event(event)
    reply = slack.wait_for(lambda: slack.thread("C_NOPE", message["ts"]))[0]
    assert "<#C_OK>" in reply["text"]
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    # Inside, it works.
    app.sender.command(f"create {images.url}/ana.png voice=anna", user_id=USER, channel_id="C_OK")
    slack.wait_for(lambda: cards(slack, "C_OK"))


def test_consent_button_gates_submission_and_the_affirmation_is_stored(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, tmp_path: Path
) -> None:
    app = start_app(REQUIRE_CONSENT_CONFIRMATION="true")
    create(app, images, name="Needs Consent")
    question = slack.wait_for(lambda: slack.ephemerals(CHANNEL))[0]
    assert "rights" in rendered(question)
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    confirm = button(question, "confirm_request")
    click(app, confirm, user="U_OTHER", response_url=slack.response_url())
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    click(app, confirm, user=USER, response_url=slack.response_url())
    wait_card(slack, "Needs Consent")
    assert len(creates(tavus)) == 1
    with sqlite3.connect(tmp_path / "replica_bot.db") as db:
        who, when = db.execute(
            "SELECT rights_affirmed_by, rights_affirmed_at FROM replica_request"
        ).fetchone()
    assert who == USER and when


def test_consent_for_a_mentioned_photo_is_asked_in_its_thread(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator
) -> None:
    app = start_app(REQUIRE_CONSENT_CONFIRMATION="true")
    message = slack.add_message(CHANNEL, "<@UBOT> voice=anna", files=[upload(slack, png(640, 640))])
    app.sender.event(mention_event(message, message["text"]))
    question = slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"]))[0]
    assert creates(tavus) == []
    confirm = button(question, "confirm_request")
    click(app, confirm, user=USER, response_url=slack.response_url())
    slack.wait_for(
        lambda: [m for m in slack.thread(CHANNEL, message["ts"]) if "Replica request" in m["text"]]
    )
    assert len(creates(tavus)) == 1


def test_delete_is_refused_during_the_grace_period_and_allowed_after(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, tmp_path: Path
) -> None:
    app = start_app(DELETE_GRACE_MINUTES="60")
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    create(app, images)
    wait_thread(slack, wait_card(slack))
    replica_id = tavus.replicas()[0]["replica_id"]
    app.sender.command(f"delete {replica_id}", user_id=USER, channel_id=CHANNEL)
    refusal = slack.wait_for(lambda: slack.ephemerals(CHANNEL))[0]["text"]
    assert "refund" in refusal and "min" in refusal
    app.sender.command(f"delete {replica_id}", user_id="U_STRANGER", channel_id=CHANNEL)
    slack.wait_for(lambda: len(slack.ephemerals(CHANNEL)) >= 2)
    assert "Only the person" in slack.ephemerals(CHANNEL)[1]["text"]
    assert not [c for c in tavus.calls() if c["method"] == "DELETE"]

    app.stop()
    later = start_app(DELETE_GRACE_MINUTES="0")
    later.sender.command(f"delete {replica_id}", user_id=USER, channel_id=CHANNEL)
    slack.wait_for(lambda: [c for c in tavus.calls() if c["method"] == "DELETE"])
    slack.wait_for(lambda: "Deleted" in rendered(cards(slack)[0]))


def test_admins_may_delete_other_peoples_replicas(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(DELETE_GRACE_MINUTES="0", ADMIN_USER_IDS="U_ADMIN")
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    create(app, images)
    wait_thread(slack, wait_card(slack))
    replica_id = tavus.replicas()[0]["replica_id"]
    app.sender.command(f"delete {replica_id}", user_id="U_ADMIN", channel_id="C_ELSEWHERE")
    slack.wait_for(lambda: [c for c in tavus.calls() if c["method"] == "DELETE"])


def test_a_long_stall_gets_one_reassuring_notice(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(STUCK_AFTER_HOURS="0.0005")  # 1.8 s
    tavus.script(ScriptedOutcome("completed", training_seconds=40, stall_at_percent=8))
    create(app, images)
    card = wait_card(slack)
    notice = wait_thread(slack, card, timeout=20)[0]
    assert "still training" in rendered(notice) and "support@tavus.io" in rendered(notice)
    assert f"<@{USER}>" in rendered(notice)
    wait_until_quiet(slack, quiet=3)
    assert len(slack.thread(CHANNEL, card["ts"])) == 1


# --- hostile input -------------------------------------------------------------------------------------


def test_names_that_look_like_mentions_ping_nobody(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    create(app, images, name="<!channel> <@U999> <!here>")
    card = slack.wait_for(lambda: cards(slack))[0]
    reply = wait_thread(slack, card)[0]
    for message in (card, reply):
        text = rendered(message)
        assert "<!channel>" not in text and "<@U999>" not in text and "<!here>" not in text
        assert "&lt;!channel&gt;" in text


def test_secrets_never_reach_logs_or_slack(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    create(app, images)
    wait_thread(slack, wait_card(slack))
    # An operator mistake: the wrong Tavus key makes every call fail with 401.
    wrong = start_app(TAVUS_API_KEY="tavus-wrong-key-9f8e7d6c")
    create(wrong, images, name="Wrong Key")
    reply = slack.wait_for(lambda: slack.ephemerals(CHANNEL))[0]["text"]
    assert "not set up correctly" in reply
    shown = " ".join(rendered(m) for m in slack.messages(CHANNEL)) + reply
    logs = app.logs() + wrong.logs()
    for secret in (BOT_TOKEN, SIGNING_SECRET, TAVUS_KEY, "tavus-wrong-key-9f8e7d6c"):
        assert secret not in logs
        assert secret not in shown
    assert "401" in logs or "Invalid access token" in logs or "auth" in logs.lower()

"""Trying a finished face where it was asked for, end to end over HTTP: the buttons on its ready posts, a
sample video made once (double clicks, double submits, kill -9 included) and its link posted once, a
video error explained, the spending cap, people who may not, a test call whose link reaches only the
person who clicked, one live call per face, Tavus' concurrency refusal, and the commands."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import EmulatorServer, ScriptedOutcome, TavusEmulator
from bot.slack.ids import MAKE_VIDEO_ACTION, TALK_ACTION
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    button,
    click,
    conversation_creates,
    create,
    ready_face,
    rendered,
    script_submission,
    until,
    video_creates,
    wait_card,
    wait_thread,
    wait_until_quiet,
)
from tests.servers import TAVUS_KEY

OTHER = "U999"


def face_id(tavus: TavusEmulator) -> str:
    return str(tavus.replicas()[0]["replica_id"])


def thread_of(slack: SlackFake) -> list[dict[str, Any]]:
    card = next(m for m in slack.messages(CHANNEL) if not m.get("thread_ts"))
    return slack.thread(CHANNEL, card["ts"])


def posts_saying(slack: SlackFake, words: str) -> list[dict[str, Any]]:
    return [m for m in thread_of(slack) if words in rendered(m)]


def wait_post(slack: SlackFake, words: str, timeout: float = 20) -> dict[str, Any]:
    return slack.wait_for(lambda: next(iter(posts_saying(slack, words)), None), timeout=timeout)


def ephemeral_to(slack: SlackFake, user: str, words: str, timeout: float = 15) -> dict[str, Any]:
    return slack.wait_for(
        lambda: next((e for e in slack.ephemerals() if e["user"] == user and words in rendered(e)), None),
        timeout=timeout,
    )


def open_form(app: AppProcess, slack: SlackFake, post: dict[str, Any], *, user: str = USER) -> dict[str, Any]:
    seen = len(slack.calls("views.open"))
    click(app, button(post, MAKE_VIDEO_ACTION), user=user)
    call = slack.wait_for(lambda: slack.calls("views.open")[seen:] or None)[0]
    return dict(call["params"]["view"])


def prefilled(view: dict[str, Any]) -> str:
    [script] = [b for b in view["blocks"] if b.get("block_id") == "script"]
    return str(script["element"]["initial_value"])


def everything_posted(slack: SlackFake) -> str:
    """Every message the app posted anywhere a channel or a DM keeps (not ephemerals), as read."""
    posted = [m for channel in (CHANNEL, f"D{USER}", f"D{OTHER}") for m in slack.messages(channel)]
    return "\n".join(rendered(m) for m in posted)


# --- where it appears ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["requester", "off"])
def test_the_completion_post_offers_a_sample_video_and_a_test_call_unless_off(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, mode: str
) -> None:
    app = start_app(TRY_FACE=mode)
    post = ready_face(app, slack, images)
    if mode == "off":
        assert "Make a sample video" not in rendered(post) and "Talk to it" not in rendered(post)
        answer = app.sender.command(f"talk {face_id(tavus)}", user_id=USER, channel_id=CHANNEL).json()
        assert "turned off" in answer["text"]
        wait_until_quiet(slack, tavus, quiet=1)
        assert conversation_creates(tavus) == []
        return
    assert button(post, MAKE_VIDEO_ACTION)["text"]["text"] == "Make a sample video"
    assert button(post, TALK_ACTION)["text"]["text"] == "Talk to it"


def test_phoenix_4_5_preview_and_tuned_posts_carry_the_buttons(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    tavus.script(ScriptedOutcome("completed", training_seconds=0.5, tuning_seconds=2))
    create(app, images, extra="voice=anna model=phoenix-4.5")
    preview, tuned = wait_thread(slack, wait_card(slack), count=2, timeout=20)
    for post in (preview, tuned):
        assert button(post, MAKE_VIDEO_ACTION) and button(post, TALK_ACTION)
    assert "Preview" in rendered(preview) or "preview" in rendered(preview)
    assert "tuned" in rendered(tuned)


# --- a sample video -----------------------------------------------------------------------------------------


def test_a_sample_video_is_made_once_and_its_link_posted_once_across_kill_9(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app()
    post = ready_face(app, slack, images)
    tavus.jobs.script_video(seconds=4)
    # A double click opens the form twice; both come prefilled with the face's introduction.
    first, second = open_form(app, slack, post), open_form(app, slack, post)
    script = prefilled(first)
    assert "Ana Demo" in script and prefilled(second) == script
    # A double submit of one form, and the other form submitted too: one video.
    for view in (first, first, second):
        assert app.sender.interaction(script_submission(view, script)).status_code == 200
    started = wait_post(slack, "asked for a sample video")
    assert f"<@{USER}>" in rendered(started) and "Ana Demo" in rendered(started)
    until(lambda: len(video_creates(tavus)) >= 1)
    [made] = video_creates(tavus)
    assert made["json"]["replica_id"] == face_id(tavus) and made["json"]["script"] == script
    assert "Slack" in made["json"]["video_name"]
    assert made["json"]["callback_url"].startswith(f"{app.url}/tavus/callback/")
    ephemeral_to(slack, USER, "already being made")

    # The video finishes while the app is down; after the restart it is posted, once.
    app.kill9()
    until(lambda: tavus.jobs.videos()[0]["status"] == "ready", timeout=15)
    app.start()
    ready = wait_post(slack, "is ready: ")
    video = tavus.jobs.videos()[0]
    text = rendered(ready)
    assert video["hosted_url"] in text and f"<@{USER}>" in text
    [image] = [b for b in ready["blocks"] if b["type"] == "image"]
    assert image["image_url"] == video["gif_thumbnail_url"]
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(video_creates(tavus)) == 1
    assert len(posts_saying(slack, "asked for a sample video")) == 1
    assert len(posts_saying(slack, "is ready: ")) == 1


def test_kill_9_between_the_create_and_its_record_makes_one_video(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(RECONCILE_AFTER_SECONDS="1")
    post = ready_face(app, slack, images)
    tavus.jobs.script_video(seconds=1)
    tavus.delay_response(method="POST", path_prefix="/v2/videos", seconds=10)
    view = open_form(app, slack, post)
    app.sender.interaction(script_submission(view, "Hello from the crash test."))
    until(lambda: tavus.jobs.videos())  # Tavus has made it; the app has not heard back
    app.kill9()
    app.start()
    ready = wait_post(slack, "is ready: ", timeout=30)
    assert tavus.jobs.videos()[0]["hosted_url"] in rendered(ready)
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(tavus.jobs.videos()) == 1
    assert len(posts_saying(slack, "is ready: ")) == 1
    assert len(posts_saying(slack, "asked for a sample video")) == 1
    # The delayed answer is logged when it is sent: wait for it, so it does not land in the next test.
    until(lambda: [c for c in video_creates(tavus) if c["status"] == 200], timeout=15)
    assert len(video_creates(tavus)) == 1


@pytest.mark.parametrize(
    ("details", "explained"),
    [
        ("The script is too long for this replica <!channel>", "a shorter, plainer one"),
        (None, "error while rendering"),  # Tavus' one documented text, a generic one
    ],
)
def test_a_video_error_is_explained_with_what_to_try_next(
    app: AppProcess,
    slack: SlackFake,
    tavus: TavusEmulator,
    images: StaticServer,
    details: str | None,
    explained: str,
) -> None:
    post = ready_face(app, slack, images)
    tavus.jobs.script_video("error", status_details=details, seconds=0.5)
    app.sender.interaction(script_submission(open_form(app, slack, post), "A line Tavus will not render."))
    failed = wait_post(slack, "could not make the sample video")
    text = rendered(failed)
    video_id = tavus.jobs.videos()[0]["video_id"]
    assert explained in text and video_id in text and f"<@{USER}>" in text
    assert "Make a sample video" in text and "Talk to it" in text and "support@tavus.io" in text
    said = tavus.jobs.videos()[0]["status_details"]
    assert said.replace("<", "&lt;").replace(">", "&gt;") in text and "<!channel>" not in text
    wait_until_quiet(slack, tavus, quiet=1.5)
    assert len(posts_saying(slack, "could not make the sample video")) == 1


def test_a_ready_video_without_any_link_is_said_so_with_its_id(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    post = ready_face(app, slack, images)
    tavus.jobs.script_video(seconds=0.5, no_urls=True)
    app.sender.interaction(script_submission(open_form(app, slack, post), "Hello."))
    ready = wait_post(slack, "gave no link")
    assert tavus.jobs.videos()[0]["video_id"] in rendered(ready)


def test_the_spending_cap_says_how_many_were_made_and_who_may_make_more(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(SAMPLE_VIDEOS_PER_FACE="1", ADMIN_USER_IDS="UADMIN")
    post = ready_face(app, slack, images)
    tavus.jobs.script_video(seconds=0.5, count=2)
    app.sender.interaction(script_submission(open_form(app, slack, post), "The first one."))
    wait_post(slack, "is ready: ")
    forms = len(slack.calls("views.open"))
    click(app, button(post, MAKE_VIDEO_ACTION))
    refused = ephemeral_to(slack, USER, "the limit is 1 per face")
    assert "has had 1 sample video" in rendered(refused) and "<@UADMIN>" in rendered(refused)
    answer = app.sender.command(f"video {face_id(tavus)} Another one.", user_id=USER, channel_id=CHANNEL)
    assert "the limit is 1 per face" in answer.json()["text"]
    wait_until_quiet(slack, tavus, quiet=1)
    assert len(slack.calls("views.open")) == forms and len(video_creates(tavus)) == 1
    # An admin is not held to it.
    admins_form = open_form(app, slack, post, user="UADMIN")
    app.sender.interaction(script_submission(admins_form, "An admin's.", user="UADMIN"))
    until(lambda: len(video_creates(tavus)) == 2)


# --- who may ------------------------------------------------------------------------------------------------


def test_someone_not_allowed_is_refused_and_nothing_is_created(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    post = ready_face(app, slack, images)
    face = face_id(tavus)
    click(app, button(post, MAKE_VIDEO_ACTION), user=OTHER)
    click(app, button(post, TALK_ACTION), user=OTHER)
    slack.wait_for(lambda: len([e for e in slack.ephemerals() if e["user"] == OTHER]) >= 2 or None)
    for refusal in [e for e in slack.ephemerals() if e["user"] == OTHER]:
        assert f"Only <@{USER}>, who asked for *Ana Demo*, or an admin" in rendered(refusal)
    for typed in (f"video {face} Hello", f"talk {face}", f"video {face}"):
        answer = app.sender.command(typed, user_id=OTHER, channel_id=CHANNEL).json()["text"]
        assert f"Only <@{USER}>" in answer
    # A form forged from someone else's click is refused at submit too.
    view = open_form(app, slack, post)
    forged = app.sender.interaction(script_submission(view, "Not mine.", user=OTHER)).json()
    assert f"Only <@{USER}>" in forged["errors"]["script"]
    for typed in ("video rNOSUCHFACE Hi", "talk rNOSUCHFACE"):
        answer = app.sender.command(typed, user_id=USER, channel_id=CHANNEL).json()["text"]
        assert "I didn't make a face with id `rNOSUCHFACE`" in answer
    wait_until_quiet(slack, tavus, quiet=1.5)
    assert [c for c in tavus.calls() if c["path"].startswith(("/v2/videos", "/v2/conversations"))] == []
    assert len(thread_of(slack)) == 1  # the completion post, nothing else


def test_everyone_lets_anyone_in_the_faces_channel_try_it(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(TRY_FACE="everyone")
    post = ready_face(app, slack, images)
    click(app, button(post, TALK_ACTION), user=OTHER)
    ephemeral_to(slack, OTHER, "Join the call")
    elsewhere = app.sender.command(f"video {face_id(tavus)}", user_id="U777", channel_id="C0ELSEWHERE")
    assert f"Anyone in <#{CHANNEL}>" in elsewhere.json()["text"]


# --- a short test call --------------------------------------------------------------------------------------


def test_a_test_call_link_reaches_only_the_clicker_and_the_thread_hears_start_and_end_once(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(TEST_CALL_SECONDS="10", TEST_CALLS_PER_FACE="1")
    post = ready_face(app, slack, images)
    click(app, button(post, TALK_ACTION))
    link = ephemeral_to(slack, USER, "Join the call")
    [conversation] = tavus.jobs.conversations()
    assert conversation["room_url"] in rendered(link) and "only for you" in rendered(link)
    [made] = conversation_creates(tavus)
    body = made["json"]
    assert body["replica_id"] == face_id(tavus)
    assert body["properties"]["max_call_duration"] == 10
    assert 0 < body["properties"]["participant_left_timeout"] <= 60
    assert 0 < body["properties"]["participant_absent_timeout"] <= 60
    assert body["callback_url"].startswith(f"{app.url}/tavus/callback/")
    [pal] = tavus.jobs.pals()
    assert body["persona_id"] == pal["pal_id"] and pal["default_face_id"] == face_id(tavus)
    started = wait_post(slack, "started a test call")
    assert f"<@{USER}>" in rendered(started) and "went to them only" in rendered(started)

    # A second click while it is live: who is in it, and until when.
    click(app, button(post, TALK_ACTION))
    busy = ephemeral_to(slack, USER, "is in a test call")
    assert f"<@{USER}> is in a test call with *Ana Demo*" in rendered(busy) and "ends by" in rendered(busy)

    # Tavus ends it at max_call_duration and calls back; the thread says so once, with its length.
    ended = wait_post(slack, "has ended after", timeout=25)
    assert "Ana Demo" in rendered(ended)
    assert [c["body"]["event_type"] for c in tavus.callbacks() if "conversation_id" in c["body"]] == [
        "system.replica_joined",
        "system.shutdown",
    ]
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(posts_saying(slack, "started a test call")) == 1
    assert len(posts_saying(slack, "has ended after")) == 1
    assert len(conversation_creates(tavus)) == 1
    # The link is nowhere but in that ephemeral (Tavus' hosted room page, which opens in any browser).
    for url in (conversation["room_url"], conversation["conversation_url"]):
        assert url not in everything_posted(slack)
    assert [e for e in slack.ephemerals() if conversation["room_url"] in rendered(e)] == [link]

    # TEST_CALLS_PER_FACE=1: that was its one call.
    click(app, button(post, TALK_ACTION))
    assert "has had 1 test call" in rendered(ephemeral_to(slack, USER, "the limit is 1 per face"))
    assert len(conversation_creates(tavus)) == 1
    assert len([c for c in tavus.calls() if c["path"] in ("/v2/pals", "/v2/personas")]) == 1


def test_the_bot_ends_a_call_whose_time_is_up(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(TEST_CALL_SECONDS="10")
    post = ready_face(app, slack, images)
    tavus.jobs.overrun = True  # a Tavus that lets the call run past max_call_duration
    click(app, button(post, TALK_ACTION))
    ephemeral_to(slack, USER, "Join the call")
    wait_post(slack, "has ended after", timeout=25)
    ends = [c for c in tavus.calls() if c["method"] == "POST" and c["path"].endswith("/end")]
    assert len(ends) == 1 and tavus.jobs.conversations()[0]["status"] == "ended"
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(posts_saying(slack, "has ended after")) == 1


def test_tavus_concurrency_refusal_is_explained_to_the_clicker(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    post = ready_face(app, slack, images)
    tavus.jobs.limit_conversations(0)
    click(app, button(post, TALK_ACTION))
    refused = ephemeral_to(slack, USER, "live conversations")
    assert "couldn't start" in rendered(refused) and "try again" in rendered(refused)
    [refusal] = conversation_creates(tavus)
    assert refusal["status"] == 400
    # A refusal holds nothing: once Tavus has room, the next click starts the call.
    tavus.jobs.limit_conversations(None)
    click(app, button(post, TALK_ACTION))
    ephemeral_to(slack, USER, "Join the call")
    assert len(posts_saying(slack, "did not start")) == 0


def test_a_pal_deleted_in_tavus_is_made_anew_and_the_call_starts(
    app: AppProcess,
    slack: SlackFake,
    tavus: TavusEmulator,
    tavus_server: EmulatorServer,
    images: StaticServer,
) -> None:
    post = ready_face(app, slack, images)
    click(app, button(post, TALK_ACTION))
    ephemeral_to(slack, USER, "Join the call")
    [first] = tavus.jobs.pals()
    [call] = tavus.jobs.conversations()
    key = {"x-api-key": TAVUS_KEY}
    httpx.post(f"{tavus_server.url}/v2/conversations/{call['conversation_id']}/end", headers=key)
    wait_post(slack, "has ended after")
    # Someone tidies the account in Tavus' portal: the PAL the bot kept is gone.
    deleted = httpx.delete(f"{tavus_server.url}/v2/pals/{first['pal_id']}", headers=key)
    assert deleted.status_code == 204 and tavus.jobs.pals() == []

    click(app, button(post, TALK_ACTION))
    slack.wait_for(lambda: len([e for e in slack.ephemerals() if "Join the call" in rendered(e)]) > 1 or None)
    [second] = tavus.jobs.pals()
    refused, made = conversation_creates(tavus)[1:]
    assert refused["status"] == 400 and refused["json"]["persona_id"] == first["pal_id"]
    assert made["status"] == 200 and made["json"]["persona_id"] == second["pal_id"] != first["pal_id"]
    assert not [e for e in slack.ephemerals() if "couldn't start" in rendered(e)]
    assert len(posts_saying(slack, "did not start")) == 0


# --- the commands, and names that must ping nobody ----------------------------------------------------------


def test_the_commands_do_what_the_buttons_do_and_escape_names_and_scripts(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    ready_face(app, slack, images, name="<!channel> Ana", shown="&lt;!channel&gt; Ana")
    face = face_id(tavus)
    tavus.jobs.script_video(seconds=0.5)
    script = "Hi <@U999>, it's me & <!here>"
    answer = app.sender.command(f"video {face} {script}", user_id=USER, channel_id=CHANNEL).json()
    assert "Tavus is making the sample video" in answer["text"]
    until(lambda: video_creates(tavus))
    assert video_creates(tavus)[0]["json"]["script"] == script
    started = rendered(wait_post(slack, "asked for a sample video"))
    assert "&lt;!channel&gt; Ana" in started and "&lt;@U999&gt;" in started and "&lt;!here&gt;" in started
    wait_post(slack, "is ready: ")
    for post in thread_of(slack):
        assert "<!channel>" not in rendered(post) and "<!here>" not in rendered(post)

    answer = app.sender.command(f"talk {face}", user_id=USER, channel_id=CHANNEL).json()
    assert "Starting a test call" in answer["text"]
    ephemeral_to(slack, USER, "Join the call")
    app.sender.command(f"video {face}", user_id=USER, channel_id=CHANNEL)
    view = slack.wait_for(lambda: slack.calls("views.open") or None)[0]["params"]["view"]
    assert "Ana" in prefilled(view)


# --- faults and bad input -----------------------------------------------------------------------------------


def test_tavus_down_at_create_is_retried_then_told_once_to_the_clicker_and_the_thread(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    post = ready_face(app, slack, images)
    # A 503 and a 429 are retried with backoff, as a face's create is: one video.
    tavus.jobs.script_video(seconds=0.5)
    tavus.inject_fault(method="POST", path_prefix="/v2/videos", status=503)
    tavus.inject_fault(method="POST", path_prefix="/v2/videos", status=429, retry_after=0.2)
    app.sender.interaction(script_submission(open_form(app, slack, post), "Third time lucky."))
    wait_post(slack, "is ready: ")
    assert [c["status"] for c in video_creates(tavus)] == [503, 429, 200]
    # Down for good: nothing is made, the clicker and the thread hear it once.
    tavus.inject_fault(method="POST", path_prefix="/v2/videos", status=503, count=20)
    app.sender.interaction(script_submission(open_form(app, slack, post), "Nobody is home."))
    told = ephemeral_to(slack, USER, "not answering right now", timeout=30)
    assert "sample video did not start" in rendered(told)
    wait_post(slack, "did not start")
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(posts_saying(slack, "did not start")) == 1
    assert len(tavus.jobs.videos()) == 1


@pytest.mark.parametrize(("outcome", "said"), [("training", "still training"), ("error", "training failed")])
def test_a_face_that_is_not_ready_is_refused_and_tavus_is_not_asked(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, outcome: str, said: str
) -> None:
    if outcome == "error":
        tavus.script(ScriptedOutcome("error", error_message="ImageQualityError", training_seconds=0.5))
    else:
        tavus.script(ScriptedOutcome("completed", training_seconds=60))
    create(app, images)
    card = wait_card(slack)
    if outcome == "error":
        wait_thread(slack, card)
    for typed in (f"video {face_id(tavus)} Hello", f"talk {face_id(tavus)}", f"video {face_id(tavus)}"):
        answer = app.sender.command(typed, user_id=USER, channel_id=CHANNEL).json()["text"]
        assert said in answer
    wait_until_quiet(slack, quiet=1)
    assert [c for c in tavus.calls() if c["path"].startswith(("/v2/videos", "/v2/conversations"))] == []
    assert slack.calls("views.open") == []


# --- several processes on PostgreSQL ------------------------------------------------------------------------


def test_two_processes_on_postgresql_share_the_work_and_say_everything_once(
    start_app: AppFactory,
    migrated_postgres_url: str,
    slack: SlackFake,
    tavus: TavusEmulator,
    images: StaticServer,
) -> None:
    first = start_app(database_url=migrated_postgres_url, TEST_CALL_SECONDS="10")
    second = start_app(database_url=migrated_postgres_url, TEST_CALL_SECONDS="10")
    post = ready_face(first, slack, images)
    tavus.jobs.script_video(seconds=3)
    view = open_form(first, slack, post)
    script = prefilled(view)
    # The same form submitted to both processes (a Slack retry landing elsewhere): one video.
    for app in (first, second, first):
        app.sender.interaction(script_submission(view, script))
    click(second, button(post, TALK_ACTION))
    ephemeral_to(slack, USER, "Join the call")
    wait_post(slack, "asked for a sample video")
    first.kill9()  # the survivor follows both jobs
    # A post the killed process had claimed but not yet made waits out its outbox lease (15 s), as crash
    # recovery is designed to: then the survivor makes it.
    said = ("asked for a sample video", "is ready: ", "started a test call", "has ended after")
    for words in said:
        wait_post(slack, words, timeout=40)
    wait_until_quiet(slack, tavus, quiet=2)
    assert len(video_creates(tavus)) == 1 and len(conversation_creates(tavus)) == 1
    for words in said:
        assert len(posts_saying(slack, words)) == 1, words


def test_callbacks_are_only_a_reason_to_look_again(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    # Polls come seldom (every 10 s at first): what arrives sooner came through a callback.
    app = start_app(POLL_INTERVAL_SECONDS="3600")
    post = ready_face(app, slack, images)
    tavus.jobs.script_video(seconds=3)
    app.sender.interaction(script_submission(open_form(app, slack, post), "Hello."))
    until(lambda: tavus.jobs.videos())
    [video] = tavus.jobs.videos()
    # A callback that lies (it is not signed) is re-read, and believed only as far as Tavus says.
    forged = httpx.post(video["callback_url"], json={"video_id": video["video_id"], "status": "ready"})
    assert forged.status_code == 202
    assert httpx.post(f"{app.url}/tavus/callback/not-a-token", json={"status": "ready"}).status_code == 404
    ready = wait_post(slack, "is ready: ", timeout=8)
    assert tavus.jobs.videos()[0]["hosted_url"] in rendered(ready)
    path = f"/v2/videos/{video['video_id']}"
    reads = [c for c in tavus.calls() if c["method"] == "GET" and c["path"] == path]
    assert len(reads) == 2  # the forged callback's, and the real one's
    wait_until_quiet(slack, quiet=1)
    assert len(posts_saying(slack, "is ready: ")) == 1

"""Whose face is it: the colleague in the photo says yes or no in a DM before anything of the photo reaches
Tavus, and approvers agree before credits are spent — end to end over HTTP against real app processes."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from bot.slack.ids import (
    APPROVE_ACTION,
    CONSENT_ALLOW_ACTION,
    CONSENT_DECLINE_ACTION,
    CONSENT_NOTE_ACTION,
    DECLINE_NOTE_CALLBACK_ID,
    DENY_ACTION,
    DENY_CALLBACK_ID,
    LIKENESS_COLLEAGUE_ACTION,
    WITHDRAW_ACTION,
)
from tests.e2e.app_process import AppFactory, AppProcess
from tests.e2e.helpers import (
    CHANNEL,
    USER,
    button,
    click,
    create,
    creates,
    mention_event,
    modal_submission,
    opened_view,
    rendered,
    submitted_image,
    until,
    upload,
    wait_card,
    wait_thread,
    wait_until_quiet,
)
from tests.images import jpeg, png

ANA = "U0ANA"
ANA_DM = f"D{ANA}"
OTHER = "U0BOB"
APPROVER, SECOND = "U0APP1", "U0APP2"
COLLEAGUE = f'for=<@{ANA}|ana>'


def tavus_calls(tavus: TavusEmulator) -> list[dict[str, Any]]:
    """Everything the app asked Tavus: nothing of a colleague's photo may reach it before they allow it."""
    return [c for c in tavus.calls() if c["path"].startswith("/v2/")]


def dm(slack: SlackFake, user: str, timeout: float = 15) -> dict[str, Any]:
    """The bot's one message in its DM with `user`, as it now reads (edits included)."""
    return slack.wait_for(lambda: next(iter(slack.messages(f"D{user}")), None), timeout=timeout)


def card_says(slack: SlackFake, text: str, name: str = "Ana Demo", timeout: float = 15) -> dict[str, Any]:
    return slack.wait_for(
        lambda: (card := wait_card(slack, name)) and text in rendered(card) and card, timeout=timeout
    )


def said_to(slack: SlackFake, user: str, words: str, timeout: float = 10) -> str:
    """What the app told `user` privately about what they clicked (an ephemeral, or the response_url)."""
    def said() -> str | None:
        ephemeral = [e["text"] for e in slack.ephemerals() if e["user"] == user]
        answered = [p["text"] for p in slack.response_url_posts()]
        return next((t for t in ephemeral + answered if words in t), None)

    return slack.wait_for(said, timeout=timeout)


def view_submission(view: dict[str, Any], user: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "trigger_id": "trig-view",
        "view": {
            "id": "V9",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": values},
        },
    }


def opened(slack: SlackFake, callback_id: str) -> dict[str, Any]:
    views = (c["params"]["view"] for c in slack.calls("views.open"))
    return slack.wait_for(lambda: next((v for v in views if v["callback_id"] == callback_id), None))


def typed(block_id: str, text: str) -> dict[str, Any]:
    return {block_id: {"value": {"type": "plain_text_input", "value": text}}}


# --- the colleague's consent --------------------------------------------------------------------------------


def test_a_colleague_is_asked_in_a_dm_and_nothing_reaches_tavus_before_they_allow(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    asked = dm(slack, ANA)
    words = rendered(asked)
    # Who asked, where, the photo itself (a thumbnail of the bytes to be submitted), name, voice, model.
    assert f"<@{USER}>" in words and f"<#{CHANNEL}>" in words
    assert "Ana Demo" in words and "anna" in words and "phoenix-4" in words
    photo = next(b for b in asked["blocks"] if b["type"] == "image")
    thumbnail = httpx.get(photo["image_url"], timeout=5)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    allow, decline = button(asked, CONSENT_ALLOW_ACTION), button(asked, CONSENT_DECLINE_ACTION)
    assert (allow["text"]["text"], decline["text"]["text"]) == ("Allow", "Decline")
    card = card_says(slack, f"Waiting for <@{ANA}>")
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []

    # A double click counts once.
    click(app, allow, user=ANA, channel=ANA_DM, response_url=slack.response_url())
    click(app, allow, user=ANA, channel=ANA_DM, response_url=slack.response_url())
    card_says(slack, f"Consent: <@{ANA}>", timeout=20)
    wait_until_quiet(slack, tavus)
    (made,) = creates(tavus)
    # What Tavus trains on is the photo the colleague saw: the bot's hosted copy.
    assert made["json"]["train_image_url"].startswith(app.url + "/media/")
    checks = [c for c in tavus.calls() if c["path"].endswith("image-validation")]
    assert len(checks) == 1 and checks[0]["time"] < made["time"]
    # The DM now says what was decided, and asks nothing more.
    decided = slack.wait_for(lambda: (m := dm(slack, ANA)) and "You allowed it" in rendered(m) and m)
    with pytest.raises(AssertionError):
        button(decided, CONSENT_ALLOW_ACTION)
    assert card["ts"] == wait_card(slack)["ts"]  # one card, edited in place


def test_a_decline_tells_the_requester_purges_the_photo_and_submits_nothing(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    asked = dm(slack, ANA)
    photo_url = next(b for b in asked["blocks"] if b["type"] == "image")["image_url"]
    card = wait_card(slack)
    click(app, button(asked, CONSENT_DECLINE_ACTION), user=ANA, channel=ANA_DM)
    (told,) = wait_thread(slack, card)
    assert f"<@{USER}>" in told["text"] and f"<@{ANA}>" in told["text"] and "declined" in told["text"]
    card_says(slack, "Declined")
    until(lambda: httpx.get(photo_url, timeout=5).status_code == 404)

    # The first answer counts: Allow after Decline changes nothing, and says what was decided.
    late = button(asked, CONSENT_ALLOW_ACTION)
    click(app, late, user=ANA, channel=ANA_DM, response_url=slack.response_url())
    assert "declined" in said_to(slack, ANA, "decided already")

    # A note for the requester, once, in the thread.
    edited = slack.wait_for(lambda: (m := dm(slack, ANA)) and "You declined" in rendered(m) and m)
    click(app, button(edited, CONSENT_NOTE_ACTION), user=ANA, channel=ANA_DM)
    form = opened(slack, DECLINE_NOTE_CALLBACK_ID)
    note = view_submission(form, ANA, typed("note", "Please use <!channel> not me"))
    assert app.sender.interaction(note).status_code == 200
    posted = wait_thread(slack, card, count=2)[1]
    assert "Please use &lt;!channel&gt; not me" in rendered(posted)
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []


def test_only_the_person_in_the_photo_can_answer(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    asked = dm(slack, ANA)
    for someone in (USER, OTHER):
        click(app, button(asked, CONSENT_ALLOW_ACTION), user=someone, channel=ANA_DM)
    refusals = slack.wait_for(lambda: len(e := slack.ephemerals(ANA_DM)) == 2 and e)
    assert all(f"<@{ANA}>" in r["text"] and "the person in the photo" in r["text"] for r in refusals)
    assert {r["user"] for r in refusals} == {USER, OTHER}
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []
    assert "Waiting for" in rendered(wait_card(slack))


def test_no_answer_in_time_expires_the_request(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(CONSENT_EXPIRES_HOURS="0.0005")  # 1.8 s
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    asked = dm(slack, ANA)
    card = wait_card(slack)
    (told,) = wait_thread(slack, card, timeout=20)
    assert "did not answer" in told["text"] and f"<@{USER}>" in told["text"]
    card_says(slack, "Expired")
    slack.wait_for(lambda: "expired" in rendered(dm(slack, ANA)))
    late = button(asked, CONSENT_ALLOW_ACTION)
    click(app, late, user=ANA, channel=ANA_DM, response_url=slack.response_url())
    said_to(slack, ANA, "expired")
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ({"is_bot": True}, "an app or bot"),
        ({"deleted": True}, "deactivated"),
        ({"exists": False}, "can't find that person"),
    ],
)
def test_a_face_that_is_not_an_active_person_is_refused(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer, setup: dict, words: str
) -> None:
    slack.set_user(ANA, **setup)
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    refusal = slack.wait_for(lambda: slack.ephemerals(CHANNEL), timeout=15)[0]
    assert words in refusal["text"] and "did not send this to Tavus" in refusal["text"]
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == [] and slack.messages(ANA_DM) == []


def test_for_that_names_no_single_person_is_refused_in_the_ack(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    for wrong, words in (
        ("for=<#C999|general>", "not a channel"),
        ("for=<!here>", "not a channel"),
        (f'for="<@{ANA}> <@{OTHER}>"', "one person"),
    ):
        text = f"create {images.url}/ana.png voice=anna {wrong}"
        response = app.sender.command(text, user_id=USER, channel_id=CHANNEL)
        assert words in response.json()["text"], response.text
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []


def test_the_question_picks_a_colleague_who_is_then_asked(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(REQUIRE_CONSENT_CONFIRMATION="true")
    create(app, images)
    question = slack.wait_for(lambda: slack.ephemerals(CHANNEL))[0]
    picker = button(question, LIKENESS_COLLEAGUE_ACTION)
    actions = next(b for b in question["blocks"] if b["type"] == "actions")
    picked = {**picker, "block_id": actions["block_id"], "selected_user": ANA}
    click(app, picked, response_url=slack.response_url())
    assert "Ana Demo" in rendered(dm(slack, ANA))
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []


def test_a_dm_that_cannot_be_sent_tells_the_requester_whom_to_ask(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    slack.inject("conversations.open", error="user_not_visible")
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    card = wait_card(slack)
    (told,) = wait_thread(slack, card, timeout=20)
    assert f"<@{ANA}>" in told["text"] and "ask them directly" in told["text"]
    # The requester may withdraw the request from its card.
    click(app, button(wait_card(slack), WITHDRAW_ACTION))
    card_says(slack, "Not submitted")
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []


# --- approvals ----------------------------------------------------------------------------------------------


@pytest.fixture
def approvals(start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator) -> AppProcess:
    slack.set_usergroup("S0APPROVERS", [SECOND, USER])
    return start_app(APPROVAL="required", APPROVERS=f"{APPROVER},S0APPROVERS")


def test_approval_required_waits_for_an_approver_and_never_for_the_requester(
    approvals: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = approvals
    create(app, images)
    # Each approver gets one DM (the group's members too), never the requester.
    first, second = dm(slack, APPROVER), dm(slack, SECOND)
    assert slack.messages(f"D{USER}") == []
    words = rendered(first)
    assert f"<@{USER}>" in words and "Tavus' image check: passed" in words
    card_says(slack, "Waiting for an approver")
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []

    # The requester is in the approvers' group, but cannot approve their own request.
    approve = button(first, APPROVE_ACTION)
    click(app, approve, user=USER, channel=f"D{APPROVER}", response_url=slack.response_url())
    said_to(slack, USER, "your own request")
    click(app, approve, user=OTHER, channel=f"D{APPROVER}", response_url=slack.response_url())
    said_to(slack, OTHER, "Only an approver")
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []

    click(app, button(first, APPROVE_ACTION), user=APPROVER, channel=f"D{APPROVER}")
    card_says(slack, f"Approved by <@{APPROVER}>", timeout=20)
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 1
    # Every approver's message now says who decided.
    for approver in (APPROVER, SECOND):
        slack.wait_for(lambda a=approver: f"Approved by <@{APPROVER}>" in rendered(dm(slack, a)))
    assert first["ts"] == dm(slack, APPROVER)["ts"] and second["ts"] == dm(slack, SECOND)["ts"]


def test_deny_asks_why_and_the_requester_reads_it(
    approvals: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = approvals
    create(app, images)
    asked = dm(slack, SECOND)
    card = wait_card(slack)
    click(app, button(asked, DENY_ACTION), user=SECOND, channel=f"D{SECOND}")
    form = opened(slack, DENY_CALLBACK_ID)
    empty = app.sender.interaction(view_submission(form, SECOND, typed("reason", "  ")))
    assert empty.json()["response_action"] == "errors"
    reason = view_submission(form, SECOND, typed("reason", "No budget this quarter"))
    assert app.sender.interaction(reason).status_code == 200
    (told,) = wait_thread(slack, card)
    assert "No budget this quarter" in rendered(told) and f"<@{USER}>" in told["text"]
    card_says(slack, "Not approved")
    slack.wait_for(lambda: f"Denied by <@{SECOND}>" in rendered(dm(slack, APPROVER)))
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []


def test_two_approvers_at_once_make_one_decision(
    approvals: AppProcess, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = approvals
    create(app, images)
    clicks = [(who, button(dm(slack, who), APPROVE_ACTION)) for who in (APPROVER, SECOND)]
    barrier = threading.Barrier(len(clicks))

    def approve(who: str, action: dict[str, Any]) -> None:
        barrier.wait()
        click(app, action, user=who, channel=f"D{who}", response_url=slack.response_url())

    threads = [threading.Thread(target=approve, args=c) for c in clicks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    card_says(slack, "Approved by", timeout=20)
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 1
    late = [e for e in slack.ephemerals() + slack.response_url_posts() if "decided already" in e["text"]]
    assert len(late) == 1


def test_a_colleagues_consent_comes_before_tavus_and_the_approvers_see_both(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(APPROVAL="required", APPROVERS=APPROVER)
    create(app, images, extra=f"voice=anna {COLLEAGUE}")
    click(app, button(dm(slack, ANA), CONSENT_ALLOW_ACTION), user=ANA, channel=ANA_DM)
    asked = dm(slack, APPROVER, timeout=20)
    words = rendered(asked)
    assert f"<@{ANA}> (they allowed it" in words and "Tavus' image check: passed" in words
    click(app, button(asked, APPROVE_ACTION), user=APPROVER, channel=f"D{APPROVER}")
    card = card_says(slack, f"Approved by <@{APPROVER}>", timeout=20)
    assert f"Consent: <@{ANA}>" in rendered(card)
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 1


def test_an_approvals_channel_gets_one_post_and_an_outside_face_needs_it(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(APPROVAL_CHANNEL="C0APPROVALS", APPROVERS=APPROVER)
    create(app, images, extra="voice=anna for=outside")
    (post,) = slack.wait_for(lambda: slack.messages("C0APPROVALS"))
    assert "outside this workspace" in rendered(post)
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []
    click(app, button(post, APPROVE_ACTION), user=APPROVER, channel="C0APPROVALS")
    card_says(slack, f"Approved by <@{APPROVER}>", timeout=20)
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 1 and len(slack.messages("C0APPROVALS")) == 1


def test_over_the_monthly_quota_needs_approval(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(APPROVAL="over-quota", QUOTA_PER_USER_PER_MONTH="1", APPROVERS=APPROVER)
    create(app, images, "First")
    card_says(slack, "Training", name="First", timeout=20)
    create(app, images, "Second")
    card_says(slack, "Waiting for an approver", name="Second")
    dm(slack, APPROVER)
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 1


def test_outside_faces_can_be_refused(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(LIKENESS_OUTSIDE="deny")
    text = f"create {images.url}/ana.png voice=anna for=outside"
    response = app.sender.command(text, user_id=USER, channel_id=CHANNEL)
    assert "outside" in response.json()["text"] and "LIKENESS_OUTSIDE" in response.json()["text"]
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []


# --- every way in ----------------------------------------------------------------------------------------


def test_a_mention_with_a_photo_names_the_colleague(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    photo = jpeg(800, 1000)
    text = f'<@UBOT> create voice=anna name="Ana" for=<@{ANA}>'
    message = slack.add_message(CHANNEL, text, files=[upload(slack, photo, "ana.jpg", "image/jpeg")])
    assert app.sender.event(mention_event(message, text)).status_code == 200
    asked = dm(slack, ANA)
    # The thumbnail is made from the very bytes that would be submitted.
    thumbnail = next(b for b in asked["blocks"] if b["type"] == "image")["image_url"]
    assert httpx.get(thumbnail, timeout=5).headers["content-type"] == "image/jpeg"
    wait_until_quiet(slack, tavus)
    assert tavus_calls(tavus) == []
    click(app, button(asked, CONSENT_ALLOW_ACTION), user=ANA, channel=ANA_DM)
    until(lambda: creates(tavus), timeout=20)
    assert submitted_image(tavus) == photo


def test_the_form_names_the_colleague_and_the_app_home_asks_them_too(
    app: AppProcess, slack: SlackFake, tavus: TavusEmulator
) -> None:
    assert app.sender.command("create", user_id=USER, channel_id=CHANNEL).status_code == 200
    view = opened_view(slack)
    stored_file = upload(slack, png(640, 640))
    submission = modal_submission(view, files=[stored_file])
    submission["view"]["state"]["values"] |= {
        "likeness": {"value": {"type": "radio_buttons", "selected_option": {"value": "colleague"}}},
        "depicted": {"value": {"type": "users_select", "selected_user": ANA}},
    }
    assert app.sender.interaction(submission).status_code == 200
    dm(slack, ANA)
    # The same question waits in their App Home (where Slack may let it through when a DM cannot).
    def asking() -> list[dict[str, Any]]:
        views = [v["view"] for v in slack.home_views(ANA)]
        return [v for v in views if "Waiting for your answer" in rendered({"blocks": v["blocks"]})]

    home = slack.wait_for(asking)[-1]
    allow = button({"blocks": home["blocks"]}, CONSENT_ALLOW_ACTION)
    response = app.sender.interaction(
        {"type": "block_actions", "user": {"id": ANA}, "actions": [allow], "trigger_id": "trig-home"}
    )
    assert response.status_code == 200
    until(lambda: creates(tavus), timeout=20)
    wait_until_quiet(slack, tavus)
    assert len(creates(tavus)) == 1
    # Answered: their App Home no longer asks.
    last = slack.home_views(ANA)[-1]["view"]
    assert "Waiting for your answer" not in rendered({"blocks": last["blocks"]})

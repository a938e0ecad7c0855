"""The words of consent and approvals: the colleague's DM, the approvers' message, the whose-face question,
the posts in the requester's thread, the card — valid Block Kit, every name escaped, and each saying who
waits for whom."""

from __future__ import annotations

import pytest

from bot.slack import render
from bot.slack.ids import (
    APPROVE_ACTION,
    CONFIRM_ACTION,
    CONSENT_ALLOW_ACTION,
    CONSENT_DECLINE_ACTION,
    CONSENT_NOTE_ACTION,
    DENY_ACTION,
    LIKENESS_COLLEAGUE_ACTION,
    LIKENESS_OUTSIDE_ACTION,
    WITHDRAW_ACTION,
)
from bot.slack.render.approval import approval_ask, denied_post
from bot.slack.render.consent import consent_ask, declined_post, expired_post
from bot.slack.render.forms import whose_face_question
from storage.models import OutboxKind, RequestStatus, utcnow
from tests.unit.slack.test_render import CATALOGUE, HOSTILE, assert_no_live_mentions, make_request, rendered
from tests.unit.slack.test_render_ui import sdk_valid_message

ASKED = {"likeness": "colleague", "depicted_id": "U0ANA", "replica_name": HOSTILE, "id": 7}


def actions(message: render.Message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_the_colleagues_dm_asks_then_says_what_was_decided() -> None:
    waiting = make_request(status=RequestStatus.AWAITING_CONSENT, expires_at=utcnow(), **ASKED)
    asked = consent_ask(waiting)
    sdk_valid_message(asked)
    assert actions(asked) == [CONSENT_ALLOW_ACTION, CONSENT_DECLINE_ACTION]
    assert_no_live_mentions([t for t in rendered(asked) if HOSTILE[:9] in t])
    said_no = {"status": RequestStatus.DECLINED, "consent_at": utcnow()}
    declined = consent_ask(waiting.model_copy(update=said_no))
    assert actions(declined) == [CONSENT_NOTE_ACTION] and "You declined" in declined.text
    allowed = waiting.model_copy(
        update={"status": RequestStatus.RECEIVED, "consent_status": "allowed", "consent_at": utcnow()}
    )
    assert actions(consent_ask(allowed)) == [] and "You allowed it" in consent_ask(allowed).text


def test_a_video_is_shown_as_its_link() -> None:
    video = make_request(
        status=RequestStatus.AWAITING_CONSENT, train_video_url="https://v.example/x.mp4", **ASKED
    )
    assert "https://v.example/x.mp4" in "\n".join(rendered(consent_ask(video)))


def test_the_approvers_message_and_the_decision() -> None:
    waiting = make_request(
        status=RequestStatus.AWAITING_APPROVAL, preflight_findings="blurry", tavus_verdict=None, **ASKED
    )
    asked = approval_ask(waiting, CATALOGUE)
    sdk_valid_message(asked)
    assert actions(asked) == [APPROVE_ACTION, DENY_ACTION]
    words = "\n".join(rendered(asked))
    assert "<@U0ANA>" in words and "doubts about blurry" in words
    denied = waiting.model_copy(
        update={"status": RequestStatus.DENIED, "approval_status": "denied", "approval_by": "U0APP",
                "approval_reason": HOSTILE}
    )
    assert "Denied by <@U0APP>" in approval_ask(denied, CATALOGUE).text
    post = denied_post(denied)
    sdk_valid_message(post)
    assert_no_live_mentions([t for t in rendered(post) if "Tom" in t])


@pytest.mark.parametrize("outside", ["allow", "approve", "deny"])
def test_whose_face_offers_outside_unless_denied(outside: str) -> None:
    question = whose_face_question(7, (), CATALOGUE, outside=outside)
    sdk_valid_message(question)
    expected = [CONFIRM_ACTION, LIKENESS_COLLEAGUE_ACTION]
    expected += [] if outside == "deny" else [LIKENESS_OUTSIDE_ACTION]
    assert actions(question) == [*expected, "cancel_request"]


def test_the_thread_posts_and_the_card_say_who_waits_for_whom() -> None:
    for status, kind in (
        (RequestStatus.DECLINED, OutboxKind.DECLINED),
        (RequestStatus.EXPIRED, OutboxKind.EXPIRED),
    ):
        request = make_request(status=status, consent_status=str(status), **ASKED)
        post = render.thread_post(kind, request, CATALOGUE, "https://docs.tavus.io")
        sdk_valid_message(post)
        assert "<@U0ANA>" in post.text or "did not answer" in post.text
    assert "did not answer" in expired_post(make_request(status=RequestStatus.EXPIRED, **ASKED)).text
    assert "declined" in declined_post(make_request(status=RequestStatus.DECLINED, **ASKED)).text
    card = render.request_card(make_request(status=RequestStatus.AWAITING_CONSENT, **ASKED))
    sdk_valid_message(card)
    assert "Waiting for <@U0ANA>" in "\n".join(rendered(card)) and WITHDRAW_ACTION in actions(card)

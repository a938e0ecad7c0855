"""Every message and view the bot builds passes slack_sdk's offline checks and Slack's limits (≤ 50
blocks per message, ≤ 100 per modal or home tab, modal title ≤ 24, section text ≤ 3000); the card, the
failure and completion posts, the requester's DM, the DM fallback, App Home, voices and help say what they
should, and nothing a person or Tavus wrote can ping anyone."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.requests import Question
from bot.service.settings import STOCK_VOICES, load_settings
from bot.slack import render
from bot.slack.ids import HOME_FILTER_ACTION_PREFIX, RETRY_ACTION
from bot.slack.render import Message
from bot.slack.render.answers import FAQ_PATH, IMAGE_GUIDE_PATH
from bot.slack.render.forms import QUESTIONS
from bot.slack.render.thread import CVI_GUIDE_PATH, VIDEO_GUIDE_PATH
from storage.models import RequestStatus, utcnow
from tests.unit.slack.test_render import (
    CATALOGUE,
    ESCAPED_MENTIONS,
    HOSTILE,
    HUGE,
    REQUESTER,
    _texts,
    assert_no_live_mentions,
    assert_valid_blocks,
    make_request,
    rendered,
)

ORIGINAL_LINK = "https://fake.slack.com/archives/C1/p1700000000000100"


def sdk_valid_message(message: Message) -> None:
    """slack_sdk's own checks plus the limits it does not know, for a message."""
    assert message.text.strip()
    assert len(message.blocks) <= 50
    assert_valid_blocks(message.blocks)
    for block in Block.parse_all(message.blocks):
        block.validate_json()
    _section_limits(message.blocks)


def sdk_valid_view(view: dict[str, Any]) -> None:
    """slack_sdk's View checks (title ≤ 24, ≤ 100 blocks, …) plus section limits, for a modal or home tab."""
    View(**view).validate_json()
    assert len(view["blocks"]) <= 100
    if view["type"] == "modal":
        assert len(view["title"]["text"]) <= 24
        for key in ("submit", "close"):
            assert len(view[key]["text"]) <= 24
    assert len(view.get("private_metadata", "")) <= 3000
    for block in Block.parse_all(view["blocks"]):
        block.validate_json()
    _section_limits(view["blocks"])
    # Within a block, action_ids must be unique.
    for block in view["blocks"]:
        ids = [e.get("action_id") for e in block.get("elements", []) if e.get("action_id")]
        assert len(ids) == len(set(ids))


def _section_limits(blocks: list[dict[str, Any]]) -> None:
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert 0 < len(block["text"]["text"]) <= 3000
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "image":
            assert accessory["image_url"].startswith(("https://", "http://"))
            assert len(accessory["image_url"]) <= 3000
            assert 0 < len(accessory["alt_text"]) <= 2000


def buttons(message: Message | dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message.blocks if isinstance(message, Message) else message["blocks"]
    found = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    found += [b["accessory"] for b in blocks if (b.get("accessory") or {}).get("type") == "button"]
    return found


def mrkdwn_texts(value: object) -> list[str]:
    """The texts Slack parses for mentions (mrkdwn), anywhere in a block structure."""
    found: list[str] = []
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            found.append(value["text"])
        for item in value.values():
            found += mrkdwn_texts(item)
    elif isinstance(value, list):
        for item in value:
            found += mrkdwn_texts(item)
    return found


def joined(message: Message) -> str:
    return "\n".join(rendered(message))


def view_text(view: dict[str, Any]) -> str:
    return "\n".join(_texts(view["blocks"]))


# --- the card ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RequestStatus))
def test_card_shows_a_thumbnail_of_the_submitted_photo(status: RequestStatus) -> None:
    card = render.request_card(make_request(status=status, progress_percent=42))
    sdk_valid_message(card)
    accessory = card.blocks[0]["accessory"]
    assert accessory == {
        "type": "image",
        "image_url": "https://img.example.com/ana.png",
        "alt_text": "The submitted photo",
    }


def test_card_thumbnail_falls_back_to_the_hosted_upload_and_skips_what_slack_cannot_show() -> None:
    hosted = "https://bot.example.com/media/tok"
    upload = render.request_card(make_request(source_url=None, train_image_url=hosted))
    assert upload.blocks[0]["accessory"]["image_url"] == hosted
    for request in (
        make_request(source_url=None, train_image_url=None),
        make_request(source_url="ftp://img.example.com/a.png", train_image_url=None),
        make_request(source_url="https://img.example.com/a.png?x=<!channel>", train_image_url=None),
        make_request(source_url="https://img.example.com/" + "a" * HUGE, train_image_url=None),
        make_request(source_url=None, train_video_url="https://v.example.com/t.mp4"),
    ):
        card = render.request_card(request)
        sdk_valid_message(card)
        assert "accessory" not in card.blocks[0]


def test_card_while_training_has_bar_elapsed_expectation_replica_and_voice() -> None:
    card = render.request_card(make_request(status=RequestStatus.TRAINING, progress_percent=42))
    text = joined(card)
    assert "`▓▓▓▓░░░░░░ 42%`" in text
    assert "1 h 04 min (usually 3–4 h in all)" in text
    assert "`r90bbd427f71`" in text and "anna" in text
    assert "(42%)" in card.text


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (RequestStatus.COMPLETED, "How to use it is in the thread"),
        (RequestStatus.FAILED, "what to do next are in the thread"),
    ],
)
def test_finished_card_says_the_final_state_and_how_long_it_took(
    status: RequestStatus, expected: str
) -> None:
    now = utcnow()
    request = make_request(
        status=status, submitted_at=now - timedelta(hours=3, minutes=10), finished_at=now, error_code=None
    )
    text = joined(render.request_card(request))
    assert expected in text
    assert "*Trained for*\n3 h 10 min" in text


def test_retry_card_links_back_to_the_failed_request() -> None:
    original = make_request(
        id=3, replica_name="Ana First", replica_id="rold0000001", status=RequestStatus.FAILED
    )
    retry = make_request(id=8, retry_of=3, replica_id="rnew0000002")
    card = render.request_card(retry, retry_of=original, retry_of_link=ORIGINAL_LINK)
    sdk_valid_message(card)
    assert f":repeat: Retry of <{ORIGINAL_LINK}|Ana First> (`rold0000001`), which failed." in joined(card)
    # Without a permalink (Slack could not give one) it still names the request.
    plain = render.request_card(retry, retry_of=original)
    assert "Retry of *Ana First* (`rold0000001`)" in joined(plain)
    # A request that is not a retry says nothing of the sort.
    assert "Retry of" not in joined(render.request_card(make_request()))


def test_retry_line_escapes_the_original_name() -> None:
    original = make_request(id=3, replica_name=HOSTILE)
    retry = make_request(retry_of=3)
    for link in (ORIGINAL_LINK, None):
        card = render.request_card(retry, retry_of=original, retry_of_link=link)
        sdk_valid_message(card)
        assert_no_live_mentions(rendered(card))


def test_card_that_moved_to_the_dm_says_where_it_was_meant_for() -> None:
    card = render.request_card(make_request(), meant_for="C0CHANNEL", meant_for_reason="is_archived")
    sdk_valid_message(card)
    first = card.blocks[0]["elements"][0]["text"]
    assert "meant for <#C0CHANNEL>" in first and "archived" in first
    assert "is_archived" not in first  # no error codes in what people read


# --- the failure post ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["ImageQualityError", "something unknown", ""])
def test_failure_post_offers_a_retry_and_the_guideline(raw: str) -> None:
    post = render.failure_post(make_request(status=RequestStatus.FAILED), CATALOGUE.explain(raw), CATALOGUE)
    sdk_valid_message(post)
    found = buttons(post)
    retry = next(b for b in found if b["action_id"] == RETRY_ACTION)
    assert retry["value"] == "7" and retry["text"]["text"] == "Retry with a new photo"
    assert [b["action_id"] for b in found] == [RETRY_ACTION, "open_guideline"]
    assert all(b.get("url", "https://").startswith("https://") for b in found)


# --- the completion post ---------------------------------------------------------------------------------


def test_completion_post_says_how_to_use_the_replica() -> None:
    post = render.completion_post(
        make_request(status=RequestStatus.COMPLETED, thumbnail_video_url="https://cdn.example.com/t.mp4"),
        "https://docs.example.com/",
    )
    sdk_valid_message(post)
    text = joined(post)
    assert "`r90bbd427f71`" in text and "Ana Demo" in text
    assert "conversation" in text and "video" in text
    assert f"<https://docs.example.com{CVI_GUIDE_PATH}|" in text
    assert f"<https://docs.example.com{VIDEO_GUIDE_PATH}|" in text
    assert "<https://cdn.example.com/t.mp4|Watch the preview>" in text


# --- the requester's DM and the DM fallback ---------------------------------------------------------------


def test_requester_dm_after_a_failure_links_the_thread_and_offers_a_retry() -> None:
    request = make_request(status=RequestStatus.FAILED, error_code="HeadphonesError")
    note = render.requester_dm(request, permalink=ORIGINAL_LINK, catalogue=CATALOGUE)
    sdk_valid_message(note)
    text = joined(note)
    assert f"<{ORIGINAL_LINK}|" in text
    assert CATALOGUE.lookup("HeadphonesError").title in text  # type: ignore[union-attr]
    assert [b["action_id"] for b in buttons(note)] == [RETRY_ACTION]
    assert f"<@{REQUESTER}>" not in text  # it is their own DM


def test_requester_dm_after_completion_and_without_a_permalink() -> None:
    done = render.requester_dm(
        make_request(status=RequestStatus.COMPLETED), permalink=None, catalogue=CATALOGUE
    )
    sdk_valid_message(done)
    assert "is ready" in done.text and "/replica status r90bbd427f71" in done.text
    assert buttons(done) == []


def test_requester_dm_escapes_the_name() -> None:
    request = make_request(status=RequestStatus.FAILED, replica_name=HOSTILE, error_code=HOSTILE)
    note = render.requester_dm(request, permalink=ORIGINAL_LINK, catalogue=CATALOGUE)
    sdk_valid_message(note)
    assert_no_live_mentions(rendered(note))
    assert all(escaped in joined(note) for escaped in ESCAPED_MENTIONS)


@pytest.mark.parametrize(
    "reason", ["channel_not_found", "not_in_channel", "is_archived", "restricted_action", "weird_one", None]
)
def test_fallback_notice_says_where_it_was_meant_for_and_keeps_the_content(reason: str | None) -> None:
    failure = render.failure_post(
        make_request(status=RequestStatus.FAILED), CATALOGUE.explain("HeadphonesError"), CATALOGUE
    )
    notice = render.fallback_notice(failure, meant_for="C0CHANNEL", reason=reason)
    sdk_valid_message(notice)
    assert notice.text.startswith("(Meant for <#C0CHANNEL>)")
    assert "meant for <#C0CHANNEL>" in notice.blocks[0]["elements"][0]["text"]
    assert notice.blocks[1:] == failure.blocks
    if reason:
        assert reason not in notice.blocks[0]["elements"][0]["text"]


def test_fallback_notice_stays_within_the_block_limit_and_refuses_odd_channel_ids() -> None:
    big = Message(text="t", blocks=[{"type": "divider"}] * 50)
    notice = render.fallback_notice(big, meant_for="<!channel>", reason="is_archived")
    assert len(notice.blocks) == 50
    assert_no_live_mentions(rendered(notice))
    assert "the channel it was meant for" in notice.text


# --- App Home ---------------------------------------------------------------------------------------------


def _home_requests() -> list[Any]:
    return [
        make_request(id=1, status=RequestStatus.TRAINING, progress_percent=42),
        make_request(id=2, status=RequestStatus.FAILED, error_code="HeadphonesError", replica_id="r2"),
        make_request(
            id=3, status=RequestStatus.FAILED, error_code=None, error_message="GPU melted", replica_id="r3"
        ),
        make_request(
            id=4, status=RequestStatus.SUBMIT_FAILED, submit_error="Tavus is not answering", replica_id=None
        ),
        make_request(id=5, status=RequestStatus.COMPLETED, replica_id="r5"),
        make_request(id=6, status=RequestStatus.AWAITING_CONFIRMATION, replica_id=None),
        make_request(id=9, status=RequestStatus.DELETED, replica_id="r9"),
    ]


def test_home_for_a_requester_shows_status_progress_explanation_and_retry() -> None:
    view = render.home_view(_home_requests(), is_admin=False, catalogue=CATALOGUE, viewer=REQUESTER)
    sdk_valid_view(view)
    text = view_text(view)
    assert "▓▓▓▓░░░░░░ 42%" in text
    assert CATALOGUE.lookup("HeadphonesError").title in text  # type: ignore[union-attr]
    assert "GPU melted" in text and "Tavus is not answering" in text
    retries = [b["value"] for b in buttons(view) if b["action_id"] == RETRY_ACTION]
    assert retries == ["2", "3", "4"]
    assert not any(b["action_id"].startswith(HOME_FILTER_ACTION_PREFIX) for b in buttons(view))
    assert f"<@{REQUESTER}>" not in text


def test_home_for_an_admin_has_filters_and_names_requesters() -> None:
    view = render.home_view(
        _home_requests(), is_admin=True, catalogue=CATALOGUE, active_filter="failed", viewer="UADMIN"
    )
    sdk_valid_view(view)
    filters = [b for b in buttons(view) if b["action_id"].startswith(HOME_FILTER_ACTION_PREFIX)]
    assert [b["value"] for b in filters] == ["all", "in_flight", "failed", "done"]
    assert [b["value"] for b in filters if b.get("style") == "primary"] == ["failed"]
    assert f"by <@{REQUESTER}>" in view_text(view)
    assert view["private_metadata"] == "failed"
    # An admin may retry anyone's failed request.
    assert [b["value"] for b in buttons(view) if b["action_id"] == RETRY_ACTION] == ["2", "3", "4"]


@pytest.mark.parametrize("active", ["all", "in_flight", "failed", "done"])
@pytest.mark.parametrize("is_admin", [True, False])
def test_home_when_empty(active: str, is_admin: bool) -> None:
    view = render.home_view([], is_admin=is_admin, catalogue=CATALOGUE, active_filter=active)
    sdk_valid_view(view)
    assert "Nothing here yet" in view_text(view) or "No requests are" in view_text(view)


def test_home_with_many_huge_hostile_requests_stays_within_limits() -> None:
    requests = [
        make_request(
            id=i,
            status=list(RequestStatus)[i % len(RequestStatus)],
            replica_name=HOSTILE + "x" * HUGE,
            error_code=HOSTILE,
            error_message=HOSTILE * 100,
            submit_error=HOSTILE * 100,
            replica_id=f"r{i:011d}",
        )
        for i in range(1, 60)
    ]
    for is_admin in (True, False):
        view = render.home_view(requests, is_admin=is_admin, catalogue=CATALOGUE, viewer=REQUESTER)
        sdk_valid_view(view)
        assert_no_live_mentions(list(_texts(view["blocks"])))
        assert f"newest {render.HOME_LIMIT}" in view_text(view)


# --- the upload modal --------------------------------------------------------------------------------------


def test_modal_voice_picker_describes_each_voice() -> None:
    view = render.upload_modal(STOCK_VOICES, private_metadata="{}", voice="liam")
    sdk_valid_view(view)
    select = next(b for b in view["blocks"] if b.get("block_id") == "voice")["element"]
    assert [o["value"] for o in select["options"]] == list(STOCK_VOICES)
    assert all(o["description"]["text"] for o in select["options"])
    assert select["initial_option"]["value"] == "liam"
    configured = render.upload_modal(["anna", "zed"], private_metadata="{}", descriptions={"zed": "Z" * 200})
    sdk_valid_view(configured)
    options = next(b for b in configured["blocks"] if b.get("block_id") == "voice")["element"]["options"]
    assert options[1]["description"]["text"] == "Z" * 74 + "…"
    assert "description" in options[0]


def test_retry_modal_is_prefilled_and_says_so() -> None:
    metadata = json.dumps({"channel_id": "C1", "thread_ts": None, "retry_of": 7, "file": None})
    view = render.upload_modal(
        STOCK_VOICES, private_metadata=metadata, name="Ana Demo", voice="ivy", retry_of_name="Ana Demo"
    )
    sdk_valid_view(view)
    assert view["title"]["text"] == "Retry with a new photo"
    assert "Retrying *Ana Demo*" in view_text(view)
    name = next(b for b in view["blocks"] if b.get("block_id") == "name")["element"]
    voice = next(b for b in view["blocks"] if b.get("block_id") == "voice")["element"]
    assert name["initial_value"] == "Ana Demo"
    assert voice["initial_option"]["value"] == "ivy"
    assert any(b.get("block_id") == "photo" for b in view["blocks"])  # a new photo is required


@pytest.mark.parametrize("count", [1, 6, 150])
def test_modal_with_many_or_hostile_voices_and_names(count: int) -> None:
    voices = [f"v{i}" for i in range(count)]
    view = render.upload_modal(
        voices,
        private_metadata="{}",
        name=HOSTILE * 20,
        voice=voices[-1],
        file_name=HOSTILE,
        descriptions={v: HOSTILE for v in voices},
        retry_of_name=HOSTILE * 100,
    )
    sdk_valid_view(view)
    # plain_text (labels, options) never pings; mrkdwn must be escaped.
    assert_no_live_mentions(mrkdwn_texts(view["blocks"]))
    assert "&lt;!channel&gt;" in "\n".join(mrkdwn_texts(view["blocks"]))


# --- voices, help, and the rest of the text replies ------------------------------------------------------


def test_voices_message_uses_configured_descriptions_and_links_samples() -> None:
    text = render.voices_message(["anna", "zed"], "anna", {"zed": "Deep <!channel> voice"})
    assert "• `anna` (default) — feminine voice" in text
    assert "• `zed` — Deep &lt;!channel&gt; voice" in text
    assert IMAGE_GUIDE_PATH in text
    assert "<!channel>" not in text


def test_voice_descriptions_setting_parses_both_formats() -> None:
    settings = load_settings(voices="anna,liam", voice_descriptions="anna=Warm, calm; LIAM = Bright\n")
    assert settings.voices == ("anna", "liam")
    assert settings.voice_descriptions == {"anna": "Warm, calm", "liam": "Bright"}
    as_json = load_settings(voice_descriptions='{"Ivy": "Soft"}')
    assert as_json.voice_descriptions == {"ivy": "Soft"}
    assert load_settings().voice_descriptions == {}
    assert load_settings().notify_requester_dm is True


def test_help_covers_what_a_requester_needs() -> None:
    text = render.help_message(STOCK_VOICES)
    for needed in (
        "/replica create",
        "voice=anna",
        "/replica explain",
        "/replica errors",
        "/replica list",
        "/replica voices",
        "JPG or PNG",
        "512×512",
        "one person",
        "head and shoulders",
        "no glasses, hats or headphones",
        "even light",
        ", ".join(STOCK_VOICES),
        "3–4 hours",
        "Home",
        IMAGE_GUIDE_PATH,
        FAQ_PATH,
    ):
        assert needed in text, needed
    assert "HTTP" not in text and "429" not in text


def test_stuck_and_confirmation_messages_are_valid_blocks() -> None:
    sdk_valid_message(render.confirmation("Do you have the rights?", 7))
    for asked in Question:
        sdk_valid_message(render.question(asked, 7))
    stuck = render.stuck_notice(make_request(replica_name=HOSTILE, progress_percent=12), "support@tavus.io")
    sdk_valid_message(stuck)


@pytest.mark.parametrize(
    "text",
    [
        render.help_message(STOCK_VOICES),
        render.voices_message(STOCK_VOICES, "anna"),
        render.errors_message(CATALOGUE),
        render.upload_help(STOCK_VOICES),
        render.list_message([make_request(status=s) for s in RequestStatus]),
    ],
    ids=["help", "voices", "errors", "upload_help", "list"],
)
def test_text_replies_fit_one_section_and_have_no_jargon(text: str) -> None:
    assert 0 < len(text) <= 3000
    # A date is a Unix time Slack shows in the reader's zone: its digits are nobody's words.
    shown = re.sub(r"<!date\^\d+\^", "<!date^", text)
    for jargon in ("HTTP", "429", "Traceback", "Exception"):
        assert jargon not in shown


# --- the offline photo check's messages -------------------------------------------------------------------


def _findings() -> list[Any]:
    from bot.photos.offline_check import CODES, Finding

    # A finding carries measurements, not words; `side` is the one echoed as written, so it is the hostile
    # and huge one (the sentence for it must be escaped and shortened).
    hostile = "<!channel> " + "x" * 4000
    return [
        Finding(kind, code, subject="face", side=hostile, count=3, share=0.42, threshold=0.3)
        for kind, code in CODES.items()
    ]


@pytest.mark.parametrize("rights", [None, Question.RIGHTS, Question.VIDEO_CONSENT])
def test_photo_advisory_uses_catalogue_words_and_stays_within_limits(rights: Question | None) -> None:
    from bot.domain.catalogue import Catalogue

    catalogue = Catalogue()
    message = render.photo_advisory(_findings(), catalogue, 7, rights)
    sdk_valid_message(message)
    text = joined(message)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text  # the hostile measurement is shown, escaped
    for code in {f.code for f in _findings()}:
        entry = catalogue.lookup(code)
        assert entry is not None and entry.title in text and entry.guideline_url in text
    assert [b["text"]["text"] for b in buttons(message)] == ["Submit anyway", "Use another photo"]
    assert all(b["value"] == "7" for b in buttons(message))
    if rights:
        assert QUESTIONS[rights] in text


def test_photo_refusal_has_no_buttons_and_stays_within_limits() -> None:
    from bot.domain.catalogue import Catalogue

    message = render.photo_refused(_findings(), Catalogue())
    sdk_valid_message(message)
    assert buttons(message) == []
    assert "<!channel>" not in joined(message)
    assert "I did not send this to Tavus" in message.text

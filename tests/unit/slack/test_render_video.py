"""Rendering video-training failures: the thread post, the DM and App Home entry, `/replica explain` and
`/replica errors`, within Block Kit's limits and with everything Tavus or a person wrote escaped."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.domain.catalogue import Catalogue, CatalogueEntry
from bot.domain.video_catalogue import VIDEO_REQUIREMENTS, consent_statement, tavus_key
from bot.slack import render
from bot.slack.command_text import parse
from bot.slack.render.video_retry import video_retry_modal
from storage.models import RequestStatus
from tests.unit.slack.test_render import (
    ESCAPED_MENTIONS,
    HOSTILE,
    REQUESTER,
    assert_no_live_mentions,
    assert_valid,
    assert_valid_blocks,
    make_request,
    rendered,
)

CATALOGUE = Catalogue()
VIDEO_URL = "https://videos.example.com/ana.mp4"


def failed_video(**overrides: Any) -> Any:
    fields = {"status": RequestStatus.FAILED, "train_video_url": VIDEO_URL, "voice_name": None}
    return make_request(**(fields | overrides))


def _buttons(message: render.Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize("entry", CATALOGUE.video_entries(), ids=lambda e: e.code)
def test_failure_post_for_every_video_entry(entry: CatalogueEntry) -> None:
    explained = CATALOGUE.explain(entry.tavus_message)
    assert explained.entry == entry
    message = render.failure_post(failed_video(error_code=entry.code), explained, CATALOGUE)
    assert_valid(message)
    joined = "\n".join(rendered(message))
    assert message.text.startswith(f"<@{REQUESTER}>")
    for part in (entry.title, entry.explanation, *entry.advice, VIDEO_REQUIREMENTS, tavus_key(entry.code)):
        assert part in joined
    assert "r90bbd427f71" in joined and render.CREDIT_NOTE in joined
    buttons = _buttons(message)
    assert [(b["text"]["text"], b["url"]) for b in buttons if "url" in b] == [
        ("Tavus video requirements", "https://docs.tavus.io/sections/replica/train-with-a-video")
    ]
    retry = [b for b in buttons if "url" not in b]
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in retry] == [
        ("retry_request", "7", "Retry with a new video")
    ]


def test_consent_mismatch_shows_the_statement_with_the_name_escaped() -> None:
    entry = CATALOGUE.lookup("consent_phrase_mismatch")
    assert entry is not None
    explained = CATALOGUE.explain(entry.tavus_message)
    plain = "\n".join(rendered(render.failure_post(failed_video(), explained, CATALOGUE)))
    assert consent_statement("Ana Demo") in plain
    hostile = render.failure_post(failed_video(replica_name=HOSTILE), explained, CATALOGUE)
    assert_valid(hostile)
    texts = rendered(hostile)
    assert_no_live_mentions(texts)
    joined = "\n".join(texts)
    assert (
        "I, &lt;!channel&gt; &lt;@U123&gt;" in joined and "Tom &amp; Jerry, am currently speaking" in joined
    )


@pytest.mark.parametrize(
    ("key", "message", "address"),
    [
        ("quality_issue_detected", None, "developer-support@tavus.io"),
        ("other_quality_issue", None, "support@tavus.io"),
        (
            "other_quality_issue",
            "Quality issue was detected. For details and assistance, please reach out to Tavus support via "
            "video-support@tavus.io",
            "video-support@tavus.io",
        ),
    ],
)
def test_quality_issues_point_to_the_address_the_message_names(
    key: str, message: str | None, address: str
) -> None:
    entry = CATALOGUE.lookup(key)
    assert entry is not None
    explained = CATALOGUE.explain(message or entry.tavus_message)
    assert explained.entry == entry
    post = render.failure_post(failed_video(error_code=key), explained, CATALOGUE)
    advice = next(
        b["text"]["text"] for b in post.blocks if "What to do next" in b.get("text", {}).get("text", "")
    )
    assert f"Tavus support: {address}" in advice
    if key == "quality_issue_detected":
        assert "developer-support@tavus.io" in advice


def test_hostile_video_error_text_is_escaped_and_bounded() -> None:
    entry = CATALOGUE.lookup("video_fps")
    assert entry is not None
    raw = f"{entry.tavus_message} {HOSTILE} " + "x" * 5000
    explained = CATALOGUE.explain(raw)
    assert explained.entry == entry
    message = render.failure_post(failed_video(error_code="video_fps"), explained, CATALOGUE)
    assert_valid(message)
    assert_no_live_mentions(rendered(message))
    assert any(escaped in "\n".join(rendered(message)) for escaped in ESCAPED_MENTIONS)


def test_an_unknown_text_on_a_video_request_points_at_the_video_requirements() -> None:
    explained = CATALOGUE.explain("Something odd happened")
    message = render.failure_post(failed_video(), explained, CATALOGUE)
    assert_valid(message)
    joined = "\n".join(rendered(message))
    assert "video" in joined and VIDEO_REQUIREMENTS in joined
    assert [b["url"] for b in _buttons(message) if "url" in b] == [CATALOGUE.video_guideline_url]


def test_dm_and_home_offer_a_new_video() -> None:
    request = failed_video(error_code="video_fps", error_message=CATALOGUE.lookup("video_fps").tavus_message)  # type: ignore[union-attr]
    dm = render.requester_dm(request, permalink=None, catalogue=CATALOGUE)
    assert "Frame rate is too low" in dm.text
    assert [b["text"]["text"] for b in _buttons(dm)] == ["Retry with a new video"]
    home = render.home_view([request], is_admin=False, catalogue=CATALOGUE, viewer=REQUESTER)
    assert "Retry with a new video" in str(home) and "/replica explain video_fps" in str(home)


# --- /replica explain and /replica errors -------------------------------------------------------------------


@pytest.mark.parametrize("entry", CATALOGUE.video_entries(), ids=lambda e: e.code)
def test_explain_video_entry(entry: CatalogueEntry) -> None:
    text = render.explain_entry(entry)
    for part in (tavus_key(entry.code), entry.title, entry.explanation, *entry.advice, VIDEO_REQUIREMENTS):
        assert part in text
    assert entry.guideline_url in text
    assert len(text) <= 3000


def test_explain_consent_shows_the_template() -> None:
    entry = CATALOGUE.lookup("consent_phrase_mismatch")
    assert entry is not None
    assert "I, [FULL NAME], am currently speaking and consent Tavus" in render.explain_entry(entry)


def test_explain_unknown_lists_the_video_types_too() -> None:
    text = render.explain_unknown("nope", CATALOGUE)
    assert "`video_fps`" in text and "`video_processing`" in text and "`HeadphonesError`" in text


def test_errors_lists_every_image_code_and_every_video_type_within_one_section() -> None:
    text = render.errors_message(CATALOGUE)
    for entry in CATALOGUE.entries() + CATALOGUE.video_entries():
        assert f"`{entry.code}` — {entry.title}" in text
    assert len(text) <= 3000


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("explain video_fps", "video_fps"),
        ("explain   There was a quality issue with your replica. The user's hand  ", None),
        ("explain “video_processing (face)”", '"video_processing (face)"'),
    ],
)
def test_explain_takes_the_rest_of_the_text_whole(text: str, asked: str | None) -> None:
    parsed = parse(text)
    assert parsed.name == "explain"
    assert parsed.args == ((asked,) if asked else (text.split(None, 1)[1].strip(),))


# --- the form behind "Retry with a new video" ------------------------------------------------------------


@pytest.mark.parametrize("code", [None, "video_fps", "consent_phrase_mismatch"])
def test_video_retry_form_asks_for_a_new_recording(code: str | None) -> None:
    entry = CATALOGUE.lookup(code) if code else None
    view = video_retry_modal(
        private_metadata='{"channel_id": "C1"}',
        name=HOSTILE,
        failure=entry,
        consent_url="https://x.test/c.mp4",
    )
    View(**view).validate_json()
    assert_valid_blocks(view["blocks"])
    # The name field's initial value is plain text, not mrkdwn: only what Slack renders as mrkdwn counts.
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    texts += [e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert_no_live_mentions(texts)
    joined = "\n".join(texts)
    assert view["title"]["text"] == "Retry with a new video"
    assert "new recording" in joined and VIDEO_REQUIREMENTS in joined
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["video"]["element"]["type"] == "url_text_input" and not blocks["video"]["optional"]
    assert (
        blocks["consent"]["optional"]
        and blocks["consent"]["element"]["initial_value"] == "https://x.test/c.mp4"
    )
    assert ("I, &lt;!channel&gt;" in joined) == (code == "consent_phrase_mismatch")
    if entry is not None:
        assert entry.title in joined

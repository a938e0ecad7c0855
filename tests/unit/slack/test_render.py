"""Tests for the rendering package `bot.slack.render`: every message renders valid Block Kit within Slack's
limits, and nothing a person or Tavus wrote can ping a channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.catalogue import Catalogue, CatalogueEntry, ExplainedError
from bot.domain.erasure import Forgotten, Left, Why
from bot.slack import render
from bot.slack.render import Message
from bot.slack.render.erasure import forgotten_message
from storage.models import ReplicaRequest, RequestStatus, utcnow

CATALOGUE = Catalogue()
REQUESTER = "UREQ42"
HOSTILE = "<!channel> <@U123> <!here> <!subteam^S1> Tom & Jerry"
# What HOSTILE must never show as: a live control sequence.
RAW_MENTIONS = ("<!channel>", "<@U123>", "<!here>", "<!subteam^S1>")
ESCAPED_MENTIONS = ("&lt;!channel&gt;", "&lt;@U123&gt;", "&lt;!here&gt;", "Tom &amp; Jerry")
HUGE = 5000


def make_request(**overrides: Any) -> ReplicaRequest:
    now = utcnow()
    fields: dict[str, Any] = {
        "id": 7,
        "channel_id": "C1",
        "requester_id": REQUESTER,
        "replica_name": "Ana Demo",
        "voice_name": "anna",
        "callback_token": "cb-token",
        "idempotency_key": "idem-key",
        "source_url": "https://img.example.com/ana.png",
        "replica_id": "r90bbd427f71",
        "created_at": now - timedelta(hours=1, minutes=5),
        "submitted_at": now - timedelta(hours=1, minutes=4),
    }
    fields.update(overrides)
    return ReplicaRequest(**fields)


# --- Block Kit checks ----------------------------------------------------------------------------------


def _texts(value: object) -> Iterator[str]:
    """Every `text` string anywhere in a block structure."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def rendered(message: Message) -> list[str]:
    return [message.text, *_texts(message.blocks)]


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    assert blocks, "a message with blocks must have at least one"
    assert len(blocks) <= 50
    parsed = Block.parse_all(blocks)
    assert None not in parsed, f"slack_sdk does not know a block type in {[b.get('type') for b in blocks]}"
    for block in parsed:
        block.validate_json()  # raises SlackObjectFormationError on the limits slack_sdk knows
    for block in blocks:
        kind = block["type"]
        if kind == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            for field in fields:
                assert 0 < len(field["text"]) <= 2000
            assert "text" in block or fields
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert 0 < len(element["text"]) <= 3000
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                if element["type"] == "button":
                    assert 0 < len(element["text"]["text"]) <= 75
                    assert element["text"]["type"] == "plain_text"
                    assert len(element.get("url", "")) <= 3000
                    assert len(element["action_id"]) <= 255


def assert_valid(message: Message) -> None:
    assert message.text.strip(), "the notification fallback text must not be empty"
    assert_valid_blocks(message.blocks)


def assert_no_live_mentions(texts: list[str]) -> None:
    joined = "\n".join(texts)
    for raw in RAW_MENTIONS:
        assert raw not in joined


# --- request card --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RequestStatus))
@pytest.mark.parametrize("progress", [None, 0, 42, 100])
def test_request_card_for_every_status_and_progress(status: RequestStatus, progress: int | None) -> None:
    request = make_request(status=status, progress_percent=progress, error_code="ImageQualityError")
    message = render.request_card(request)
    assert_valid(message)
    joined = "\n".join(rendered(message))
    assert "Ana Demo" in joined
    assert f"<@{REQUESTER}>" in joined
    assert "r90bbd427f71" in joined
    if status == RequestStatus.TRAINING:
        assert render.progress_bar(progress) in joined
        assert "1 h 04 min" in joined  # elapsed since submitted_at
    else:
        assert "▓" not in joined and "waiting for Tavus" not in joined


def test_request_card_without_replica_id_or_source() -> None:
    request = make_request(replica_id=None, source_url=None, voice_name=None, status=RequestStatus.SUBMITTING)
    message = render.request_card(request)
    assert_valid(message)
    joined = "\n".join(rendered(message))
    assert "not assigned yet" in joined
    assert "None" not in joined


def test_request_card_labels_a_training_video() -> None:
    request = make_request(source_url=None, train_video_url="https://v.example.com/train.mp4")
    joined = "\n".join(rendered(render.request_card(request)))
    assert "Training video: <https://v.example.com/train.mp4|" in joined


def test_failed_card_mentions_the_error_code() -> None:
    request = make_request(status=RequestStatus.FAILED, error_code="ImageQualityError")
    joined = "\n".join(rendered(render.request_card(request)))
    assert "`ImageQualityError`" in joined


def test_long_source_url_is_shortened_in_the_label() -> None:
    url = "https://img.example.com/" + "a" * 200 + ".png"
    message = render.request_card(make_request(source_url=url))
    assert_valid(message)
    context = next(t for t in _texts(message.blocks) if t.startswith("Photo:"))
    label = context.split("|", 1)[1]
    assert len(label) <= 61  # 60 characters and the closing ">"
    assert label.endswith("…>")


# --- failure and completion posts ----------------------------------------------------------------------


@pytest.mark.parametrize("entry", CATALOGUE.entries(), ids=lambda e: e.code)
def test_failure_post_for_every_catalogue_entry(entry: CatalogueEntry) -> None:
    request = make_request(status=RequestStatus.FAILED, error_code=entry.code)
    explained = CATALOGUE.explain(f"{entry.code}: {entry.tavus_message}")
    assert explained.entry == entry
    message = render.failure_post(request, explained, CATALOGUE)
    assert_valid(message)
    joined = "\n".join(rendered(message))
    assert message.text.startswith(f"<@{REQUESTER}>")
    assert entry.title in joined
    assert entry.explanation in joined
    for step in entry.advice:
        assert step in joined
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    links = [(b["text"]["text"], b["url"]) for b in buttons if "url" in b]
    assert links == [(entry.guideline_label, entry.guideline_url)]
    assert [(b["action_id"], b["value"]) for b in buttons if "url" not in b] == [("retry_request", "7")]
    assert "r90bbd427f71" in joined
    assert render.CREDIT_NOTE in joined


@pytest.mark.parametrize("raw", ["Something odd happened on our side", ""])
def test_failure_post_for_unknown_text(raw: str) -> None:
    explained = CATALOGUE.explain(raw)
    assert explained.entry is None
    message = render.failure_post(make_request(status=RequestStatus.FAILED), explained, CATALOGUE)
    assert_valid(message)
    joined = "\n".join(rendered(message))
    assert message.text.startswith(f"<@{REQUESTER}>")
    assert (raw or "no reason given") in joined
    assert CATALOGUE.support_email in joined
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["url"] for b in buttons if "url" in b] == [CATALOGUE.general_guideline_url]
    assert [b["action_id"] for b in buttons if "url" not in b] == ["retry_request"]


@pytest.mark.parametrize("thumbnail", [None, "https://cdn.example.com/preview.mp4"])
def test_completion_post(thumbnail: str | None) -> None:
    request = make_request(status=RequestStatus.COMPLETED, thumbnail_video_url=thumbnail)
    message = render.completion_post(request)
    assert_valid(message)
    joined = "\n".join(rendered(message))
    assert message.text.startswith(f"<@{REQUESTER}>")
    assert "r90bbd427f71" in joined
    assert ("<https://cdn.example.com/preview.mp4|Watch the preview>" in joined) == (thumbnail is not None)
    assert ("preview" in joined) == (thumbnail is not None)


# --- plain-text replies --------------------------------------------------------------------------------


def test_help_lists_every_subcommand_and_the_voices() -> None:
    text = render.help_message(["anna", "liam"])
    for sub in ("create", "status", "list", "explain", "errors", "voices", "help"):
        assert f"/replica {sub}" in text
    assert "anna, liam" in text
    assert "I don't know" not in text


def test_help_for_unknown_subcommand_quotes_it_escaped() -> None:
    text = render.help_message(["anna"], unknown="<!channel>&")
    assert "I don't know `&lt;!channel&gt;&amp;`" in text
    assert "<!channel>" not in text


def test_voices_marks_the_default() -> None:
    text = render.voices_message(["anna", "liam"], "liam")
    assert "• `anna` — " in text
    assert "• `liam` (default) — " in text
    assert render.voices_message(["anna"], None).count("(default)") == 0


@pytest.mark.parametrize("entry", CATALOGUE.entries(), ids=lambda e: e.code)
def test_explain_entry(entry: CatalogueEntry) -> None:
    text = render.explain_entry(entry)
    assert text.startswith(f"*{entry.code}*")
    assert f"<{entry.guideline_url}|{entry.guideline_label}>" in text
    assert all(step in text for step in entry.advice)


def test_explain_unknown_escapes_and_lists_known_codes() -> None:
    text = render.explain_unknown("<!here>Bogus", CATALOGUE)
    assert text.startswith("`&lt;!here&gt;Bogus`")
    assert "<!here>" not in text
    assert all(f"`{e.code}`" in text for e in CATALOGUE.entries())


def test_errors_lists_every_code() -> None:
    text = render.errors_message(CATALOGUE)
    assert all(f"• `{e.code}` — {e.title}" in text for e in CATALOGUE.entries())


def test_list_message_empty_and_full() -> None:
    assert "no replica requests" in render.list_message([])
    requests = [
        make_request(status=status, error_code="E1Error" if status == RequestStatus.FAILED else None)
        for status in RequestStatus
    ]
    text = render.list_message(requests)
    assert text.count("\n• ") == len(requests)
    assert "|requested>" in text


def test_status_line_contents() -> None:
    request = make_request(
        status=RequestStatus.TRAINING, progress_percent=42, error_code=None, submit_error=None
    )
    line = render.status_line(request)
    assert line.startswith("*Ana Demo* · :gear: Training · `r90bbd427f71` · ▓▓▓▓░░░░░░ 42%")
    assert f"<!date^{int(request.created_at.timestamp())}^" in line

    failed = make_request(status=RequestStatus.SUBMIT_FAILED, replica_id=None, submit_error="Tavus said no")
    assert "Tavus said no" in render.status_line(failed)


def test_short_replies_escape_their_input() -> None:
    assert render.accepted_message(HOSTILE).count("&lt;!channel&gt;") == 1
    assert_no_live_mentions([render.accepted_message(HOSTILE)])


# --- progress bar and elapsed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        (42, "▓▓▓▓░░░░░░ 42%"),
        (0, "░░░░░░░░░░ 0%"),
        (100, "▓▓▓▓▓▓▓▓▓▓ 100%"),
        (-5, "░░░░░░░░░░ 0%"),
        (250, "▓▓▓▓▓▓▓▓▓▓ 100%"),
        (None, "░░░░░░░░░░ waiting for Tavus"),
    ],
)
def test_progress_bar(percent: int | None, expected: str) -> None:
    assert render.progress_bar(percent) == expected


def test_progress_bar_width() -> None:
    assert render.progress_bar(50, width=4) == "▓▓░░ 50%"


def test_elapsed() -> None:
    now = utcnow()
    assert render.elapsed(None) == "—"
    assert render.elapsed(now - timedelta(minutes=7), now) == "7 min"
    assert render.elapsed(now - timedelta(hours=3, minutes=2), now) == "3 h 02 min"
    assert render.elapsed(now + timedelta(minutes=5), now) == "0 min"  # clock skew never goes negative


# --- mention injection -----------------------------------------------------------------------------------


def _all_messages_for(request: ReplicaRequest, explained: ExplainedError) -> list[Message]:
    return [
        render.request_card(request),
        render.failure_post(request, explained, CATALOGUE),
        render.completion_post(request),
    ]


@pytest.mark.parametrize("status", list(RequestStatus))
def test_hostile_replica_name_is_escaped_everywhere(status: RequestStatus) -> None:
    request = make_request(replica_name=HOSTILE, status=status, voice_name=HOSTILE)
    known = CATALOGUE.explain("ImageQualityError")
    unknown = CATALOGUE.explain("weird")
    for message in [*_all_messages_for(request, known), render.failure_post(request, unknown, CATALOGUE)]:
        assert_valid(message)
        texts = rendered(message)
        assert_no_live_mentions(texts)
        joined = "\n".join(texts)
        for escaped in ESCAPED_MENTIONS:
            assert escaped in joined
    line = render.status_line(request)
    assert_no_live_mentions([line, render.list_message([request])])
    assert "&lt;!channel&gt;" in line


def test_hostile_tavus_error_text_is_escaped() -> None:
    request = make_request(status=RequestStatus.FAILED, error_code=HOSTILE, submit_error=HOSTILE)
    explained = CATALOGUE.explain(HOSTILE)
    assert explained.entry is None
    for message in (render.failure_post(request, explained, CATALOGUE), render.request_card(request)):
        assert_valid(message)
        texts = rendered(message)
        assert_no_live_mentions(texts)
        assert "&lt;!channel&gt;" in "\n".join(texts)
    post = render.failure_post(request, explained, CATALOGUE)
    assert f"<@{REQUESTER}>" in post.text
    assert f"<@{REQUESTER}>" in "\n".join(_texts(post.blocks))
    assert_no_live_mentions([render.status_line(request)])


def test_hostile_code_next_to_a_documented_code_is_escaped() -> None:
    entry = CATALOGUE.lookup("ImageQualityError")
    explained = ExplainedError(raw="x", code="<!channel>ImageQualityError", entry=entry)
    message = render.failure_post(make_request(status=RequestStatus.FAILED), explained, CATALOGUE)
    assert_no_live_mentions(rendered(message))
    assert "&lt;!channel&gt;ImageQualityError" in "\n".join(rendered(message))


def test_requester_mention_is_live_in_failure_and_completion() -> None:
    request = make_request(replica_name=HOSTILE, status=RequestStatus.COMPLETED)
    for message in (
        render.completion_post(request),
        render.failure_post(request, CATALOGUE.explain("HeadphonesError"), CATALOGUE),
    ):
        assert f"<@{REQUESTER}>" in message.text
        assert f"<@{REQUESTER}>" in message.blocks[0]["text"]["text"]


def test_hostile_source_url_cannot_ping() -> None:
    # The photo link is whatever the requester typed; it is echoed in the card's context line.
    request = make_request(source_url="https://img.example.com/a.png?x=<!channel>")
    message = render.request_card(request)
    assert_no_live_mentions(rendered(message))


def test_escape() -> None:
    assert render.escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert render.escape("&lt;") == "&amp;lt;"  # escaping is not idempotent on purpose: text is literal


# --- huge inputs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RequestStatus))
@pytest.mark.parametrize("filler", ["n", "<", "&", "é"])
def test_huge_name_and_error_stay_within_limits(filler: str, status: RequestStatus) -> None:
    huge = filler * HUGE
    request = make_request(
        status=status,
        replica_name=huge,
        error_code=huge,
        error_message=huge,
        submit_error=huge,
        source_url="https://img.example.com/" + "a" * HUGE,
    )
    for progress in (None, 42):
        request.progress_percent = progress
        assert_valid(render.request_card(request))
    assert len(render.status_line(request)) > HUGE  # plain text, no block limit: shown whole
    assert_valid(render.failure_post(request, CATALOGUE.explain(huge), CATALOGUE))
    assert_valid(render.failure_post(request, CATALOGUE.explain("ImageQualityError " + huge), CATALOGUE))
    assert_valid(render.completion_post(request))
    assert_valid(
        render.completion_post(
            make_request(replica_name=huge, thumbnail_video_url="https://cdn.example.com/" + "p" * HUGE)
        )
    )


def test_huge_unknown_error_is_shown_truncated_not_dropped() -> None:
    huge = "E" * HUGE
    message = render.failure_post(make_request(), CATALOGUE.explain(huge), CATALOGUE)
    assert_valid(message)
    said = next(t for t in _texts(message.blocks) if t.startswith("*Tavus said*"))
    assert len(said) == 3000
    assert said.endswith("E")


# --- forgetting a person --------------------------------------------------------------------------------


def test_the_answer_to_forget_says_what_went_and_what_was_left() -> None:
    held = Left(6, "r3", Why.HELD, timedelta(minutes=40))
    left = (Left(5, "r2", Why.ACTIVE), held, Left(7, None, Why.SUBMITTING))
    report = Forgotten("U123", requests=2, mentions=1, photos=3, faces_deleted=("r1",), left=left)
    text = forgotten_message(report)
    assert "Removed <@U123>'s photos and personal details from 2 requests (3 stored photos)" in text
    assert "from 1 other request." in text and "Deleted in Tavus: `r1`" in text
    assert "`r2` is still in progress" in text and "--include-active" in text
    assert "`r3` failed recently" in text and "40 min" in text
    assert "request 7 is being submitted" in text
    assert forgotten_message(Forgotten("U9", 0, 0, 0, (), ())) == "replica-bot holds nothing about <@U9>."


def test_a_forgotten_requests_card_names_nobody() -> None:
    request = ReplicaRequest(
        id=1, channel_id="C1", requester_id="", replica_name="", status="completed", replica_id="r9",
        callback_token="t", idempotency_key="k",
    )
    card = render.request_card(request)
    assert "personal details were removed" in card.text and "<@" not in str(card.blocks)
    assert "`r9`" in str(card.blocks)

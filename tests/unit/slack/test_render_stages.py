"""phoenix-4.5's stages in words: the card, the thread posts, the DM, `/replica status` and App Home say
"Preview ready" while tuning goes on, then "Tuned" or "tuning failed"; other models read as before. And
`model=` on the command."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.catalogue import Catalogue
from bot.slack import render
from bot.slack.command_text import create_args, parse
from bot.slack.render import stages
from storage.models import OutboxKind, RequestStatus, utcnow
from tests.unit.slack.test_render import HOSTILE, RAW_MENTIONS, assert_valid, make_request

S = RequestStatus
CATALOGUE = Catalogue()
THUMB = "https://thumbs.example/r90bbd427f71.mp4"


def previewing(**overrides: object) -> object:
    now = utcnow()
    fields = {
        "status": S.PREVIEW_READY,
        "model_name": "phoenix-4.5",
        "preview_at": now - timedelta(minutes=20),
        "thumbnail_video_url": THUMB,
        "finetune_status": "training",
    }
    fields.update(overrides)
    return make_request(**fields)


def text_of(message: render.Message) -> str:
    return message.text + "\n" + repr(message.blocks)


def test_the_card_shows_the_preview_its_watermark_and_the_thumbnail() -> None:
    card = render.request_card(previewing())  # type: ignore[arg-type]
    assert_valid(card)
    shown = text_of(card)
    assert "Preview ready" in shown and "watermark" in shown and THUMB in shown
    assert "few hours" in shown and "3–4" not in shown


def test_a_phoenix_4_5_request_in_training_is_promised_a_preview_not_3_to_4_hours() -> None:
    card = text_of(render.request_card(make_request(status=S.TRAINING, model_name="phoenix-4.5")))
    assert "within minutes" in card and "3–4" not in card
    plain = text_of(render.request_card(make_request(status=S.TRAINING, model_name="phoenix-4")))
    assert "3–4" in plain and "preview" not in plain.lower()


@pytest.mark.parametrize(
    ("finetune", "label"), [("completed", "Tuned — watermark removed"), ("errored", "tuning failed")]
)
def test_the_end_of_tuning_is_on_the_card_status_and_home(finetune: str, label: str) -> None:
    request = previewing(status=S.COMPLETED, finetune_status=finetune, finished_at=utcnow())
    assert label in text_of(render.request_card(request))  # type: ignore[arg-type]
    assert label in render.status_line(request)  # type: ignore[arg-type]
    home = render.home_view([request], catalogue=CATALOGUE, is_admin=False)  # type: ignore[list-item]
    assert label in repr(home)


def test_status_and_home_say_a_preview_is_usable_while_tuning() -> None:
    request = previewing()
    assert "usable now" in render.status_line(request)  # type: ignore[arg-type]
    home = repr(render.home_view([request], catalogue=CATALOGUE, is_admin=False))  # type: ignore[list-item]
    assert "Preview ready" in home and "tuning for" in home.lower()


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (
            OutboxKind.PREVIEW_READY,
            ("usable for conversations", "few hours", "watermark", "Watch the preview"),
        ),
        (OutboxKind.TUNED, ("tuned — watermark removed", "same face id")),
        (OutboxKind.TUNING_FAILED, ("preview keeps working", "Nothing needs resubmitting", "new face")),
        (OutboxKind.STUCK, ("still being tuned", "preview works meanwhile", "support@tavus.io")),
    ],
)
def test_each_stage_post_says_what_it_means(kind: OutboxKind, words: tuple[str, ...]) -> None:
    request = previewing(replica_name=HOSTILE, progress_changed_at=utcnow() - timedelta(hours=7))
    post = stages.stage_post(kind, request, "https://docs.tavus.io", "support@tavus.io")  # type: ignore[arg-type]
    assert post is not None
    assert_valid(post)
    shown = text_of(post)
    for word in words:
        assert word in shown
    assert "r90bbd427f71" in shown
    assert not any(mention in shown for mention in RAW_MENTIONS)


def test_other_kinds_and_one_stage_stalls_are_left_to_the_thread_module() -> None:
    plain = make_request(status=S.TRAINING)
    assert stages.stage_post(OutboxKind.STUCK, plain, "https://d", "s@t") is None
    assert stages.stage_post(OutboxKind.FAILURE, previewing(), "https://d", "s@t") is None  # type: ignore[arg-type]


def test_the_requester_dm_for_a_preview() -> None:
    dm = render.requester_dm(previewing(), permalink="https://slack/p1", catalogue=CATALOGUE)  # type: ignore[arg-type]
    assert "usable preview" in dm.text and "https://slack/p1" in dm.text


def test_model_is_read_from_the_command() -> None:
    assert create_args(parse("create https://x/a.png model=Phoenix-4.5")).model == "phoenix-4.5"
    assert create_args(parse("create https://x/a.png")).model is None

"""Trying a face, in words (`bot.slack.render.try_face`, `try_posts`): the buttons only while a face is
usable, the sample video's form, every post a job makes, the call's link, and names and scripts that ping
nobody, all valid Block Kit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.domain.try_face.faces import USABLE
from bot.domain.try_face.videos import VideoForm
from bot.slack import render
from bot.slack.ids import MAKE_VIDEO_ACTION, SAMPLE_VIDEO_CALLBACK_ID, TALK_ACTION
from bot.slack.render.try_face import duration
from bot.slack.render.try_posts import job_post
from storage.job_models import FaceJob, JobKind
from storage.models import OutboxKind, RequestStatus, utcnow
from tests.unit.slack.test_render import CATALOGUE, HOSTILE, assert_no_live_mentions, make_request, rendered
from tests.unit.slack.test_render_ui import buttons, sdk_valid_message, sdk_valid_view

JOB_POSTS = [
    OutboxKind.VIDEO_STARTED,
    OutboxKind.VIDEO_READY,
    OutboxKind.VIDEO_FAILED,
    OutboxKind.VIDEO_DELETED,
    OutboxKind.VIDEO_NOT_MADE,
    OutboxKind.CALL_STARTED,
    OutboxKind.CALL_ENDED,
    OutboxKind.CALL_NOT_STARTED,
]


def make_job(kind: str = JobKind.VIDEO, **overrides: Any) -> FaceJob:
    now = utcnow()
    fields: dict[str, Any] = {
        "id": 17,
        "kind": kind,
        "request_id": 7,
        "replica_id": "r90bbd427f71",
        "asked_by": "UASKER",
        "asked_in": "C1",
        "status": "ready",
        "callback_token": "cb",
        "tavus_id": "v123",
        "script": HOSTILE,
        "video_url": "https://videos.tavus.io/video/v123",
        "thumbnail_url": "https://videos.tavus.io/v123.gif",
        "status_details": HOSTILE,
        "create_error": f"tavus_refused: {HOSTILE}",
        "started_at": now - timedelta(minutes=1, seconds=42),
        "finished_at": now,
        "ends_at": now + timedelta(seconds=18),
    }
    return FaceJob(**{**fields, **overrides})


@pytest.mark.parametrize("status", list(RequestStatus))
def test_the_buttons_are_there_only_while_the_face_is_usable(status: RequestStatus) -> None:
    face = make_request(status=status)
    post = render.thread_post(OutboxKind.COMPLETION, face, CATALOGUE, "https://docs.tavus.io", try_face=True)
    shown = {b["action_id"] for b in buttons(post)}
    if status in USABLE:
        assert shown == {MAKE_VIDEO_ACTION, TALK_ACTION}
        assert {b["text"]["text"] for b in buttons(post)} == {"Make a sample video", "Talk to it"}
        assert {b["value"] for b in buttons(post)} == {"7"}
    else:
        assert shown == set()
    off = render.thread_post(OutboxKind.COMPLETION, face, CATALOGUE, "https://docs.tavus.io", try_face=False)
    assert buttons(off) == []
    sdk_valid_message(post)


@pytest.mark.parametrize("kind", [OutboxKind.PREVIEW_READY, OutboxKind.TUNED])
def test_phoenix_4_5_usable_posts_carry_them_and_the_failure_post_never(kind: OutboxKind) -> None:
    face = make_request(status=RequestStatus.COMPLETED, model_name="phoenix-4.5", preview_at=utcnow())
    post = render.thread_post(kind, face, CATALOGUE, "https://docs.tavus.io", try_face=True)
    assert {b["action_id"] for b in buttons(post)} == {MAKE_VIDEO_ACTION, TALK_ACTION}
    stuck = render.thread_post(OutboxKind.STUCK, face, CATALOGUE, "https://docs.tavus.io", try_face=True)
    assert buttons(stuck) == []


@pytest.mark.parametrize("kind", JOB_POSTS)
def test_every_job_post_escapes_names_and_scripts_and_is_valid(kind: OutboxKind) -> None:
    face = make_request(replica_name=HOSTILE)
    job = make_job(JobKind.CALL if kind.startswith("call") else JobKind.VIDEO)
    post = render.thread_post(kind, face, CATALOGUE, "https://docs.tavus.io", job=job, try_face=True)
    sdk_valid_message(post)
    texts = rendered(post)
    assert_no_live_mentions(texts)
    assert "&lt;!channel&gt;" in "\n".join(texts)
    assert buttons(post) == []  # a job's post never offers the buttons again


def test_the_ready_post_mentions_who_asked_links_the_video_and_shows_its_thumbnail() -> None:
    post = job_post(OutboxKind.VIDEO_READY, make_request(), make_job(), "support@tavus.io")
    text = "\n".join(rendered(post))
    assert "<@UASKER>" in text and "<https://videos.tavus.io/video/v123|Watch it>" in text
    [image] = [b for b in post.blocks if b["type"] == "image"]
    assert image["image_url"] == "https://videos.tavus.io/v123.gif"
    bare = job_post(OutboxKind.VIDEO_READY, make_request(), make_job(video_url=None), "support@tavus.io")
    assert "gave no link" in bare.text and "v123" in bare.text and "support@tavus.io" in bare.text
    odd = job_post(OutboxKind.VIDEO_READY, make_request(), make_job(thumbnail_url="ftp://x"), "s@t")
    assert [b for b in odd.blocks if b["type"] == "image"] == []


@pytest.mark.parametrize(
    ("details", "meaning"),
    [
        ("Script exceeds the maximum length", "a shorter, plainer one"),
        ("This replica is not supported for video generation", "made for conversations only"),
        ("An error occurred while generating this request. Please check your inputs.", "rendering"),
        (None, "gave no reason"),
    ],
)
def test_a_video_error_is_explained_with_next_steps(details: str | None, meaning: str) -> None:
    job = make_job(status_details=details)
    post = job_post(OutboxKind.VIDEO_FAILED, make_request(), job, "support@tavus.io")
    text = "\n".join(rendered(post))
    assert meaning in text
    assert "Make a sample video" in text and "Talk to it" in text and "v123" in text


def test_the_call_posts_never_carry_its_link_and_say_how_long() -> None:
    job = make_job(JobKind.CALL, join_url="https://rooms.tavus.io/secret")
    started = job_post(OutboxKind.CALL_STARTED, make_request(), job, "s@t")
    ended = job_post(OutboxKind.CALL_ENDED, make_request(), job, "s@t")
    for post in (started, ended):
        assert "secret" not in "\n".join(rendered(post))
    assert "<@UASKER> started a test call" in started.text and "up to 2 min" in started.text
    assert "ended after 1 min 42 s" in ended.text


def test_the_call_link_goes_with_a_warning_and_says_when_there_is_none() -> None:
    face = make_request(replica_name=HOSTILE)
    message = render.call_link(face, "https://rooms.tavus.io/c1", seconds=120, conversation_id="c1")
    sdk_valid_message(message)
    text = "\n".join(rendered(message))
    assert "<https://rooms.tavus.io/c1|Join the call>" in text and "only for you" in text
    assert "2 min" in text
    assert_no_live_mentions(rendered(message))
    missing = render.call_link(face, None, seconds=120, conversation_id="c1")
    assert "no link" in missing.text and "c1" in missing.text


def test_the_sample_video_form_is_prefilled_and_bounded() -> None:
    view = render.sample_video_modal(VideoForm(7, HOSTILE, 400, 2), private_metadata='{"request_id": 7}')
    sdk_valid_view(view)
    assert view["callback_id"] == SAMPLE_VIDEO_CALLBACK_ID and len(view["title"]["text"]) <= 24
    [script] = [b for b in view["blocks"] if b.get("block_id") == "script"]
    element = script["element"]
    assert element["max_length"] == 400 and element["min_length"] == 1
    # Plain text, spoken by Tavus: the name as it is, in two sentences.
    script_text = element["initial_value"]
    assert script_text.startswith(f"Hi, I'm {HOSTILE}") and script_text.count(".") == 2
    assert "2 more sample videos" in view["blocks"][0]["text"]["text"]
    short = render.sample_video_modal(VideoForm(7, "Ana", 20, None), private_metadata="{}")
    assert len(short["blocks"][1]["element"]["initial_value"]) <= 20
    assert "more sample video" not in short["blocks"][0]["text"]["text"]


@pytest.mark.parametrize(
    ("seconds", "said"), [(0, "0 s"), (40, "40 s"), (120, "2 min"), (102.4, "1 min 42 s")]
)
def test_durations(seconds: float, said: str) -> None:
    assert duration(seconds) == said

"""Form submissions."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.ids import (
    BATCH_CALLBACK_ID,
    BATCH_DENY_CALLBACK_ID,
    DECLINE_NOTE_CALLBACK_ID,
    DENY_CALLBACK_ID,
    MODAL_CALLBACK_ID,
    SAMPLE_VIDEO_CALLBACK_ID,
    VIDEO_RETRY_CALLBACK_ID,
)
from handlers.views import answers, batch_form, create_form, sample_video, video_form


def register(app: App) -> None:
    app.view(MODAL_CALLBACK_ID)(create_form.on_submit)
    app.view(VIDEO_RETRY_CALLBACK_ID)(video_form.on_submit)
    app.view(DECLINE_NOTE_CALLBACK_ID)(answers.on_decline_note)
    app.view(DENY_CALLBACK_ID)(answers.on_deny_reason)
    app.view(SAMPLE_VIDEO_CALLBACK_ID)(sample_video.on_submit)
    app.view(BATCH_CALLBACK_ID)(batch_form.on_submit)
    app.view(BATCH_DENY_CALLBACK_ID)(answers.on_batch_deny_reason)

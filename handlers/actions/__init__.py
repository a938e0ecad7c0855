"""Buttons."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.slack.ids import (
    APPROVE_ACTION,
    BATCH_APPROVE_ACTION,
    BATCH_CANCEL_ACTION,
    BATCH_DENY_ACTION,
    BATCH_RETRY_ACTION,
    BATCH_SUBMIT_ACTION,
    CANCEL_ACTION,
    CONFIRM_ACTION,
    CONSENT_ALLOW_ACTION,
    CONSENT_DECLINE_ACTION,
    CONSENT_NOTE_ACTION,
    DENY_ACTION,
    GUIDELINE_ACTION,
    HOME_FILTER_ACTION_PREFIX,
    LIKENESS_COLLEAGUE_ACTION,
    LIKENESS_OUTSIDE_ACTION,
    MAKE_VIDEO_ACTION,
    PHOTO_ANOTHER_ACTION,
    PHOTO_ANYWAY_ACTION,
    PHOTO_FIX_ACTION,
    RETRY_ACTION,
    TALK_ACTION,
    WITHDRAW_ACTION,
)
from handlers.actions import (
    answers,
    batch,
    confirm,
    guideline_link,
    home_filter,
    likeness,
    photo_choice,
    retry,
    try_face,
)


def register(app: App) -> None:
    app.action(CONFIRM_ACTION)(confirm.on_confirm)
    app.action(CANCEL_ACTION)(confirm.on_cancel)
    app.action(RETRY_ACTION)(retry.on_retry)
    app.action(GUIDELINE_ACTION)(guideline_link.on_link)
    app.action(PHOTO_FIX_ACTION)(photo_choice.on_fix)
    app.action(PHOTO_ANYWAY_ACTION)(photo_choice.on_anyway)
    app.action(PHOTO_ANOTHER_ACTION)(photo_choice.on_another)
    app.action(re.compile(f"^{HOME_FILTER_ACTION_PREFIX}"))(home_filter.on_filter)
    app.action(LIKENESS_COLLEAGUE_ACTION)(likeness.on_colleague)
    app.action(LIKENESS_OUTSIDE_ACTION)(likeness.on_outside)
    app.action(CONSENT_ALLOW_ACTION)(answers.on_allow)
    app.action(CONSENT_DECLINE_ACTION)(answers.on_decline)
    app.action(CONSENT_NOTE_ACTION)(answers.on_note)
    app.action(APPROVE_ACTION)(answers.on_approve)
    app.action(DENY_ACTION)(answers.on_deny)
    app.action(WITHDRAW_ACTION)(answers.on_withdraw)
    app.action(MAKE_VIDEO_ACTION)(try_face.on_make_video)
    app.action(TALK_ACTION)(try_face.on_talk)
    app.action(BATCH_SUBMIT_ACTION)(batch.on_submit)
    app.action(BATCH_CANCEL_ACTION)(batch.on_cancel)
    app.action(BATCH_RETRY_ACTION)(batch.on_retry)
    app.action(BATCH_APPROVE_ACTION)(batch.on_approve)
    app.action(BATCH_DENY_ACTION)(batch.on_deny)

"""The ids Slack sends back to us: button actions, the modal's callback, the shortcut's callback.

The rendering layer puts them on what it builds; the listeners in `handlers/` register for them.
"""

from __future__ import annotations

CONFIRM_ACTION = "confirm_request"
CANCEL_ACTION = "cancel_request"
RETRY_ACTION = "retry_request"
# Link buttons open in the browser; Slack still reports the click.
GUIDELINE_ACTION = "open_guideline"
HOME_FILTER_ACTION_PREFIX = "home_filter_"
MODAL_CALLBACK_ID = "replica_create_modal"
# The form behind "Retry with a new video" (a failed video training).
VIDEO_RETRY_CALLBACK_ID = "replica_video_retry_modal"
HOME_CALLBACK_ID = "replica_home"
# The "Create replica" message shortcut, as declared in manifest.yml.
SHORTCUT_CALLBACK_ID = "create_replica"
# Message metadata on every post the outbox makes, carrying the outbox id (see bot/slack/exactly_once.py).
METADATA_EVENT = "replica_bot_notification"
# Under a photo Tavus' own check failed: submit it anyway, let Tavus' fixer mend it, or use another.
PHOTO_ANYWAY_ACTION = "photo_submit_anyway"
PHOTO_FIX_ACTION = "photo_let_tavus_fix"
PHOTO_ANOTHER_ACTION = "photo_use_another"
# Whose face it is: "This is me" is CONFIRM_ACTION (the rights question it replaced); a colleague is picked
# with a users_select whose block_id carries the request id (a select has no value of its own).
LIKENESS_COLLEAGUE_ACTION = "likeness_colleague"
LIKENESS_OUTSIDE_ACTION = "likeness_outside"
LIKENESS_BLOCK_PREFIX = "likeness:"
# The colleague in the photo answers in their DM; a "no" may carry a short note (a form).
CONSENT_ALLOW_ACTION = "consent_allow"
CONSENT_DECLINE_ACTION = "consent_decline"
CONSENT_NOTE_ACTION = "consent_add_note"
DECLINE_NOTE_CALLBACK_ID = "consent_decline_note"
# An approver's answer; "Deny" opens a form for the reason.
APPROVE_ACTION = "approval_approve"
DENY_ACTION = "approval_deny"
DENY_CALLBACK_ID = "approval_deny_reason"
# On the card while others are asked: the requester withdraws the request.
WITHDRAW_ACTION = "request_withdraw"
# Under a finished face's completion, preview and tuned posts: a sample video (its form), a test call.
MAKE_VIDEO_ACTION = "try_make_video"
TALK_ACTION = "try_talk"
SAMPLE_VIDEO_CALLBACK_ID = "sample_video_modal"
# A batch: the form (`/replica batch`, "Retry the failed rows"), Submit and Cancel on its card, "Retry these
# rows" under a failure post, an approver's answer (Deny opens a form for the reason).
BATCH_CALLBACK_ID = "batch_modal"
BATCH_SUBMIT_ACTION = "batch_submit"
BATCH_CANCEL_ACTION = "batch_cancel"
BATCH_RETRY_ACTION = "batch_retry"
BATCH_APPROVE_ACTION = "batch_approve"
BATCH_DENY_ACTION = "batch_deny"
BATCH_DENY_CALLBACK_ID = "batch_deny_reason"

"""Everything the bot says in Slack, in words and Block Kit, built from domain objects: this package holds
all user wording. Anything a person or Tavus wrote is escaped before it is echoed.

- `card`: the request card; `thread`: the failure, completion and stall posts and the requester's DM;
- `answers`: replies to the `/replica` subcommands; `forms`: the create form and the questions that wait
  for an answer; `home`: the App Home tab;
- `photos`, `refusals`: why something was refused (framed by `bot.slack.errors.user_message`);
- `try_face`, `try_posts`: trying a finished face (its buttons, the sample video's form, the test call's
  link for the person who clicked, refusals) and the posts its sample videos and test calls make;
- `batch`, `batch_posts`, `batch_form`: a batch's card, its posts (grouped failures, the summary, the
  requester's DM, an approver's message), its form and its refusals.
"""

from bot.slack.render.answers import (
    accepted_message,
    deleted_message,
    errors_message,
    explain_entry,
    explain_unknown,
    help_message,
    list_message,
    looking_at_replica,
    no_photo_in_message,
    status_line,
    upload_help,
    voice_description,
    voices_message,
    which_one,
)
from bot.slack.render.approval import REASON_REQUIRED, deny_form
from bot.slack.render.audit import audit_message
from bot.slack.render.batch import batch_card
from bot.slack.render.batch_form import BATCH_FIELD_ERRORS, batch_modal
from bot.slack.render.batch_posts import (
    batch_approval_ask,
    batch_dm,
    batch_line,
    batch_post,
    batch_row_post,
    batch_status,
)
from bot.slack.render.blocks import Block, Message, escape, link
from bot.slack.render.card import elapsed, progress_bar, request_card
from bot.slack.render.consent import decline_note_form
from bot.slack.render.erasure import NOT_AN_ADMIN, forgetting, forgotten_message
from bot.slack.render.forms import (
    CANCELLED,
    FIELD_ERRORS,
    GOING_ON,
    SUBMITTING,
    WITHDRAWN,
    confirmation,
    photo_advisory,
    photo_refused,
    question,
    upload_modal,
)
from bot.slack.render.home import HOME_FILTERS, HOME_LIMIT, home_view
from bot.slack.render.photos import IMAGE_REQUIREMENTS, finding_detail, refusal_text, refused_message
from bot.slack.render.refusals import resume_failed_message, something_went_wrong, submit_error_text
from bot.slack.render.stages import stage_post
from bot.slack.render.thread import (
    CREDIT_NOTE,
    addressed_message,
    completion_post,
    failure_post,
    fallback_notice,
    requester_dm,
    stored_failure,
    stuck_notice,
    thread_post,
)
from bot.slack.render.try_face import (
    MAKE_VIDEO,
    TALK,
    call_link,
    declined_text,
    sample_video_modal,
    starting_call,
    try_buttons,
    try_refusal_text,
    video_asked,
)
from bot.slack.render.verdict import tavus_refused

__all__ = [
    "BATCH_FIELD_ERRORS",
    "CANCELLED",
    "CREDIT_NOTE",
    "FIELD_ERRORS",
    "GOING_ON",
    "HOME_FILTERS",
    "HOME_LIMIT",
    "IMAGE_REQUIREMENTS",
    "MAKE_VIDEO",
    "NOT_AN_ADMIN",
    "REASON_REQUIRED",
    "SUBMITTING",
    "TALK",
    "WITHDRAWN",
    "Block",
    "Message",
    "accepted_message",
    "addressed_message",
    "audit_message",
    "batch_approval_ask",
    "batch_card",
    "batch_dm",
    "batch_line",
    "batch_modal",
    "batch_post",
    "batch_row_post",
    "batch_status",
    "call_link",
    "completion_post",
    "confirmation",
    "decline_note_form",
    "declined_text",
    "deleted_message",
    "deny_form",
    "elapsed",
    "errors_message",
    "escape",
    "explain_entry",
    "explain_unknown",
    "failure_post",
    "fallback_notice",
    "finding_detail",
    "forgetting",
    "forgotten_message",
    "help_message",
    "home_view",
    "link",
    "list_message",
    "looking_at_replica",
    "no_photo_in_message",
    "photo_advisory",
    "photo_refused",
    "progress_bar",
    "question",
    "refusal_text",
    "refused_message",
    "request_card",
    "requester_dm",
    "resume_failed_message",
    "sample_video_modal",
    "something_went_wrong",
    "stage_post",
    "starting_call",
    "status_line",
    "stored_failure",
    "stuck_notice",
    "submit_error_text",
    "tavus_refused",
    "thread_post",
    "try_buttons",
    "try_refusal_text",
    "upload_help",
    "upload_modal",
    "video_asked",
    "voice_description",
    "voices_message",
    "which_one",
]

"""The App Home tab: each person's replica requests, and everyone's (with filters) for admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.catalogue import Catalogue
from bot.domain.resubmission import RETRYABLE
from bot.domain.verdict_stats import VerdictStats
from bot.slack.ids import (
    APPROVE_ACTION,
    CONSENT_ALLOW_ACTION,
    CONSENT_DECLINE_ACTION,
    DENY_ACTION,
    HOME_CALLBACK_ID,
    HOME_FILTER_ACTION_PREFIX,
)
from bot.slack.render.batch_posts import batch_approval_buttons, batch_approval_line, batch_line
from bot.slack.render.blocks import (
    MAX_VIEW_BLOCKS,
    Block,
    button,
    context,
    date,
    escape,
    is_channel_id,
    section,
    shorten,
)
from bot.slack.render.card import elapsed, progress_bar, status_label
from bot.slack.render.photos import IMAGE_REQUIREMENTS
from bot.slack.render.refusals import submit_error_text
from bot.slack.render.stages import expected_time
from bot.slack.render.stats import checks_section
from bot.slack.render.thread import retry_button, stored_failure
from storage.models import ReplicaRequest, RequestStatus
from storage.repository.batches import BatchView

# Filter name → (button label, statuses shown; None for all).
HOME_FILTERS: dict[str, tuple[str, tuple[RequestStatus, ...] | None]] = {
    "all": ("All", None),
    "in_flight": (
        "In flight",
        (
            RequestStatus.RECEIVED,
            RequestStatus.AWAITING_CONFIRMATION,
            RequestStatus.SUBMITTING,
            RequestStatus.TRAINING,
            RequestStatus.PREVIEW_READY,
        ),
    ),
    "failed": ("Failed", (RequestStatus.FAILED, RequestStatus.SUBMIT_FAILED)),
    "done": ("Done", (RequestStatus.COMPLETED,)),
}
HOME_LIMIT = 25
ASKED_HEADER = "Waiting for your answer"


def home_view(
    requests: Sequence[ReplicaRequest],
    *,
    is_admin: bool,
    catalogue: Catalogue,
    active_filter: str = "all",
    viewer: str | None = None,
    now: datetime | None = None,
    stats: VerdictStats | None = None,
    asked: Sequence[ReplicaRequest] = (),
    asked_batches: Sequence[BatchView] = (),
    batches: Sequence[BatchView] = (),
) -> dict[str, Any]:
    """The App Home tab: the viewer's requests, or everyone's with filters for an admin; first, what waits
    for the viewer's own answer (`asked`: a replica of their face, or a request to approve;
    `asked_batches`: a batch to approve)."""
    blocks: list[Block] = [*_asked_of_you(asked, asked_batches)]
    if batches:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Batches"}})
        blocks.append(section("\n".join(f"• {batch_line(b)}" for b in batches)))
        blocks.append(context("`/replica status <batch id>` lists every row and each face's replica id."))
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Replica requests"}})
    if is_admin:
        blocks.append(context("You're an admin, so you see everyone's requests, newest first."))
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_filters",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"{HOME_FILTER_ACTION_PREFIX}{key}",
                        "value": key,
                        "text": {"type": "plain_text", "text": label},
                        **({"style": "primary"} if key == active_filter else {}),
                    }
                    for key, (label, _) in HOME_FILTERS.items()
                ],
            }
        )
    else:
        blocks.append(
            context("Your replica requests, newest first. Start one with `/replica create` in a channel.")
        )
    blocks.append({"type": "divider"})
    if not requests:
        empty = (
            "Nothing here yet. `/replica create` in a channel starts a request."
            if active_filter == "all"
            else f"No requests are *{HOME_FILTERS.get(active_filter, ('this', None))[0].lower()}* right now."
        )
        blocks.append(section(empty))
    for request in list(requests)[:HOME_LIMIT]:
        can_retry = is_admin or request.requester_id == viewer
        blocks.extend(
            _home_entry(request, catalogue=catalogue, show_requester=is_admin, can_retry=can_retry, now=now)
        )
    if len(requests) > HOME_LIMIT:
        blocks.append(
            context(f"Showing the newest {HOME_LIMIT}. `/replica status <replica_id>` finds any other.")
        )
    blocks.append({"type": "divider"})
    if is_admin and stats is not None:
        blocks.extend(checks_section(stats, catalogue))
    blocks.append(context(f"*Photo checklist:* {IMAGE_REQUIREMENTS} · `/replica help` for everything else"))
    return {
        "type": "home",
        "callback_id": HOME_CALLBACK_ID,
        "private_metadata": active_filter if active_filter in HOME_FILTERS else "all",
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }


def _asked_of_you(asked: Sequence[ReplicaRequest], asked_batches: Sequence[BatchView]) -> list[Block]:
    """The same questions as the DMs (which Slack may not have let through), with the same buttons."""
    if not asked and not asked_batches:
        return []
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": ASKED_HEADER}}]
    for request in asked:
        value = str(request.id)
        by, name = f"<@{request.requester_id}>", escape(shorten(request.replica_name, 80))
        if request.status == RequestStatus.AWAITING_CONSENT:
            line = f"{by} asks for a replica of *your face*, *{name}*."
            answers = [("Allow", CONSENT_ALLOW_ACTION), ("Decline", CONSENT_DECLINE_ACTION)]
        else:
            line = f"{by} asks to train *{name}*: it needs your approval."
            answers = [("Approve", APPROVE_ACTION), ("Deny", DENY_ACTION)]
        elements = [button(label, action, value, primary=n == 0) for n, (label, action) in enumerate(answers)]
        blocks += [section(line), {"type": "actions", "elements": elements}]
    for batch in asked_batches:
        assert batch.batch.id is not None
        blocks += [section(batch_approval_line(batch)), batch_approval_buttons(batch.batch.id)]
    return [*blocks, {"type": "divider"}]


def _home_entry(
    request: ReplicaRequest,
    *,
    catalogue: Catalogue,
    show_requester: bool,
    can_retry: bool,
    now: datetime | None,
) -> list[Block]:
    status = RequestStatus(request.status)
    head = f"*{escape(shorten(request.replica_name, 200))}* · {status_label(request)}"
    if show_requester:
        head += f" · by <@{request.requester_id}>"
    lines = [head]
    if status == RequestStatus.TRAINING:
        lines.append(
            f"`{progress_bar(request.progress_percent)}` · "
            f"{elapsed(request.submitted_at or request.created_at, now)} so far ({expected_time(request)})"
        )
    elif status == RequestStatus.PREVIEW_READY:
        lines.append(f"Usable now · tuning for {elapsed(request.preview_at, now)} ({expected_time(request)})")
    elif status == RequestStatus.FAILED:
        failure = stored_failure(request, catalogue)
        if (entry := failure.entry) is not None:
            lines.append(f"*{escape(entry.title)}* — `/replica explain {entry.code}` says what to do")
        elif failure.raw:
            lines.append(f"Tavus said: {escape(shorten(failure.raw, 300))}")
    elif status == RequestStatus.SUBMIT_FAILED and request.submit_error:
        lines.append(escape(shorten(submit_error_text(request.submit_error), 300)))
    summary = section("\n".join(lines))
    if can_retry and status in RETRYABLE and request.id is not None:
        summary["accessory"] = retry_button(request.id, video=request.train_video_url is not None)
    details = []
    if request.replica_id:
        details.append(f"`{request.replica_id}`")
    details.append(date(request.created_at.timestamp(), "requested {date_short_pretty} {time}", "requested"))
    if request.channel_id.startswith(("C", "G")) and is_channel_id(request.channel_id):
        details.append(f"in <#{request.channel_id}>")
    return [summary, context(" · ".join(details))]

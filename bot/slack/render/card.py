"""The request card: one message per request, posted in the channel and edited in place as training goes."""

from __future__ import annotations

from datetime import datetime

from bot.domain.errors import SubmitProblem
from bot.domain.lifecycle import REPLICA_GONE
from bot.domain.requests import SubmitError
from bot.slack.render import likeness, stages
from bot.slack.render.blocks import Block, Message, channel_ref, context, escape, link, section, shorten
from storage.models import Likeness, ReplicaRequest, RequestStatus, utcnow
from storage.repository.erasure import erased

TRAINING_HINT = (
    "Training usually takes 3–4 hours, and the progress can sit at one percentage for a long time while "
    "a step runs: that is normal. I'll post here when it finishes."
)

STATUS_LABELS = {
    RequestStatus.RECEIVED: ":mag: Checking the photo",
    RequestStatus.SUBMITTING: ":hourglass_flowing_sand: Submitting to Tavus",
    RequestStatus.TRAINING: ":gear: Training",
    RequestStatus.PREVIEW_READY: stages.PREVIEW_LABEL,
    RequestStatus.COMPLETED: ":white_check_mark: Ready",
    RequestStatus.FAILED: ":x: Training failed — see the thread",
    RequestStatus.SUBMIT_FAILED: ":warning: Not submitted",
    RequestStatus.AWAITING_CONFIRMATION: ":raised_hand: Waiting for your confirmation",
    RequestStatus.DELETED: ":wastebasket: Deleted",
    **likeness.WAITING_LABELS,
}

# What a channel error means for the person reading the DM; the raw code goes to the logs only.
_CHANNEL_PROBLEMS = {
    "channel_not_found": "I can't find that channel (it may have been deleted, or it's private and I'm "
    "not in it)",
    "not_in_channel": "I'm not a member of it (invite me with `/invite @replica-bot` to post there again)",
    "is_archived": "it has been archived",
    "restricted_action": "posting there is restricted for me",
    "cant_update_message": "I can no longer edit my message there",
    "message_not_found": "my message there has been deleted",
}


def status_label(request: ReplicaRequest) -> str:
    return stages.stage_label(request) or STATUS_LABELS[RequestStatus(request.status)]


def progress_bar(percent: int | None, width: int = 10) -> str:
    if percent is None:
        return "░" * width + " waiting for Tavus"
    percent = max(0, min(100, percent))
    filled = round(percent * width / 100)
    return "▓" * filled + "░" * (width - filled) + f" {percent}%"


def elapsed(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return "—"
    minutes = int(((now or utcnow()) - since).total_seconds() // 60)
    hours, minutes = divmod(max(minutes, 0), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def channel_problem(error: str | None) -> str:
    return _CHANNEL_PROBLEMS.get(error or "", "Slack won't let me post there")


def reported_code(request: ReplicaRequest) -> str | None:
    """The error code to quote for a failed request: Tavus' (or the catalogue's), never one of ours."""
    return request.error_code if request.error_code and request.error_code != REPLICA_GONE else None


def request_card(
    request: ReplicaRequest,
    now: datetime | None = None,
    *,
    retry_of: ReplicaRequest | None = None,
    retry_of_link: str | None = None,
    meant_for: str | None = None,
    meant_for_reason: str | None = None,
) -> Message:
    """The request card, edited in place as training goes.

    `retry_of` is the failed request this one retries and `retry_of_link` its card's permalink. `meant_for`
    is the channel that refused the card for good (`meant_for_reason`): the card lives in the DM instead.
    """
    if erased(request):
        return forgotten_card(request)
    status = RequestStatus(request.status)
    name = escape(request.replica_name)
    source = request.source_url or request.train_video_url
    fields = [
        f"*Requested by*\n<@{request.requester_id}>",
        f"*Voice*\n{escape(request.voice_name) if request.voice_name else '—'}",
        f"*Status*\n{status_label(request)}",
        f"*Replica id*\n`{request.replica_id}`" if request.replica_id else "*Replica id*\nnot assigned yet",
    ]
    if request.likeness not in (None, Likeness.SELF):
        fields.append(f"*Whose face*\n{likeness.face_description(request)}")
    if status == RequestStatus.TRAINING:
        fields.append(f"*Progress*\n`{progress_bar(request.progress_percent)}`")
        fields.append(
            f"*Elapsed*\n{elapsed(request.submitted_at or request.created_at, now)} "
            f"({stages.expected_time(request)})"
        )
    elif status == RequestStatus.PREVIEW_READY:
        fields.append(f"*Tuning for*\n{elapsed(request.preview_at, now)} ({stages.expected_time(request)})")
    elif (
        status in (RequestStatus.COMPLETED, RequestStatus.FAILED)
        and request.submitted_at
        and request.finished_at
    ):
        fields.append(f"*Trained for*\n{elapsed(request.submitted_at, request.finished_at)}")
    title = section(f":bust_in_silhouette: *Replica request: {name}*")
    thumbnail = _thumbnail_url(request)
    if thumbnail is not None:
        # Slack fetches the image itself; a photo it cannot reach just shows no thumbnail.
        title["accessory"] = {"type": "image", "image_url": thumbnail, "alt_text": "The submitted photo"}
    blocks: list[Block] = []
    if meant_for:
        blocks.append(
            context(
                f":information_source: This card was meant for {channel_ref(meant_for)}, but "
                f"{channel_problem(meant_for_reason)}. I'll keep you posted here instead."
            )
        )
    blocks += [title, {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}]
    if request.retry_of is not None:
        blocks.append(context(_retry_line(retry_of, retry_of_link)))
    blocks += likeness.card_lines(request)
    if source:
        label = "Training video" if request.train_video_url else "Photo"
        blocks.append(context(f"{label}: {link(source, shorten(source))}"))
    if status == RequestStatus.TRAINING:
        blocks.append(context(stages.PREVIEW_TRAINING_HINT if stages.two_stage(request) else TRAINING_HINT))
    elif status == RequestStatus.PREVIEW_READY:
        blocks += stages.preview_card_lines(request)
    elif status == RequestStatus.FAILED:
        code = reported_code(request)
        reported = f"Tavus reported `{escape(code)}`. " if code else ""
        blocks.append(context(f"{reported}What it means and what to do next are in the thread."))
    elif status == RequestStatus.COMPLETED:
        blocks.append(context("Ready to use. How to use it is in the thread."))
    text = f"Replica request {name} by <@{request.requester_id}>: {status_label(request)}"
    if status == RequestStatus.TRAINING and request.progress_percent is not None:
        text += f" ({request.progress_percent}%)"
    return Message(text=text, blocks=blocks)


def forgotten_card(request: ReplicaRequest) -> Message:
    """The card of a request whose person asked to be forgotten: no name, photo or mention is left."""
    replica = f" · replica `{request.replica_id}`" if request.replica_id else ""
    line = f":see_no_evil: *A replica request whose personal details were removed*{replica}"
    text = f"A replica request whose personal details were removed: {status_label(request)}"
    return Message(text=text, blocks=[section(line), context(f"Status: {status_label(request)}")])


def _thumbnail_url(request: ReplicaRequest) -> str | None:
    """The submitted photo, if it is a web address Slack can fetch and Block Kit accepts."""
    if request.train_video_url:
        return None
    for url in (request.source_url, request.train_image_url):
        if (
            url
            and url.startswith(("https://", "http://"))
            and len(url) <= 3000
            and not any(c in url for c in "<>|\"' \n\t")
        ):
            return url
    return None


def _retry_line(original: ReplicaRequest | None, permalink: str | None) -> str:
    if original is None:
        return ":repeat: Retry of an earlier request that failed."
    label = shorten(original.replica_name, 80)
    named = link(permalink, label) if permalink else f"*{escape(label)}*"
    replica = f" (`{original.replica_id}`)" if original.replica_id else ""
    # A request set aside for another photo (or declined) never failed: it was never tried.
    error = SubmitError.parse(original.submit_error)
    if error is not None and error.problem == SubmitProblem.CANCELLED:
        return f":repeat: Retry of {named}{replica} with another photo."
    return f":repeat: Retry of {named}{replica}, which failed."

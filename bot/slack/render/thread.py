"""The posts in a request card's thread: the failure explained, the replica ready, a long stall; and the
short DM to the requester that points at them."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.catalogue import DEFAULT_DOCS_BASE_URL, Catalogue, ExplainedError
from bot.domain.lifecycle import REPLICA_GONE
from bot.slack.ids import GUIDELINE_ACTION, RETRY_ACTION
from bot.slack.render import approval, consent, stages, try_posts
from bot.slack.render.blocks import (
    MAX_MESSAGE_BLOCKS,
    Block,
    Message,
    button,
    channel_ref,
    context,
    escape,
    link,
    link_button,
    section,
)
from bot.slack.render.card import channel_problem
from bot.slack.render.try_face import try_buttons
from bot.slack.render.video_failure import requirements_block, video_failure_blocks
from storage.job_models import FaceJob
from storage.models import OutboxKind, ReplicaRequest, RequestStatus, utcnow

CREDIT_NOTE = (
    "A run that fails costs no credit. Please don't delete this replica straight away: if it is deleted "
    "right after the error, the refund may not register."
)
GONE_TEXT = "The replica no longer exists in Tavus (it may have been deleted)."
CVI_GUIDE_PATH = "/sections/conversational-video-interface/quickstart/build-first-app"
VIDEO_GUIDE_PATH = "/sections/video/quickstart"
# The posts that say a face can be used: they carry "Make a sample video" and "Talk to it".
TRY_FACE_POSTS = (OutboxKind.COMPLETION, OutboxKind.PREVIEW_READY, OutboxKind.TUNED)


def retry_button(request_id: int, *, video: bool = False) -> Block:
    label = "Retry with a new video" if video else "Retry with a new photo"
    return button(label, RETRY_ACTION, str(request_id), primary=True)


def stored_failure(request: ReplicaRequest, catalogue: Catalogue) -> ExplainedError:
    """The failure as it was explained when it happened: the stored code, looked up, and Tavus' words."""
    if request.error_code == REPLICA_GONE:
        return ExplainedError(raw=GONE_TEXT, code=None, entry=None)
    entry = catalogue.lookup(request.error_code) if request.error_code else None
    return ExplainedError(raw=request.error_message or "", code=request.error_code, entry=entry)


def failure_post(request: ReplicaRequest, explained: ExplainedError, catalogue: Catalogue) -> Message:
    mention = f"<@{request.requester_id}>"
    name = escape(request.replica_name)
    entry = explained.entry
    video = request.train_video_url is not None
    if entry is not None and entry.video:
        text = f"{mention} training for *{name}* failed: {entry.title}."
        blocks = video_failure_blocks(mention, request.replica_name, request.replica_id, explained, entry)
        url, label = entry.guideline_url, entry.guideline_label
    elif entry is not None:
        text = f"{mention} training for *{name}* failed: {entry.title}."
        blocks = [
            section(f"{mention} training for *{name}* failed: *{escape(entry.title)}*"),
            section(f"*What it means*\n{entry.explanation}"),
            section("*What to do next*\n" + "\n".join(f"• {step}" for step in entry.advice)),
            context(f"Tavus said: `{escape(explained.code or entry.code)}` — {escape(entry.tavus_message)}"),
        ]
        url, label = entry.guideline_url, entry.guideline_label
    else:
        shown = escape(explained.raw) if explained.raw else "no reason given"
        text = f"{mention} training for *{name}* failed. Tavus said: {shown}"
        what = (
            "video with the Tavus video requirements" if video else "photo with the Tavus training guidelines"
        )
        blocks = [
            section(f"{mention} training for *{name}* failed."),
            section(f"*Tavus said*\n> {shown}"),
            section(
                f"*What to do next*\n• Compare the {what} and try again with a different one.\n"
                f"• If it keeps failing, write to {catalogue.support_email} with the replica id below."
            ),
        ]
        url, label = catalogue.general_guideline_url, "Tavus replica FAQ and guidelines"
        if video:
            blocks.append(requirements_block())
            url, label = catalogue.video_guideline_url, "Tavus video requirements"
    # One click toward the fix: a new photo (or video), with the name and voice filled in.
    buttons = [retry_button(request.id, video=video)] if request.id is not None else []
    buttons.append(link_button(label, url, GUIDELINE_ACTION))
    blocks.append({"type": "actions", "elements": buttons})
    blocks.append(context(f"Replica id `{request.replica_id}` · {CREDIT_NOTE}"))
    return Message(text=text, blocks=blocks)


def completion_post(request: ReplicaRequest, docs_url: str = DEFAULT_DOCS_BASE_URL) -> Message:
    mention = f"<@{request.requester_id}>"
    name = escape(request.replica_name)
    docs = docs_url.rstrip("/")
    text = f"{mention} *{name}* is ready. Replica id `{request.replica_id}`."
    lines = [
        f":tada: {mention} *{name}* finished training and is ready to use.",
        f"*Replica id:* `{request.replica_id}`",
    ]
    thumbnail = request.thumbnail_video_url
    if thumbnail and len(thumbnail) <= 2000 and thumbnail.startswith(("https://", "http://")):
        lines.append(f":film_frame: {link(thumbnail, 'Watch the preview')}")
    blocks = [
        section("\n".join(lines)),
        section(
            "*What you can do with it*\n"
            "• *Talk with it live:* start a conversation (Tavus CVI) with this replica id — "
            f"{link(docs + CVI_GUIDE_PATH, 'how to start one')}\n"
            "• *Make videos:* give it a script and Tavus generates a video of it speaking — "
            f"{link(docs + VIDEO_GUIDE_PATH, 'how to generate one')}"
        ),
    ]
    return Message(text=text, blocks=blocks)


def stuck_notice(request: ReplicaRequest, support_email: str) -> Message:
    since = request.progress_changed_at or request.submitted_at or request.created_at
    hours = max(1, int((utcnow() - since).total_seconds() // 3600))
    at = f" at {request.progress_percent}%" if request.progress_percent is not None else ""
    text = (
        f"<@{request.requester_id}> *{escape(request.replica_name)}* is still training: progress has "
        f"stayed{at} for about {hours} h. That is usually fine — a training step can hold one percentage "
        "for a long time, and the whole run typically takes 3–4 hours. If there is still no change after "
        f"24 hours, write to {support_email} with replica id `{request.replica_id}`."
    )
    return Message(text=text, blocks=[section(f":hourglass_flowing_sand: {text}")])


def fallback_notice(message: Message, *, meant_for: str, reason: str | None) -> Message:
    """A notification the channel refused for good, delivered to the requester's DM instead."""
    where = channel_ref(meant_for)
    note = context(
        f":information_source: This was meant for {where}, but {channel_problem(reason)}. Here it is."
    )
    blocks = [note, *message.blocks][:MAX_MESSAGE_BLOCKS]
    return Message(text=f"(Meant for {where}) {message.text}", blocks=blocks)


def requester_dm(request: ReplicaRequest, *, permalink: str | None, catalogue: Catalogue) -> Message:
    """The short DM that follows a failure or completion post, pointing at it."""
    name = escape(request.replica_name)
    where = (
        link(permalink, "See the post in the thread")
        if permalink
        else f"`/replica status {request.replica_id}` has the details"
    )
    if request.status == RequestStatus.PREVIEW_READY:
        return stages.preview_dm(request, where)
    if request.status == RequestStatus.COMPLETED:
        text = f":tada: Your replica *{name}* is ready (replica id `{request.replica_id}`). {where}."
        return Message(text=text, blocks=[section(text)])
    entry = stored_failure(request, catalogue).entry
    reason = f": {escape(entry.title)}" if entry else ""
    text = f":x: Training for your replica *{name}* failed{reason}. {where} for what to do next."
    blocks = [section(text)]
    if request.id is not None:
        video = request.train_video_url is not None
        blocks.append({"type": "actions", "elements": [retry_button(request.id, video=video)]})
    return Message(text=text, blocks=blocks)


def addressed_message(kind: str, request: ReplicaRequest, catalogue: Catalogue) -> Message:
    """A message that goes to someone other than the request's thread (a DM to the colleague in the photo,
    an approver's), kept current as the request changes."""
    if kind == OutboxKind.CONSENT_ASK:
        return consent.consent_ask(request)
    if kind == OutboxKind.APPROVAL_ASK:
        return approval.approval_ask(request, catalogue)
    raise ValueError(f"no addressed message for outbox kind {kind!r}")


def thread_post(
    kind: str,
    request: ReplicaRequest,
    catalogue: Catalogue,
    docs_url: str,
    *,
    job: FaceJob | None = None,
    try_face: bool = False,
) -> Message:
    """The post an outbox row of `kind` makes in the request card's thread: about the face, or about one of
    its sample videos or test calls (`job`). `try_face`: its ready posts carry the buttons to try it."""
    if job is not None:
        return try_posts.job_post(kind, request, job, catalogue.support_email)
    staged = stages.stage_post(kind, request, docs_url, catalogue.support_email)
    if staged is not None:
        post = staged
    elif kind == OutboxKind.FAILURE:
        return failure_post(request, stored_failure(request, catalogue), catalogue)
    elif kind == OutboxKind.STUCK:
        return stuck_notice(request, catalogue.support_email)
    elif kind == OutboxKind.COMPLETION:
        post = completion_post(request, docs_url)
    elif (answered := _ANSWERED.get(kind)) is not None:
        return answered(request)
    else:
        raise ValueError(f"no message for outbox kind {kind!r}")
    if try_face and kind in TRY_FACE_POSTS:
        post = Message(text=post.text, blocks=[*post.blocks, *try_buttons(request)])
    return post


# What the answers of the colleague in the photo and of the approvers post in the request's thread.
_ANSWERED: dict[str, Callable[[ReplicaRequest], Message]] = {
    OutboxKind.DECLINED: consent.declined_post,
    OutboxKind.DECLINE_NOTE: consent.decline_note_post,
    OutboxKind.EXPIRED: consent.expired_post,
    OutboxKind.CONSENT_UNREACHABLE: consent.consent_unreachable,
    OutboxKind.DENIED: approval.denied_post,
}

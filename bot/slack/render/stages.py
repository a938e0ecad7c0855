"""phoenix-4.5's two stages in words: a usable, watermarked preview within minutes, then tuning for a few
hours that ends with the watermark gone (or, if tuning fails, with the preview as it is). Other models
have one stage, worded in `card` and `thread`."""

from __future__ import annotations

from bot.domain.catalogue import DEFAULT_DOCS_BASE_URL
from bot.slack.render.blocks import Block, Message, context, escape, link, section
from bot.tavus import FinetuneState
from bot.tavus.models import normalise_finetune
from bot.tavus.phoenix import has_preview_stage
from storage.models import OutboxKind, ReplicaRequest, RequestStatus, utcnow

CVI_GUIDE_PATH = "/sections/conversational-video-interface/quickstart/build-first-app"
PREVIEW_LABEL = ":eyes: Preview ready — tuning"
TUNED_LABEL = ":white_check_mark: Tuned — watermark removed"
TUNING_FAILED_LABEL = ":white_check_mark: Ready as a preview — tuning failed"
PREVIEW_TRAINING_HINT = (
    "With phoenix-4.5 a usable preview (with a watermark) usually arrives within minutes; Tavus then tunes "
    "the face for a few hours and removes the watermark. I'll post here at each step."
)
WATERMARK_NOTE = (
    "Usable now for conversations, with a visible watermark. Tuning goes on for a few hours — the progress "
    "can sit still for a long time, that is normal — and I'll post here when the watermark is gone."
)


def two_stage(request: ReplicaRequest) -> bool:
    return has_preview_stage(request.model_name) or request.preview_at is not None


def stage_label(request: ReplicaRequest) -> str | None:
    """The status label where phoenix-4.5's stages say more than the status does; None elsewhere."""
    if request.status == RequestStatus.PREVIEW_READY:
        return PREVIEW_LABEL
    if request.status == RequestStatus.COMPLETED and request.preview_at is not None:
        tuning = normalise_finetune(request.finetune_status)
        return TUNING_FAILED_LABEL if tuning == FinetuneState.ERRORED else TUNED_LABEL
    return None


def expected_time(request: ReplicaRequest) -> str:
    """How long the current stage usually takes, for the card's and App Home's elapsed time."""
    if request.status == RequestStatus.PREVIEW_READY:
        return "tuning usually takes a few hours"
    return "a preview usually within minutes" if two_stage(request) else "usually 3–4 h in all"


def _preview_link(request: ReplicaRequest) -> str | None:
    url = request.thumbnail_video_url
    if url and len(url) <= 2000 and url.startswith(("https://", "http://")):
        return f":film_frame: {link(url, 'Watch the preview')}"
    return None


def preview_card_lines(request: ReplicaRequest) -> list[Block]:
    lines = [WATERMARK_NOTE]
    if (preview := _preview_link(request)) is not None:
        lines.append(preview)
    return [context(" ".join(lines))]


def preview_post(request: ReplicaRequest, docs_url: str = DEFAULT_DOCS_BASE_URL) -> Message:
    mention = f"<@{request.requester_id}>"
    name = escape(request.replica_name)
    text = (
        f"{mention} the preview of *{name}* is ready: the face is already usable for conversations "
        f"(face id `{request.replica_id}`)."
    )
    lines = [
        f":eyes: {text}",
        "It carries a visible watermark for now. Tavus keeps tuning it for a few hours; when that is done "
        "the watermark goes, under the same face id. I'll post here once more.",
    ]
    if (preview := _preview_link(request)) is not None:
        lines.append(preview)
    guide = link(docs_url.rstrip("/") + CVI_GUIDE_PATH, "how to start a conversation")
    used = context(f"Use it in a Tavus conversation with this face id — {guide}.")
    return Message(text=text, blocks=[section("\n".join(lines)), used])


def tuned_post(request: ReplicaRequest) -> Message:
    text = (
        f"<@{request.requester_id}> *{escape(request.replica_name)}* is tuned — watermark removed. It is the "
        f"same face id `{request.replica_id}`: nothing to change where you already use it."
    )
    return Message(text=text, blocks=[section(f":sparkles: {text}")])


def tuning_failed_post(request: ReplicaRequest) -> Message:
    mention = f"<@{request.requester_id}>"
    name = escape(request.replica_name)
    text = f"{mention} Tavus could not finish tuning *{name}*. The preview keeps working."
    lines = [
        f":warning: {text}",
        f"• Face id `{request.replica_id}` stays usable for conversations, with its watermark.",
        "• Nothing needs resubmitting, and nothing is lost.",
        "• For another tuning attempt, request a new face (`/replica create … model=phoenix-4.5`): "
        "Tavus tunes each face once.",
    ]
    return Message(text=text, blocks=[section("\n".join(lines))])


def tuning_stuck_notice(request: ReplicaRequest, support_email: str) -> Message:
    since = request.progress_changed_at or request.preview_at or request.created_at
    hours = max(1, int((utcnow() - since).total_seconds() // 3600))
    text = (
        f"<@{request.requester_id}> *{escape(request.replica_name)}* is still being tuned, with no visible "
        f"progress for about {hours} h. The preview works meanwhile, and tuning usually takes a few hours. "
        f"If there is still no change after 24 hours, write to {support_email} with face id "
        f"`{request.replica_id}`."
    )
    return Message(text=text, blocks=[section(f":hourglass_flowing_sand: {text}")])


def stage_post(kind: str, request: ReplicaRequest, docs_url: str, support_email: str) -> Message | None:
    """The thread post for a phoenix-4.5 outbox kind (or its stall notice); None for any other kind."""
    if kind == OutboxKind.PREVIEW_READY:
        return preview_post(request, docs_url)
    if kind == OutboxKind.TUNED:
        return tuned_post(request)
    if kind == OutboxKind.TUNING_FAILED:
        return tuning_failed_post(request)
    if kind == OutboxKind.STUCK and request.preview_at is not None:
        return tuning_stuck_notice(request, support_email)
    return None


def deleted_note(request: ReplicaRequest) -> str | None:
    """What deleting a phoenix-4.5 face meant: it was usable, and (if it was still tuning) tuning ended."""
    if request.preview_at is None:
        return None
    if normalise_finetune(request.finetune_status) == FinetuneState.TUNING:
        return "Its preview was already usable for conversations; it is gone now, and its tuning with it."
    return "It was usable for conversations; it is gone now."


def preview_dm(request: ReplicaRequest, where: str) -> Message:
    text = (
        f":eyes: Your face *{escape(request.replica_name)}* has a usable preview (face id "
        f"`{request.replica_id}`); tuning goes on for a few hours. {where}."
    )
    return Message(text=text, blocks=[section(text)])

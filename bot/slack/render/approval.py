"""An approver is asked before the team's credits are spent: the message with the summary and Approve /
Deny (edited to say who decided what), the form for the reason of a "no", and the requester's post."""

from __future__ import annotations

from typing import Any

from bot.domain.catalogue import Catalogue
from bot.domain.gates import Answer
from bot.domain.image_checks import TavusVerdict
from bot.slack.ids import APPROVE_ACTION, DENY_ACTION, DENY_CALLBACK_ID
from bot.slack.render.blocks import Block, Message, button, context, escape, plain, section, shorten
from bot.slack.render.consent import photo_block, summary, where_asked
from bot.slack.render.likeness import face_description, when
from storage.models import Likeness, ReplicaRequest, RequestStatus

REASON_MAX_CHARS = 500
OUTSIDE_NOTE = "The face is of someone outside this workspace (or synthetic): an approver decides."


def approval_ask(request: ReplicaRequest, catalogue: Catalogue) -> Message:
    """The message each approver gets (or the one post in APPROVAL_CHANNEL); once decided, who decided."""
    requester = f"<@{request.requester_id}>"
    text = (
        f"{requester} asks for a replica {where_asked(request)}: it needs an approval before credits are "
        "spent."
    )
    face = face_description(request)
    if request.consent_status == Answer.ALLOWED and request.consent_at and request.depicted_id:
        face += f" (they allowed it, {when(request.consent_at.timestamp())})"
    blocks: list[Block] = [
        section(f":ballot_box_with_check: {text}"),
        section(f"*Whose face:* {face}\n{summary(request)}"),
        section(f"*What the checks found*\n{checks_found(request, catalogue)}"),
    ]
    photo = photo_block(request)
    if photo is not None:
        blocks.append(photo)
    if request.likeness == Likeness.OUTSIDE:
        blocks.append(context(OUTSIDE_NOTE))
    decided = _decided(request)
    if decided is not None:
        blocks.append(section(decided))
        return Message(text=f"{text} {decided}", blocks=blocks)
    value = str(request.id)
    blocks.append(
        {
            "type": "actions",
            "elements": [
                button("Approve", APPROVE_ACTION, value, primary=True),
                {**button("Deny", DENY_ACTION, value), "style": "danger"},
            ],
        }
    )
    footer = "The first answer counts; you can't approve your own requests."
    if request.expires_at is not None:
        footer += f" Unanswered, it expires {when(request.expires_at.timestamp())}."
    blocks.append(context(footer))
    return Message(text=text, blocks=blocks)


def checks_found(request: ReplicaRequest, catalogue: Catalogue) -> str:
    """Both checks, in a line each."""
    kinds = [k for k in (request.preflight_findings or "").split(",") if k]
    if request.preflight_findings is None:
        offline = "Offline photo check: not run."
    elif kinds:
        offline = f"Offline photo check: doubts about {', '.join(k.replace('_', ' ') for k in kinds)}."
    else:
        offline = "Offline photo check: nothing found."
    verdict = TavusVerdict.parse(request.tavus_verdict)
    if request.train_video_url:
        tavus = "Tavus' image check: not asked (a video)."
    elif verdict is None:
        tavus = "Tavus' image check: no answer (it was off or unavailable)."
    elif verdict.passed:
        tavus = "Tavus' image check: passed."
    else:
        failed = ", ".join(escape(c.label or c.id or "?") for c in verdict.failed)
        tavus = f"Tavus' image check: failed ({failed}); the requester chose to go on."
    return f"• {offline}\n• {tavus}"


def _decided(request: ReplicaRequest) -> str | None:
    at = when(request.approval_at.timestamp()) if request.approval_at else "just now"
    by = f"<@{request.approval_by}>" if request.approval_by else "someone"
    if request.status == RequestStatus.AWAITING_APPROVAL:
        return None
    if request.approval_status == Answer.APPROVED:
        return f":white_check_mark: Approved by {by}, {at}."
    if request.approval_status == Answer.DENIED:
        reason = request.approval_reason
        reason = f" Reason: {escape(shorten(reason, 300))}" if reason else ""
        return f":no_entry: Denied by {by}, {at}.{reason}"
    if request.approval_status == Answer.EXPIRED:
        return ":hourglass: Expired: nobody decided in time."
    return f":information_source: <@{request.requester_id}> withdrew this request."


def deny_form(
    request_id: int, *, callback_id: str = DENY_CALLBACK_ID, what: str = "replica"
) -> dict[str, Any]:
    """The form behind "Deny": the reason, which the requester reads (`what`: a replica, or a batch)."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": str(request_id),
        "title": plain(f"Deny this {what}"),
        "submit": plain("Deny"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": plain("Why not?"),
                "hint": plain(f"The requester sees this in the {what}'s thread."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": REASON_MAX_CHARS,
                },
            },
        ],
    }


REASON_REQUIRED = "Say why, in a few words: the requester reads it."


def denied_post(request: ReplicaRequest) -> Message:
    by = f"<@{request.approval_by}>" if request.approval_by else "An approver"
    text = (
        f"<@{request.requester_id}> {by} did not approve *{escape(request.replica_name)}*. Nothing was sent "
        "to Tavus and the photo was deleted."
    )
    blocks = [section(f":no_entry: {text}")]
    if request.approval_reason:
        blocks.append(section(f"*Their reason*\n> {escape(request.approval_reason)}"))
    return Message(text=f"{text} Reason: {escape(request.approval_reason or '')}", blocks=blocks)

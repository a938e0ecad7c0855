"""The lifecycles as pictures: `make diagram` draws each transition table (a request's, a sample video's,
a test call's, a batch's) into docs/architecture.md, and a test fails when a drawing no longer matches its
table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.transitions import TRANSITIONS, Transition
from storage.models import OutboxKind

# What each outbox kind is, as a reader of the diagram would call it.
_QUEUED_NAMES = {
    OutboxKind.CARD: "card",
    OutboxKind.FAILURE: "failure post",
    OutboxKind.COMPLETION: "completion post",
    OutboxKind.STUCK: "stall notice",
    OutboxKind.REQUESTER_DM: "DM to the requester",
    OutboxKind.PREVIEW_READY: "preview post",
    OutboxKind.TUNED: "tuned post",
    OutboxKind.TUNING_FAILED: "tuning-failed post",
    OutboxKind.CONSENT_ASK: "consent DM to the colleague",
    OutboxKind.APPROVAL_ASK: "approvers' messages",
    OutboxKind.DECLINED: "declined post",
    OutboxKind.DECLINE_NOTE: "note post",
    OutboxKind.DENIED: "denied post",
    OutboxKind.EXPIRED: "expired post",
    OutboxKind.CONSENT_UNREACHABLE: "whom-to-ask post",
    OutboxKind.VIDEO_STARTED: "generating post",
    OutboxKind.VIDEO_READY: "video post",
    OutboxKind.VIDEO_FAILED: "video error post",
    OutboxKind.VIDEO_DELETED: "video deleted post",
    OutboxKind.VIDEO_NOT_MADE: "not-made post",
    OutboxKind.CALL_STARTED: "call started post",
    OutboxKind.CALL_ENDED: "call ended post",
    OutboxKind.CALL_NOT_STARTED: "not-started post",
    OutboxKind.BATCH_CARD: "card",
    OutboxKind.BATCH_APPROVAL_ASK: "approvers' messages",
    OutboxKind.BATCH_SUMMARY: "summary post",
    OutboxKind.BATCH_DM: "DM to the requester",
    OutboxKind.BATCH_DENIED: "not-approved post",
}


def state_diagram(
    transitions: Sequence[Transition[Any]] = TRANSITIONS, *, answered: str = "reply to the requester"
) -> str:
    """A transition table as a Mermaid state diagram: every status, every move, and what each move queues
    (`answered`: how the diagram calls the reply to whoever acted)."""
    lines = ["stateDiagram-v2"]
    for transition in transitions:
        sources = transition.sources
        target = transition.target.value if transition.target is not None else "[*]"
        told = [_QUEUED_NAMES[kind] for kind in transition.queues]
        told += [f"{_QUEUED_NAMES[kind]} edited" for kind in transition.rearms]
        if transition.card:
            told.append("card")
        if transition.answered:
            told.append(answered)
        label = f"{transition.name} ({transition.trigger})"
        if told:
            label += " ⇒ " + ", ".join(told)
        for source in sources:
            start = source.value if source is not None else "[*]"
            lines.append(f"    {start} --> {target}: {label}")
    ends = {str(t.target) for t in transitions if t.target is not None} - {
        str(s) for t in transitions for s in t.sources if s is not None
    }
    lines.extend(f"    {status} --> [*]" for status in sorted(ends))
    return "\n".join(lines)

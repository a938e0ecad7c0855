"""What `/replica forget` says: who is being forgotten, what was removed, and what was left and why."""

from __future__ import annotations

from bot.domain.erasure import Forgotten, Left, Why

NOT_AN_ADMIN = "Only an admin of replica-bot can make it forget someone."
NO_PERSON = (
    "Whom should I forget? Mention them: `/replica forget @person` (add `--include-active` to stop and "
    "delete their replicas still training too)."
)


def forgetting(user_id: str) -> str:
    return f"Forgetting <@{user_id}>: removing their photos and personal details from replica-bot…"


def forgotten_message(report: Forgotten) -> str:
    """What was removed, and each request left as it was with what to do about it."""
    who = f"<@{report.person}>"
    if not (report.requests or report.mentions or report.faces_deleted or report.left):
        return f"replica-bot holds nothing about {who}."
    requests, photos = _n(report.requests, "request"), _n(report.photos, "stored photo")
    lines = [
        f":white_check_mark: Removed {who}'s photos and personal details from {requests} ({photos}), and "
        f"their name from {_n(report.mentions, 'other request')}. Anonymous counts stay."
    ]
    if report.faces_deleted:
        lines.append(f"Deleted in Tavus: {', '.join(f'`{face}`' for face in report.faces_deleted)}.")
    lines += [f"• {_left_line(left)}" for left in report.left]
    return "\n".join(lines)


def _left_line(left: Left) -> str:
    replica = f"`{left.replica_id}`" if left.replica_id else f"request {left.request_id}"
    if left.why == Why.ACTIVE:
        return (
            f"{replica} is still in progress, so it was left as it is. Add `--include-active` to stop it, "
            "delete it in Tavus and forget it."
        )
    if left.why == Why.SUBMITTING:
        return f"{replica} is being submitted right now: try again in a few minutes."
    if left.why == Why.HELD:
        minutes = max(1, round(left.wait.total_seconds() / 60)) if left.wait else 1
        return (
            f"{replica} failed recently; deleting it now could keep its credit refund from registering. "
            f"Try again in {minutes} min."
        )
    return f"{replica} could not be deleted in Tavus, so nothing of it was removed: try again later."


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"

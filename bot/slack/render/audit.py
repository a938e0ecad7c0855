"""The record of who asked for whose face, for admins: `/replica audit [@user]` in Slack, and the CSV that
`replica-bot audit` writes for compliance."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.audit import AuditEntry
from bot.domain.batch.csv_rows import safe_cell
from bot.slack.render.blocks import escape, shorten
from bot.slack.render.likeness import face_description, when

CSV_COLUMNS = (
    "request_id", "created_at", "status", "replica_name", "replica_id", "requester", "likeness", "depicted",
    "consent", "consent_at", "approval", "approved_or_denied_by", "approval_at", "approval_reason",
    "decisions",
)


def audit_message(entries: Sequence[AuditEntry], about: str | None) -> str:
    whose = f" by or of <@{about}>" if about else ""
    if not entries:
        return f"No replica requests{whose} yet."
    lines = [f"*The latest replica requests{whose}* (newest first):"]
    for entry in entries:
        r = entry.request
        parts = [
            f"#{r.id} *{escape(shorten(r.replica_name, 40))}*",
            f"asked by <@{r.requester_id}> {when(r.created_at.timestamp())}",
            f"face: {face_description(r)}",
        ]
        if r.consent_status:
            at = f" {when(r.consent_at.timestamp())}" if r.consent_at else ""
            parts.append(f"consent: {r.consent_status}{at}")
        if r.approval_status:
            by = f" by <@{r.approval_by}>" if r.approval_by else ""
            parts.append(f"approval: {r.approval_status}{by}")
        parts.append(f"now: {r.status.replace('_', ' ')}")
        lines.append("• " + " · ".join(parts))
    return "\n".join(lines)


def csv_row(entry: AuditEntry) -> list[str]:
    """One request as a CSV row, every cell safe to open in a spreadsheet."""
    r = entry.request
    made = "; ".join(
        f"{d.at.isoformat()} {d.topic} {d.outcome}" + (f" by {d.by_user}" if d.by_user else "")
        for d in entry.decisions
    )
    cells = [
        str(r.id), r.created_at.isoformat(), r.status, r.replica_name, r.replica_id or "", r.requester_id,
        r.likeness or "", r.depicted_id or "", r.consent_status or "",
        r.consent_at.isoformat() if r.consent_at else "", r.approval_status or "", r.approval_by or "",
        r.approval_at.isoformat() if r.approval_at else "", r.approval_reason or "", made,
    ]
    return [safe_cell(c) for c in cells]

"""A batch's rows as they are written down (from a CSV, or a handful of photos), and the request a ready
row becomes once the batch is submitted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.batch.checking import attention, whose
from bot.domain.batch.csv_rows import CsvRow
from bot.domain.batch.problems import RowCode, RowProblem
from bot.domain.drafts import request_fields
from bot.domain.gates import Answer
from bot.domain.requests import MAX_NAME_LENGTH, ReplicaDraft, Requester
from storage.batch_models import Batch, BatchRow
from storage.models import Likeness, utcnow

# The most photos the batch form takes at once (Slack's file input allows ten).
MAX_PHOTOS = 10


@dataclass(frozen=True)
class SharedPhoto:
    """A photo uploaded in the batch form: its Slack file id and name, and the name given to the row."""

    file_id: str
    file_name: str
    name: str | None = None


def csv_row_values(rows: Sequence[CsvRow], requester_id: str) -> list[dict[str, Any]]:
    """The rows of a CSV as written down: a row the file already shows to be unusable needs attention at
    once; the others wait to be checked."""
    values = []
    for row in rows:
        named = whose(row.for_cell, requester_id)
        problem = row.problem or (named if isinstance(named, RowProblem) else None)
        likeness, depicted = named if not isinstance(named, RowProblem) else (None, None)
        values.append({
            "row_number": row.number,
            "name": row.name,
            "photo_url": row.photo,
            "voice_name": row.voice,
            "model_name": row.model,
            "for_cell": row.for_cell,
            "likeness": likeness,
            "depicted_id": depicted,
            **_noted(problem),
        })
    return values


def photo_row_values(photos: Sequence[SharedPhoto]) -> list[dict[str, Any]]:
    """One row per photo, named after its file unless a name was given; a name given twice needs
    attention, as in a CSV."""
    values = []
    first: dict[str, int] = {}
    for number, photo in enumerate(photos, start=1):
        name = (photo.name or _file_stem(photo.file_name)).strip()[:MAX_NAME_LENGTH] or f"Photo {number}"
        problem = None
        if name.casefold() in first:
            problem = RowProblem("name", RowCode.DUPLICATE, {"row": first[name.casefold()]})
        first.setdefault(name.casefold(), number)
        values.append({
            "row_number": number,
            "name": name,
            "slack_file_id": photo.file_id,
            "likeness": Likeness.SELF.value,
            **_noted(problem),
        })
    return values


def _noted(problem: RowProblem | None) -> dict[str, Any]:
    return {**attention(problem), "checked_at": utcnow()} if problem is not None else {}


def _file_stem(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return stem.replace("_", " ")


def request_fields_of(batch: Batch, row: BatchRow) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The columns of the request a ready row becomes, checked already (Submit affirmed the rights and
    accepted the offline check's doubts), in the batch's thread; and the record of the batch's approval,
    if an approver gave it."""
    assert batch.id is not None
    draft = ReplicaDraft(
        requester=Requester(batch.requester_id, batch.channel_id, batch.team_id),
        replica_name=row.name,
        voice_name=row.voice_name,
        image_url=row.photo_url,
        thread_ts=batch.thread_ts or batch.card_ts,
        slack_file_id=row.slack_file_id,
        rights_affirmed=True,
        model_name=row.model_name,
        likeness=Likeness(row.likeness) if row.likeness else Likeness.SELF,
        depicted_id=row.depicted_id,
    )
    now = utcnow()
    fields = request_fields(draft, row.train_image_url or row.photo_url)
    fields |= {
        "batch_id": batch.id,
        "preflight_findings": row.preflight_findings,
        "tavus_verdict": row.tavus_verdict,
        "tavus_checked_at": row.tavus_checked_at,
        "photo_key": row.photo_key,
        "checked_at": now,
        "findings_accepted_at": now,
        "rights_affirmed_by": batch.submitted_by or batch.requester_id,
    }
    if batch.approval_status != Answer.APPROVED:
        return fields, None
    fields |= {
        "approval_status": Answer.APPROVED.value,
        "approval_by": batch.approval_by,
        "approval_at": batch.approval_at,
    }
    decision = {"topic": "approval", "outcome": Answer.APPROVED.value, "by_user": batch.approval_by,
                "note": f"batch {batch.public_id}"}
    return fields, decision
